"""The Lab-4 style study (einloop.report.sparse_study) on the Sparseloop tutorial's spMspM
(sparse_04: M=K=N=8, A 0.25, B 0.5)."""
import pytest

from conftest import reference_case
from einloop.api import timeloop_files
from einloop.model.evaluate import evaluate
from einloop.report.sparse_study import dense_gating_skipping, density_sweep, occupancy_vs_density
from einloop.spec.sparse_load import load_sparse


@pytest.fixture(scope="module")
def spmspm():
    return load_sparse(timeloop_files(reference_case("sparse_04_spMspM") / "ref-output"))


def test_dense_gating_skipping(spmspm):
    table = dense_gating_skipping(spmspm, "Buffer")
    dense = evaluate(spmspm.einsum, spmspm.arch, spmspm.mapping)
    assert table.loc["dense", "energy_pJ"] == pytest.approx(dense.energy, rel=1e-12)
    assert table.loc["dense", "cycles"] == dense.cycles == 512
    # the spec itself is the reference: 898.79 fJ per algorithmic compute, 64 cycles
    assert table.loc["skipping + formats", "fJ_per_algorithmic_compute"] == pytest.approx(898.79, abs=0.005)
    assert table.loc["skipping + formats", "cycles"] == 64
    e = table["energy_pJ"]
    assert e["dense"] > e["gating"] > e["skipping + formats"]
    # gating keeps the slots: gated reads take Buffer bandwidth (960 reads / 5 per cycle = 192 cycles)
    assert table.loc["gating", "cycles"] == 192


def test_density_sweep_scales_with_both_densities(spmspm):
    sweep = density_sweep(spmspm, "A", "B")
    cycles = sweep["cycles"]
    # skipping: one cycle per effectual compute, 512 x dA x dB
    for a in (0.25, 0.5, 0.75):
        for b in (0.25, 0.5, 0.75):
            assert cycles.loc[a, b] == 512 * a * b
    assert sweep["fJ_per_algorithmic_compute"].loc[0.25, 0.5] == pytest.approx(898.79, abs=0.005)


def test_occupancy_and_break_even():
    """An 8x8 tile in UOP-CP, 4-bit metadata, 8-bit words: at density 0.2, 13 nonzeros; metadata 9 UOP
    offsets + 13 coordinates = 22 x 4 bits = 11 words, 24 in all; the format stops saving space at
    density 40/64 = 0.625 (40 + 25 = 65 > 64 words)."""
    table = occupancy_vs_density((8, 8), ("UOP", "CP"), 4, 8)
    assert list(table["data_words"]) == [13, 26, 39, 52, 64]
    assert list(table["total_words"]) == [24, 44, 63, 83, 101]
    fine = occupancy_vs_density((8, 8), ("UOP", "CP"), 4, 8, densities=[n / 64 for n in range(64)])
    assert fine.index[fine["break_even"]].min() == 40 / 64
