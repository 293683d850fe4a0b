"""Imperfect factorization (mapper/imperfect.py): padded bounds, optimality against brute force over
every padded Einsum, the padded mapping's own evaluation, and the constraint's errors."""
import json
from dataclasses import replace

import pytest

from conftest import ROOT
from einloop.cli import main
from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints, read_constraints
from einloop.mapper.imperfect import combinations, padded_bounds
from einloop.mapper.search import map_einsum
from einloop.model.evaluate import evaluate
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Fanout, Storage
from einloop.spec.workload import Einsum
from test_mapper_optimal import brute_force

EX = ROOT / "examples"


def test_padded_bounds_are_whole_tiles_times_their_count():
    # ceil(b / t) * t over every tile t, at most the fraction more (by hand: 56 -> 57 (t=3), 58 (t=29),
    # 60 (t=5, 6, 10, 12, 15, 20, 30); 63 (t=9) is over 61.6). 11 is no ceil(10 / t) * t.
    assert padded_bounds(56, 0.1) == [56, 57, 58, 60]
    assert padded_bounds(10, 0.2) == [10, 12]
    assert padded_bounds(7, 0.3) == [7, 8, 9]
    assert padded_bounds(56, 0.0) == [56]


def test_combinations_least_padding_first():
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dict(m=10, n=7, k=4))
    combos = combinations(e, {"m": 0.2, "n": 0.3})
    assert combos[0] == dict(m=10, n=7, k=4)
    assert len(combos) == 2 * 3
    macs = [c["m"] * c["n"] * c["k"] for c in combos]
    assert macs == sorted(macs)
    with pytest.raises(SpecError) as err:
        combinations(Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dict(m=100, n=100, k=100)), {"*": 0.15})
    assert err.value.field == "constraints.imperfect" and "at most 64" in str(err.value)


def pe_arch():
    """A 2-PE array under a buffer: a prime bound of 5 cannot use both PEs, a padded 6 can."""
    return Architecture("two-pe", (
        Storage("DRAM", None, 8, 2, energy=ActionEnergy(60, 60, 60)),
        Storage("Buffer", 32, 8, 2, energy=ActionEnergy(1.5, 1.5, 1.5)),
        Fanout("PEs", 2, 1),
        Storage("Reg", 4, 8, 1, energy=ActionEnergy(0.2, 0.2, 0.2)),
        Compute("MAC", 0.5)))


@pytest.mark.parametrize("objective", ["energy", "cycles", "edp"])
def test_imperfect_optimum_is_the_best_over_every_padded_einsum(objective):
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dict(m=3, n=5, k=1))
    arch = pe_arch()
    found = map_einsum(e, arch, Constraints(imperfect={"n": 0.25, "m": 0.34}), objective=objective, workers=1)
    options = [dict(m=m, n=n, k=1) for m in (3, 4) for n in (5, 6)]   # padded_bounds(3, .34), (5, .25)
    expected = min(brute_force(e.padded(b), arch, objective) for b in options)
    value = {"energy": found.result.energy, "cycles": found.result.cycles,
             "edp": found.result.energy * found.result.cycles}[objective]
    assert found.stats.proven_optimal and found.result.valid
    assert value == pytest.approx(expected, rel=1e-9)
    if objective == "cycles":   # ties in cycles across padded bounds go to the lowest energy
        lowest = min(brute_force(e.padded(b), arch, "cycles", ties_by_energy=True) for b in options)
        assert (found.result.cycles, found.result.energy) == (lowest[0], pytest.approx(lowest[1], rel=1e-9))
    again = evaluate(found.einsum, arch, found.mapping)   # the mapping is one of the padded Einsum
    assert again.energy == pytest.approx(found.result.energy, rel=1e-12) and again.cycles == found.result.cycles
    for rank, (bound, padded) in found.padding.items():
        assert bound == e.ranks[rank] < padded == found.einsum.ranks[rank]
        assert f"{rank} padded {bound} -> {padded}" in found.note


