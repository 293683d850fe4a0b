"""The Sparseloop outputs of timeloop-peer-cases/ (three builds of the Sparseloop tutorial, the
sparse-tensor-core-like example and the Eyeriss-like gating / compression exercises): every
per-level, per-tensor, per-action algorithmic / actual / gated / skipped count exact, cycles exact,
per-tensor energy to the printed 2 decimals, total energy within 0.01 % (the 2024 builds print pJ per
compute to 2 decimals: within that rounding). Builds from 2025 use Timeloop's 2025 stride rule.

KNOWN lists what does not match, each with its reason; the test asserts that exactly that differs.
"""
import re
from pathlib import Path

import pytest

from einloop.model.sparse import evaluate_sparse
from einloop.spec.sparse_timeloop import load_sparse_timeloop
from test_sparse_cases import KINDS, parse_stats

PEER = Path(__file__).resolve().parents[2] / "shared" / "reference" / "timeloop-peer-cases"
FOLDERS = sorted(p.name for p in PEER.iterdir() if "sparse" in p.name) if PEER.is_dir() else []
# folder suffix -> (counts that differ, per-tensor energies that differ): each with its reason
KNOWN = {
    # einloop's dense model under the 2025 stride rule gives BackingStorage Outputs 0 reads / 144
    # updates, this 2025 build 288 / 432 (what einloop's 2024 rule gives): a dense-model question
    "2025-10-16.example.sparseloop.03.2.3-conv1d+oc-spatial": (
        {("BackingStorage", "Outputs", "read"), ("BackingStorage", "Outputs", "update")},
        {("BackingStorage", "Outputs")}),
    # the 2024 builds keep shared_glb Inputs in a three-rank flattened format over a convolution halo:
    # einloop's metadata counts for that tile differ (117.97 vs 98.97 uJ); the 2025 build stores it
    # uncompressed and matches
    "2024-02-05.baseline.sparseloop.04.2.3-eyeriss-like-onchip-compression": (set(), {("shared_glb", "Inputs")}),
    "2024-03-28.example.sparseloop.04.2.3-eyeriss-like-onchip-compression": (set(), {("shared_glb", "Inputs")}),
}


def _known(name: str) -> tuple[set, set]:
    return next((v for k, v in KNOWN.items() if name.endswith(k)), (set(), set()))


def _load(name: str):
    d = PEER / name
    files = [d / "input.yaml"] + [d / f for f in ("map.yaml", "ERT.yaml") if (d / f).exists()]
    return load_sparse_timeloop(files), (d / "stats.txt").read_text()


def _evaluate(name: str, spec):
    """Builds from 2025 on follow Timeloop's 2025 stride rule (the folder name carries the date)."""
    rule = "2025" if "__2025" in name else "2024"
    return evaluate_sparse(spec.dense.einsum, spec.dense.arch, spec.dense.mapping, spec.sparse, reuse_rule=rule)


def _total(text: str) -> tuple[float, float]:
    """Total energy (pJ) from the summary and its rounding tolerance."""
    m = re.search(r"(Algorithmic )?Computes = (\d+)\s*(fJ|pJ)/(Algorithmic-)?Compute.*?Total\s*=\s*([\d.]+)",
                  text, re.S)
    computes, unit, value = int(m.group(2)), m.group(3), float(m.group(5))
    scale = 1e-3 if unit == "fJ" else 1.0
    return computes * value * scale, computes * 0.005 * scale


@pytest.mark.parametrize("name", FOLDERS)
def test_peer_sparse_case(name):
    spec, text = _load(name)
    result = _evaluate(name, spec)
    counts, energies, checked = set(), set(), 0
    for level, tensors in parse_stats(text).items():
        for tensor, ref in tensors.items():
            for action in ("read", "fill", "update"):
                mine = result.action(level, tensor, action)
                for word, attr in KINDS.items():
                    dense = ref.get(f"Scalar {action}s (per-instance)") if word in ("Algorithmic", "Actual") else 0
                    if getattr(mine, attr) != ref.get(f"{word} scalar {action}s (per-instance)", dense):
                        counts.add((level, tensor, action))
                    checked += 1
            energy = sum(a.energy for a in result.actions if (a.level, a.tensor) == (level, tensor))
            if energy != pytest.approx(ref["Energy (total)"], abs=0.006, rel=1e-4):
                energies.add((level, tensor))
    assert checked >= 12
    assert (counts, energies) == _known(name)
    assert result.cycles == int(re.search(r"Cycles: (\d+)", text).group(1))
    if not energies:
        total, tol = _total(text)
        assert result.energy == pytest.approx(total, abs=max(tol, 1e-4 * total))


def test_flattened_ranks_split_at_the_level_boundary():
    """2025 Eyeriss-like gating: DRAM holds Inputs in UOP-RLE, both flattened over every rank. DRAM's
    own loops over Inputs (C64) form the UOP rank: 64 + 1 = 65 offsets; the child tile (everything
    below, flattened) the RLE rank: 230400 x 0.275 = 63360.00000000001 -> 63361 run lengths. Six passes
    read 6 x 65 = 390 offsets and ceil(6 x 63360.00000000001) = 380161 run lengths."""
    name = next((f for f in FOLDERS if "2025" in f and "04.2.1-eyeriss-like-gating" in f), None)
    if name is None:
        pytest.skip("peer case not available")
    spec, text = _load(name)
    result = _evaluate(name, spec)
    assert result.tensor("DRAM", "Inputs").metadata_occupancy == 65 + 63361
    assert result.action("DRAM", "Inputs", "read").metadata_random == 390 + 380161
    ref = parse_stats(text)["DRAM"]["Inputs"]
    assert ref["Actual scalar format reads (per-instance)"] == [(0, 390), (380161, 0)]
