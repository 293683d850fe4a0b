"""Checks of the brute-force oracle (tests/bruteforce.py) itself.

1. The Timeloop reference cases tl00..tl04 (timeloop-accelergy-exercises refs,
   /work/shared/reference/timeloop-cases) reproduce exactly under both stride
   rules.  Expected numbers are embedded (transcribed from each case's
   reference_summary.json: reads, fills, updates, utilized capacity, partition
   size, all per instance); if the reference folder is present, the
   transcription itself is checked against the json.
2. The old/new stride rule difference of NVlabs/timeloop#295.
3. Conservation laws on random cases from tests/strategies.py.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import examples

try:  # run as `python -m pytest` from the repo root (tests/ is a namespace package)
    from tests.bruteforce import simulate
    from tests.strategies import case as random_case
except ImportError:  # pragma: no cover - pytest's rootdir/tests sys.path insertion
    from bruteforce import simulate
    from strategies import case as random_case

REFERENCE_DIR = Path(os.environ.get("EINLOOP_TIMELOOP_CASES",
                                    "/work/shared/reference/timeloop-cases"))
FIELDS = ("reads", "fills", "updates", "utilized_capacity", "partition")
JSON_FIELDS = ("Scalar reads (per-instance)", "Scalar fills (per-instance)",
               "Scalar updates (per-instance)", "Utilized capacity", "Partition size")

# ----------------------------------------------------------------------------------------
# Problems (parsed-processed-input.yaml `problem:`)
# ----------------------------------------------------------------------------------------

CONV1D = (
    {"R": 3, "P": 16},
    [
        {"name": "Weights", "dims": [[("R", 1)]], "output": False},
        {"name": "Inputs", "dims": [[("R", 1), ("P", 1)]], "output": False},
        {"name": "Outputs", "dims": [[("P", 1)]], "output": True},
    ],
)
CONV1D_OC = (
    {"K": 32, "R": 3, "P": 16},
    [
        {"name": "Weights", "dims": [[("K", 1)], [("R", 1)]], "output": False},
        {"name": "Inputs", "dims": [[("R", 1), ("P", 1)]], "output": False},
        {"name": "Outputs", "dims": [[("K", 1)], [("P", 1)]], "output": True},
    ],
)
CONV1D_OC_IC = (
    {"C": 32, "K": 32, "R": 3, "P": 16},
    [
        {"name": "Weights", "dims": [[("C", 1)], [("K", 1)], [("R", 1)]], "output": False},
        {"name": "Inputs", "dims": [[("C", 1)], [("R", 1), ("P", 1)]], "output": False},
        {"name": "Outputs", "dims": [[("K", 1)], [("P", 1)]], "output": True},
    ],
)
ALL = {"Weights", "Inputs", "Outputs"}


def _factors(text):
    out = {}
    for item in text.replace(" ", "").split(","):
        rank, value = item.split("=")
        out[rank] = int(value)
    return out


def storage(name, factors, permutation, keep=ALL):
    """Timeloop temporal directive -> storage node.

    `permutation` is Timeloop's INNER-to-OUTER string; unit factors are dropped.
    """
    f = _factors(factors)
    assert set(permutation) == set(f), (permutation, factors)
    loops = [(r, f[r]) for r in reversed(permutation) if f[r] > 1]
    return {"kind": "storage", "name": name, "loops": loops, "keep": set(keep)}


def fanout(name, factors, permutation, axis="X"):
    """Timeloop spatial directive (no split given, mesh is 16x1 -> all X) -> fanout node."""
    f = _factors(factors)
    loops = [(r, f[r], axis) for r in reversed(permutation) if f[r] > 1]
    return {"kind": "fanout", "name": name, "loops": loops}


MACC = {"kind": "compute", "name": "MACC"}

# case name -> (problem, nodes); directives copied from ref-output/parsed-processed-input.yaml
CASES = {
    "tl00_conv1d_1level": (CONV1D, [
        storage("Buffer", "R=3,P=16", "RP"),
        MACC,
    ]),
    "tl01_conv1d_2level_os": (CONV1D, [
        storage("MainMemory", "R=1,P=16", "PR"),
        storage("Buffer", "R=3,P=1", "RP"),
        MACC,
    ]),
    "tl01_conv1d_2level_ws": (CONV1D, [
        storage("MainMemory", "R=3,P=1", "RP"),
        storage("Buffer", "R=1,P=16", "PR"),
        MACC,
    ]),
    "tl02_conv1d_oc_2level_tiled": (CONV1D_OC, [
        storage("MainMemory", "R=1,P=16,K=16", "PRK"),
        storage("Buffer", "R=3,P=1,K=2", "RPK"),
        MACC,
    ]),
    "tl02_conv1d_oc_2level_untiled": (CONV1D_OC, [
        storage("MainMemory", "R=1,P=16,K=32", "PRK"),
        storage("Buffer", "R=3,P=1,K=1", "RPK"),
        MACC,
    ]),
    "tl03_conv1d_oc_3level_bypass": (CONV1D_OC, [
        storage("MainMemory", "R=1,P=1,K=1", "PRK"),
        storage("GlobalBuffer", "R=1,P=16,K=16", "PRK", keep={"Weights", "Inputs"}),
        storage("RegisterFile", "R=3,P=1,K=2", "RPK", keep={"Outputs"}),
        MACC,
    ]),
    "tl03_conv1d_oc_3level_nobypass": (CONV1D_OC, [
        storage("MainMemory", "R=1,P=1,K=1", "PRK"),
        storage("GlobalBuffer", "R=1,P=16,K=16", "PRK"),
        storage("RegisterFile", "R=3,P=1,K=2", "RPK"),
        MACC,
    ]),
    # dummy level inter_PE_spatial (bypasses everything, unit temporal factors)
    # carries the 16x spatial loop -> fanout node
    "tl04_conv1d_oc_ic_spatial_cp_reduction": (CONV1D_OC_IC, [
        storage("MainMemory", "R=1,P=1,K=1,C=1", "PRKC"),
        fanout("inter_PE_spatial", "R=1,P=1,K=1,C=16", "PRKC"),
        storage("GlobalBuffer", "R=3,P=1,K=32,C=2", "PRKC"),
        storage("RegisterFile", "R=1,P=16,K=1,C=1", "RPKC"),
        MACC,
    ]),
    "tl04_conv1d_oc_ic_spatial_kp_multicast": (CONV1D_OC_IC, [
        storage("MainMemory", "R=1,P=1,K=1,C=1", "PRKC"),
        fanout("inter_PE_spatial", "R=1,P=1,K=16,C=1", "PRKC"),
        storage("GlobalBuffer", "R=3,P=1,K=2,C=32", "PRKC"),
        storage("RegisterFile", "R=1,P=16,K=1,C=1", "RPKC"),
        MACC,
    ]),
}

# (level, tensor) -> (reads, fills, updates, utilized capacity, partition), per instance
EXPECTED = {
    "tl00_conv1d_1level": {
        ("Buffer", "Weights"): (48, 0, 0, 3, 3),
        ("Buffer", "Inputs"): (48, 0, 0, 18, 18),
        ("Buffer", "Outputs"): (32, 0, 48, 16, 16),
    },
    "tl01_conv1d_2level_os": {
        ("Buffer", "Weights"): (48, 3, 0, 3, 3),
        ("Buffer", "Inputs"): (48, 18, 0, 3, 18),
        ("Buffer", "Outputs"): (32, 0, 48, 1, 16),
        ("MainMemory", "Weights"): (3, 0, 0, 3, 3),
        ("MainMemory", "Inputs"): (18, 0, 0, 18, 18),
        ("MainMemory", "Outputs"): (0, 0, 16, 16, 16),
    },
    "tl01_conv1d_2level_ws": {
        ("Buffer", "Weights"): (48, 3, 0, 1, 3),
        ("Buffer", "Inputs"): (48, 18, 0, 16, 18),
        ("Buffer", "Outputs"): (32, 0, 48, 16, 16),
        ("MainMemory", "Weights"): (3, 0, 0, 3, 3),
        ("MainMemory", "Inputs"): (18, 0, 0, 18, 18),
        ("MainMemory", "Outputs"): (0, 0, 16, 16, 16),
    },
    "tl02_conv1d_oc_2level_tiled": {
        ("Buffer", "Weights"): (1536, 96, 0, 6, 96),
        ("Buffer", "Inputs"): (1536, 288, 0, 3, 18),
        ("Buffer", "Outputs"): (1024, 0, 1536, 2, 512),
        ("MainMemory", "Weights"): (96, 0, 0, 96, 96),
        ("MainMemory", "Inputs"): (288, 0, 0, 18, 18),
        ("MainMemory", "Outputs"): (0, 0, 512, 512, 512),
    },
    "tl02_conv1d_oc_2level_untiled": {
        ("Buffer", "Weights"): (1536, 96, 0, 3, 96),
        ("Buffer", "Inputs"): (1536, 576, 0, 3, 18),
        ("Buffer", "Outputs"): (1024, 0, 1536, 1, 512),
        ("MainMemory", "Weights"): (96, 0, 0, 96, 96),
        ("MainMemory", "Inputs"): (576, 0, 0, 18, 18),
        ("MainMemory", "Outputs"): (0, 0, 512, 512, 512),
    },
    "tl03_conv1d_oc_3level_bypass": {
        ("RegisterFile", "Outputs"): (1024, 0, 1536, 2, 512),
        ("GlobalBuffer", "Weights"): (1536, 96, 0, 96, 96),
        ("GlobalBuffer", "Inputs"): (1536, 18, 0, 18, 18),
        ("MainMemory", "Weights"): (96, 0, 0, 96, 96),
        ("MainMemory", "Inputs"): (18, 0, 0, 18, 18),
        ("MainMemory", "Outputs"): (0, 0, 512, 512, 512),
    },
    "tl03_conv1d_oc_3level_nobypass": {
        ("RegisterFile", "Weights"): (1536, 96, 0, 6, 96),
        ("RegisterFile", "Inputs"): (1536, 288, 0, 3, 18),
        ("RegisterFile", "Outputs"): (1024, 0, 1536, 2, 512),
        ("GlobalBuffer", "Weights"): (96, 96, 0, 96, 96),
        ("GlobalBuffer", "Inputs"): (288, 18, 0, 18, 18),
        ("GlobalBuffer", "Outputs"): (0, 0, 512, 512, 512),
        ("MainMemory", "Weights"): (96, 0, 0, 96, 96),
        ("MainMemory", "Inputs"): (18, 0, 0, 18, 18),
        ("MainMemory", "Outputs"): (0, 0, 512, 512, 512),
    },
    "tl04_conv1d_oc_ic_spatial_cp_reduction": {
        ("RegisterFile", "Weights"): (3072, 192, 0, 1, 192),
        ("RegisterFile", "Inputs"): (3072, 1152, 0, 16, 36),
        ("RegisterFile", "Outputs"): (2560, 512, 3072, 16, 512),
        ("GlobalBuffer", "Weights"): (192, 192, 0, 192, 192),
        ("GlobalBuffer", "Inputs"): (1152, 36, 0, 36, 36),
        ("GlobalBuffer", "Outputs"): (512, 0, 1024, 512, 512),
        ("MainMemory", "Weights"): (3072, 0, 0, 3072, 3072),
        ("MainMemory", "Inputs"): (576, 0, 0, 576, 576),
        ("MainMemory", "Outputs"): (0, 0, 512, 512, 512),
    },
    "tl04_conv1d_oc_ic_spatial_kp_multicast": {
        ("RegisterFile", "Weights"): (3072, 192, 0, 1, 192),
        ("RegisterFile", "Inputs"): (3072, 1152, 0, 16, 576),
        ("RegisterFile", "Outputs"): (3040, 992, 3072, 16, 32),
        ("GlobalBuffer", "Weights"): (192, 192, 0, 192, 192),
        ("GlobalBuffer", "Inputs"): (1152, 576, 0, 576, 576),
        ("GlobalBuffer", "Outputs"): (992, 0, 1024, 32, 32),
        ("MainMemory", "Weights"): (3072, 0, 0, 3072, 3072),
        ("MainMemory", "Inputs"): (576, 0, 0, 576, 576),
        ("MainMemory", "Outputs"): (0, 0, 512, 512, 512),
    },
}


@pytest.mark.parametrize("rule", ["2024", "2025"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_case(name, rule):
    (ranks, tensors), nodes = CASES[name]
    got = simulate(ranks, tensors, nodes, rule=rule)
    expected = EXPECTED[name]
    assert set(got) == set(expected), "kept (level, tensor) pairs differ"
    mismatches = {
        key: {f: (got[key][f], want) for f, want in zip(FIELDS, values) if got[key][f] != want}
        for key, values in expected.items()
    }
    mismatches = {k: v for k, v in mismatches.items() if v}
    assert not mismatches, mismatches


@pytest.mark.skipif(not REFERENCE_DIR.is_dir(), reason="reference cases not available")
@pytest.mark.parametrize("name", sorted(CASES))
def test_expected_numbers_match_reference_json(name):
    summary = json.loads((REFERENCE_DIR / name / "reference_summary.json").read_text())
    from_json = {
        (level["name"], tname): tuple(stats[f] for f in JSON_FIELDS)
        for level in summary["levels"]
        for tname, stats in level["tensors"].items()
    }
    assert from_json == EXPECTED[name]


def test_stride_rule_issue_295():
    """Stationary step followed by a moving step (translations 0, +1, 0, +1, ...).

    Buffer holds the R=3 window of Inputs; MainMemory iterates P (outer) and K (inner,
    does not index Inputs).  Old rule: every P step is a stride change -> P*R = 48;
    new rule: zero translations are ignored -> P+R-1 = 18.
    """
    (ranks, tensors) = ({"K": 2, "R": 3, "P": 16}, CONV1D_OC[1])
    nodes = [
        {"kind": "storage", "name": "MainMemory", "loops": [("P", 16), ("K", 2)], "keep": ALL},
        {"kind": "storage", "name": "Buffer", "loops": [("R", 3)], "keep": ALL},
        {"kind": "compute", "name": "MACC"},
    ]
    old = simulate(ranks, tensors, nodes, rule="2024")
    new = simulate(ranks, tensors, nodes, rule="2025")
    assert old[("MainMemory", "Inputs")]["reads"] == 48
    assert old[("Buffer", "Inputs")]["fills"] == 48
    assert new[("MainMemory", "Inputs")]["reads"] == 18
    assert new[("Buffer", "Inputs")]["fills"] == 18
    # stationary Weights (tile K x R = 1 x 3 moves along K) are unaffected by the rule
    assert old[("Buffer", "Weights")] == new[("Buffer", "Weights")]


def test_partial_overlap_is_not_multicast():
    """Spatial P split: neighbouring Input windows overlap but are not equal -> no merging."""
    ranks, tensors = CONV1D
    nodes = [
        {"kind": "storage", "name": "Mem", "loops": [], "keep": ALL},
        {"kind": "fanout", "name": "F", "loops": [("P", 4, "X")]},
        {"kind": "storage", "name": "Buf", "loops": [("P", 4), ("R", 3)], "keep": ALL},
        {"kind": "compute", "name": "MACC"},
    ]
    got = simulate(ranks, tensors, nodes)
    assert got[("Buf", "Inputs")]["fills"] == 4 + 3 - 1
    assert got[("Mem", "Inputs")]["reads"] == 4 * (4 + 3 - 1)  # 24 > 18 distinct words
    assert got[("Mem", "Weights")]["reads"] == 3  # identical weight tiles: multicast
    assert got[("Buf", "Outputs")]["partition"] == 4
    assert got[("Mem", "Outputs")]["updates"] == 16


# ----------------------------------------------------------------------------------------
# Conservation laws on random cases
# ----------------------------------------------------------------------------------------

def _instances(nodes):
    """storage name -> number of instances (product of spatial factors above it)."""
    out, n = {}, 1
    for node in nodes:
        if node["kind"] == "storage":
            out[node["name"]] = n
        elif node["kind"] == "fanout":
            for _, f, _ in node["loops"]:
                n *= f
    return out, n  # n = compute instances


def _used_points(ranks, tensor):
    """Distinct points of `tensor` touched by the computation (no AAHR gap filling)."""
    names = sorted(ranks)
    pts = set()
    from itertools import product
    for vals in product(*(range(ranks[r]) for r in names)):
        v = dict(zip(names, vals))
        pts.add(tuple(sum(c * v[r] for r, c in dim) for dim in tensor["dims"]))
    return pts


def _aahr_size(ranks, tensor):
    size = 1
    for dim in tensor["dims"]:
        size *= sum(c * (ranks[r] - 1) for r, c in dim) + 1
    return size


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case())
def test_conservation_laws_random(c):
    ranks, tensors, nodes = c["ranks"], c["tensors"], c["nodes"]
    instances, n_compute = _instances(nodes)
    macs = math.prod(ranks.values())
    temporal_steps = macs // n_compute  # temporal iterations of the whole nest
    order = [n["name"] for n in nodes if n["kind"] == "storage"]

    results = {rule: simulate(ranks, tensors, nodes, rule=rule) for rule in ("2024", "2025")}
    for rule, res in results.items():
        for t in tensors:
            tn = t["name"]
            keepers = [name for name in order if (name, tn) in res]
            assert keepers and keepers[0] == order[0]
            tensor_size = _aahr_size(ranks, t)
            outer = res[(keepers[0], tn)]
            assert outer["fills"] == 0
            assert outer["partition"] == tensor_size == outer["utilized_capacity"]
            for name in keepers:
                s = res[(name, tn)]
                assert 0 < s["utilized_capacity"] <= s["partition"] <= tensor_size, (rule, name, tn, s)
                assert s["reads"] >= 0 and s["fills"] >= 0 and s["updates"] >= 0
            # parent / child pairs of kept levels
            for parent, child in zip(keepers, keepers[1:]):
                p, ch = res[(parent, tn)], res[(child, tn)]
                per_parent = instances[child] // instances[parent]
                if t["output"]:
                    # what the child sends up = its own deltas = fills + partition
                    sent = ch["fills"] + ch["partition"]
                    assert ch["partition"] <= sent
                    assert p["updates"] <= sent * per_parent + 1e-9
                    assert p["updates"] >= sent - 1e-9
                else:
                    # multicast never increases traffic; a parent reads at least what one child gets
                    assert p["reads"] <= ch["fills"] * per_parent + 1e-9, (rule, parent, child, tn)
                    assert p["reads"] >= ch["fills"] - 1e-9, (rule, parent, child, tn)
                    assert ch["fills"] >= ch["partition"] - 1e-9
            # innermost kept level serves compute
            inner = res[(keepers[-1], tn)]
            per_level = n_compute // instances[keepers[-1]]
            content = inner["updates"] if t["output"] else inner["reads"]
            assert temporal_steps - 1e-9 <= content <= temporal_steps * per_level + 1e-9
            if not t["output"]:
                assert len(keepers) == 1 or inner["fills"] >= inner["partition"] - 1e-9
                # every used word leaves the backing store at least once
                assert outer["reads"] >= len(_used_points(ranks, t)) - 1e-9
            else:
                assert inner["reads"] == inner["updates"] - inner["partition"]
                assert outer["updates"] >= len(_used_points(ranks, t)) - 1e-9
        # the stride rule never changes tile sizes / partitions
        for key, s in res.items():
            other = results["2025"][key]
            assert s["utilized_capacity"] == other["utilized_capacity"]
            assert s["partition"] == other["partition"]
