"""Every dense public Timeloop output (timeloop-cases/ and timeloop-peer-cases/) through einloop: per level
and data space reads, fills, updates, temporal reductions, utilized capacity, utilized instances and
partition exact, cycles exact, energy within 0.01 % (or the printout's rounding where the XML is
truncated). The stride rule follows the output's date (Timeloop builds before 2025: the 2024 rule)."""
import pytest

from conftest import reference_case
from timeloop_reference import dense_folders, input_files, load_reference
from einloop.api import load_timeloop, timeloop_files
from einloop.model.evaluate import evaluate

FIELDS = {"Scalar reads (per-instance)": "reads", "Scalar fills (per-instance)": "fills",
          "Scalar updates (per-instance)": "updates", "Utilized capacity": "utilized_capacity",
          "Partition size": "partition", "Temporal reductions (per-instance)": "temporal_reductions",
          "Utilized instances (max)": "instances"}

# Outputs whose energy cannot be compared, and why (their counts and cycles still must be exact).
NO_ENERGY = {
    "Accelergy-Project.timeloop-python__2024-05-23.tests.test_configs":
        "no ERT: Timeloop used its built-in PAT energies (e.g. SRAM 1.08 pJ per vector access); einloop "
        "estimates from its own component library and says so in Result.notes",
}

FOLDERS = dense_folders()


def _name(folder) -> str:
    return folder.parent.name if folder.name == "ref-output" else folder.name


def test_every_dense_folder_is_found():
    """52 dense peer outputs (README table) and 13 dense timeloop-cases with a mapping of record."""
    if not FOLDERS:
        pytest.skip("reference folders not available")
    assert len(FOLDERS) == 65


@pytest.mark.parametrize("folder", FOLDERS, ids=[_name(f) for f in FOLDERS])
def test_reference_output(folder):
    ref = load_reference(folder)
    spec = load_timeloop(input_files(folder))
    result = evaluate(spec.einsum, spec.arch, spec.mapping, reuse_rule=ref.stride_rule)
    assert result.valid, result.reasons
    compare_energy = _name(folder) not in NO_ENERGY
    checked = 0
    for level in ref.levels.values():
        if level.is_compute:
            assert result.computes == level.stats["Computes (total)"]
            continue
        for tensor, stats in level.tensors.items():
            mine = result.tensor(level.name, tensor)
            for key, attr in FIELDS.items():
                assert getattr(mine, attr) == pytest.approx(stats[key], abs=1e-9), (level.name, tensor, key)
                checked += 1
            if compare_energy:
                expected = ref.tensor_energy(level.name, tensor)
                assert mine.energy == pytest.approx(expected, rel=1e-4, abs=0.011), (level.name, tensor)
    assert checked >= 3 * len(FIELDS)
    if any("ART" in f.name for f in input_files(folder)):   # areas: only where the ART is given
        for level in ref.levels.values():
            area = level.specs["Area"] * level.specs["Instances"] if "Area" in level.specs else \
                level.stats.get("Area (total)")
            assert result.level(level.name).area == pytest.approx(area, rel=1e-3), level.name
    assert result.cycles == ref.summary["Cycles"]
    assert 100 * result.utilization == pytest.approx(ref.summary["Utilization"], abs=0.006)
    if compare_energy:
        total, rounding = ref.total_energy()
        printed, printed_rounding = ref.printed_total()   # the parts add up to the printed total
        assert total == pytest.approx(printed, abs=printed_rounding + rounding)
        assert result.energy == pytest.approx(total, rel=1e-4, abs=rounding)


def test_design_simple_needs_the_2024_stride_rule():
    """DRAM's innermost loop (M) does not move Inputs: a zero translation. The 2024 rule records it, so
    the following Q step counts as a stride change and refetches the whole shared_glb Input tile; the
    2025 rule skips zero steps and keeps the overlapping halo. The reference predates the fix."""
    spec = load_timeloop(timeloop_files(reference_case("design_simple_output_stationary") / "ref-output"))
    old = evaluate(spec.einsum, spec.arch, spec.mapping, reuse_rule="2024")
    new = evaluate(spec.einsum, spec.arch, spec.mapping, reuse_rule="2025")
    assert old.tensor("DRAM", "Inputs").reads == 157296
    assert new.tensor("DRAM", "Inputs").reads < 157296
