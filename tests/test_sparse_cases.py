"""Sparseloop's tutorial cases (timeloop-cases/sparse_0*): per level and tensor the algorithmic, actual,
gated and skipped reads/fills/updates and the metadata (format) counts exact, data and metadata
occupancy exact, per-tensor energy to the printed 2 decimals, computes and cycles exact, total energy
within 0.01 %."""
import json
import re

import pytest

from conftest import reference_case
from einloop.api import timeloop_files
from einloop.model.sparse import evaluate_sparse
from einloop.spec.sparse_timeloop import load_sparse_timeloop

CASES = ["sparse_01_DUDU_dot_product", "sparse_02_SUDU_dot_product_gating", "sparse_03_SCDU_dot_product_skipping",
         "sparse_04_spMspM", "sparse_05_spMspM_tiled",
         "sparse_06_conv1d", "sparse_07_conv1d_oc", "sparse_08_conv1d_oc_spatial"]
KINDS = {"Algorithmic": "algorithmic", "Actual": "random", "Gated": "gated", "Skipped": "skipped"}
_RANK = re.compile(r"Rank (\d+) \(metadata, payload\): \(\s*([\d.]+),\s*([\d.]+)\)")


def parse_stats(text: str) -> dict:
    """{level: {tensor: {key: value}}} from a Sparseloop stats.txt; a multi-rank value (``Rank k
    (metadata, payload): (m, p)`` lines) becomes the list of (m, p), outer rank first."""
    out, level, tensor, key = {}, None, None, None
    for line in text.splitlines():
        m = re.match(r"^=== (\S+) ===$", line.strip())
        if m:
            level, tensor = m.group(1), None
            out.setdefault(level, {})
            continue
        if level is None:
            continue
        if re.match(r"^    [A-Za-z_]\w*:$", line):
            tensor = line.strip()[:-1]
            out[level][tensor] = {}
            continue
        if tensor is None or not line.startswith("        "):
            continue
        rank = _RANK.search(line)
        if rank and key is not None:
            value = out[level][tensor][key]
            out[level][tensor][key] = (value if isinstance(value, list) else []) + \
                [(float(rank.group(2)), float(rank.group(3)))]
            continue
        k, _, v = line.strip().partition(":")
        key = k.strip()
        v = v.strip().split(" ")[0] if v.strip() else ""
        try:
            out[level][tensor][key] = float(v)
        except ValueError:
            out[level][tensor][key] = v
    return out


def _format_total(value) -> float:
    return sum(m + p for m, p in value) if isinstance(value, list) else float(value or 0)


def _evaluate(case):
    path = reference_case(case)
    spec = load_sparse_timeloop(timeloop_files(path / "ref-output"))
    # the references were produced in 2024-05, before Timeloop's 2025 stride fix
    result = evaluate_sparse(spec.dense.einsum, spec.dense.arch, spec.dense.mapping, spec.sparse, reuse_rule="2024")
    stats = parse_stats((path / "ref-output" / "timeloop-mapper.stats.txt").read_text())
    return result, stats, json.loads((path / "reference_summary.json").read_text())


@pytest.mark.parametrize("case", CASES)
def test_sparse_case_counts(case):
    result, stats, _ = _evaluate(case)
    checked = 0
    for level, tensors in stats.items():
        for tensor, ref in tensors.items():
            for action in ("read", "fill", "update"):
                mine = result.action(level, tensor, action)
                for word, attr in KINDS.items():
                    key = f"{word} scalar {action}s (per-instance)"
                    dense = ref.get(f"Scalar {action}s (per-instance)") if word in ("Algorithmic", "Actual") else 0
                    assert getattr(mine, attr) == ref.get(key, dense), (level, tensor, key)
                    checked += 1
                for word, attr in (("Actual", "metadata_random"), ("Gated", "metadata_gated"),
                                   ("Skipped", "metadata_skipped")):
                    key = f"{word} scalar format {action}s (per-instance)"
                    if key in ref:
                        assert getattr(mine, attr) == pytest.approx(_format_total(ref[key])), (level, tensor, key)
                        checked += 1
            tile = result.tensor(level, tensor)
            assert tile.data_occupancy == ref.get("Max utilized data storage capacity", ref.get("Utilized capacity"))
            assert tile.metadata_occupancy == _format_total(ref.get("Max utilized Repr format storage capacity"))
            assert sum(a.energy for a in result.actions if (a.level, a.tensor) == (level, tensor)) == \
                pytest.approx(ref["Energy (total)"], abs=0.006), (level, tensor)
    assert checked >= 12 * sum(len(t) for t in stats.values()) > 0


@pytest.mark.parametrize("case", CASES)
def test_sparse_case_totals(case):
    result, _, ref = _evaluate(case)
    summary = ref["summary"]
    algorithmic = summary.get("Algorithmic Computes", summary.get("Computes"))
    actual = summary.get("Actual Computes", summary.get("Computes"))
    per = ref["fJ_per_algorithmic_compute"] or ref["fJ_per_compute"]
    assert result.computes.algorithmic == algorithmic
    assert result.computes.random == actual
    assert result.cycles == summary["Cycles"]
    assert 100 * result.utilization == pytest.approx(summary["Utilization"], abs=0.01)
    # fJ per compute is printed to 2 decimals: the total is known to 0.005 fJ x computes
    assert result.energy == pytest.approx(per["Total"] * algorithmic / 1000, rel=1e-4)
    for level, fj in per.items():
        if level != "Total":
            assert result.level_energy[level] == pytest.approx(fj * algorithmic / 1000, abs=0.006 * algorithmic / 1000
                                                               + 1e-9)


def test_gated_accesses_take_bandwidth_but_no_energy():
    """sparse_02: B and Z reads gated on A (density 0.25): 16 + 16 + 15 = 47 read slots over 4 compute
    cycles against read bandwidth 3 gives 15.7 cycles, 16 writes against write bandwidth 1 gives 16;
    the gated reads cost nothing (the ERT has no gated_read)."""
    result, _, _ = _evaluate("sparse_02_SUDU_dot_product_gating")
    assert result.compute_cycles == 4 and result.cycles == 16
    b = result.action("Buffer", "B", "read")
    assert (b.random, b.gated, b.skipped) == (4, 12, 0)
    assert b.energy == pytest.approx(4 * 1.95808, rel=1e-4)


def test_skipping_saves_cycles_and_metadata_is_counted_apart():
    """sparse_03: A in CP holds 4 nonzeros and 4 coordinates (4 bits each); B and Z skipped on A: 4 reads
    of each, 4 cycles. A's energy = 4 data reads x 0.582895 + 4 metadata reads x 0.191076 pJ."""
    result, _, _ = _evaluate("sparse_03_SCDU_dot_product_skipping")
    a = result.action("Buffer", "A", "read")
    assert (a.algorithmic, a.random, a.absent, a.metadata_random) == (16, 4, 12, 4)
    assert a.energy == pytest.approx(4 * 0.582895 + 4 * 0.191076, rel=1e-6)
    assert result.cycles == 4 and result.tensor("Buffer", "A").metadata_bits == 16