def test_padding_uses_the_idle_pe():
    # 15 MACs, no factor of 3 or 5 fits a 2-PE array: at least 15 cycles; n padded to 6 splits over both
    # PEs: 18 MACs in 9 cycles.
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dict(m=3, n=5, k=1))
    plain = map_einsum(e, pe_arch(), objective="cycles", workers=1)
    padded = map_einsum(e, pe_arch(), Constraints(imperfect={"n": 0.25}), objective="cycles", workers=1)
    assert plain.result.cycles >= 15 and plain.padding == {}
    assert padded.padding == {"n": (5, 6)} and padded.result.cycles == 9
    assert padded.result.computes == 18


def test_no_padding_when_it_does_not_pay():
    # energy on the example architecture: 16 has the factors the buffers want, so padding m to 18 (the
    # only other bound within 15%) only adds MACs and words
    from einloop import api
    spec = api.load([EX / "arch/two_level.yaml"])
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dict(m=16, n=16, k=16))
    plain = map_einsum(e, spec.arch, spec.constraints, workers=1)
    padded = map_einsum(e, spec.arch, replace(spec.constraints or Constraints(), imperfect={"m": 0.15}), workers=1)
    assert padded.padding == {} and padded.result.energy == plain.result.energy


def test_imperfect_constraint_in_yaml():
    assert read_constraints({"imperfect": 0.1}).imperfect == {"*": 0.1}
    assert read_constraints({"imperfect": {"p": 0.05}}).imperfect == {"p": 0.05}
    with pytest.raises(SpecError) as err:
        read_constraints({"imperfect": {"p": 1.5}}, "c.yaml")
    assert err.value.field == "constraints.imperfect.p" and "from 0 to 1" in str(err.value)
    with pytest.raises(SpecError) as err:
        map_einsum(Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dict(m=2, n=2, k=2)), pe_arch(),
                   Constraints(imperfect={"q": 0.1}), workers=1)
    assert err.value.field == "constraints.imperfect" and "unknown rank(s) q" in str(err.value)


def test_cli_prints_and_reports_the_padding(tmp_path, capsys):
    w = tmp_path / "w.yaml"
    w.write_text("workload:\n  einsums:\n    - name: mm\n      einsum: 'Z[m,n] += A[m,k] * B[k,n]'\n"
                 "      ranks: {m: 100, n: 100, k: 100}\n")
    c = tmp_path / "c.yaml"
    c.write_text("constraints:\n  dataflow: weight-stationary\n  imperfect: {n: 0.12}\n"
                 "  levels:\n    - target: WeightReg\n      keep: [weight]\n      bypass: [input, output]\n")
    args = ["map", str(w), str(EX / "arch/tpu_like.yaml"), "--constraints", str(c), "--workers", "1"]
    assert main(args + ["--json"]) == 0
    layer = json.loads(capsys.readouterr().out)["einsums"][0]
    padded = layer["padding"]["n"]["padded"]
    assert layer["padding"]["n"]["bound"] == 100 and padded in padded_bounds(100, 0.12) and padded > 100
    assert layer["result"]["computes"] == 100 * 100 * padded
    assert main(args) == 0
    assert f"n padded 100 -> {padded}" in capsys.readouterr().out


def test_network_layers_of_one_shape_share_the_padding():
    # two Einsums of one shape (names differ): searched once, the second evaluated on the same padded bounds
    from einloop.mapper.network import map_workload
    from einloop.spec.workload import Workload
    first = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dict(m=3, n=5, k=1), name="a")
    second = Einsum.parse("Y[m,n] += Z[m,k] * C[k,n]", dict(m=3, n=5, k=1), name="b")
    net = map_workload(Workload("two", (first, second)), pe_arch(), Constraints(imperfect={"n": 0.25}),
                       objective="cycles", workers=1)
    assert net.reused == {"b": "a"}
    a, b = net.layers
    assert a.padding == b.padding == {"n": (5, 6)}
    assert b.einsum.ranks["n"] == 6 and b.result.cycles == a.result.cycles == 9
    assert b.result.energy == pytest.approx(a.result.energy, rel=1e-12)
