"""A network on a CiM architecture: macro Einsums mapped and priced, element-wise ones skipped."""
from pathlib import Path

import pytest

from einloop.model.cim import evaluate_cim
from einloop.model.cim_network import constraints_for, map_network, on_macro
from einloop.spec import native
from einloop.spec.cim import load_cim

TILED = Path(__file__).resolve().parents[1] / "examples" / "cim" / "sinangil_tiled.yaml"


def small_net():
    return native.read_workload({"name": "net", "bits": 4, "einsums": [
        {"name": "conv_a", "einsum": "Y[m,p,q] += X[c,p+r,q+s] * W[m,c,r,s]",
         "ranks": {"m": 16, "c": 16, "p": 4, "q": 4, "r": 3, "s": 3}},
        {"name": "relu", "einsum": "Z[m,p,q] = Y[m,p,q]", "ranks": {"m": 16, "p": 4, "q": 4}},
        {"name": "conv_b", "einsum": "V[m,p,q] += Z[c,p+r,q+s] * U[m,c,r,s]",
         "ranks": {"m": 16, "c": 16, "p": 4, "q": 4, "r": 3, "s": 3}},
        {"name": "fc", "einsum": "O[m] += V2[c] * F[m,c]", "ranks": {"m": 16, "c": 64}}]})


def test_small_network():
    spec = load_cim(TILED)
    run = map_network(small_net(), spec, time_limit=20, workers=1)
    assert [r.name for r in run.rows] == ["conv_a", "conv_b", "fc"] and run.skipped == ["relu"]
    a, b, fc = (r.result for r in run.rows)
    assert a is b                                   # the same shape is mapped once
    for r in (a, fc):
        assert r.energy == pytest.approx(sum(r.energy_by_part.values()))
        # every MAC is 4 cell ops (4-bit weights in 1-bit cells, 4-bit DACs); every output value leaves
        # the array through an ADC at least once
        assert r.counts.cell_ops == 4 * r.computes
        assert r.counts.adc_conversions >= 16 * (16 if r is a else 1)
    assert fc.computes == 16 * 64 and a.computes == 16 * 16 * 16 * 9
    assert run.energy == pytest.approx(2 * a.energy + fc.energy)
    assert "fc" in run.table() and "total" in run.table()


def test_constraints_follow_each_einsum():
    spec = load_cim(TILED)
    fc = small_net().einsum("fc")
    c = constraints_for(spec.constraints, fc).at("Macro")
    assert c.spatial_x == frozenset({"c"}) and c.spatial_y == frozenset({"m"})
    assert on_macro(fc) and not on_macro(small_net().einsum("relu"))


def test_cim_spec_without_mapping_cannot_be_evaluated():
    from einloop.errors import SpecError
    with pytest.raises(SpecError, match="workload and a mapping"):
        evaluate_cim(load_cim(TILED))
