"""Constraints per Einsum (``einsums: [{match: NAME-OR-GLOB, levels: [...]}]``) and factor limits as
expressions of the Einsum's bounds (``"min(32, k)"``, parsed by einloop.mapper.constraints_expr,
never eval'd)."""
from __future__ import annotations

import textwrap

import pytest

import einloop
from einloop.errors import SpecError
from einloop.mapper.constraints import check, read_constraints, resolve_roles
from einloop.mapper.constraints_expr import parse_limit
from einloop.mapper.search import map_einsum
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Fanout, Storage
from einloop.spec.workload import Einsum


@pytest.mark.parametrize("text, value", [("min(32, k)", 32), ("min(32, m)", 3), ("k // 4 + 1", 17),
                                         ("max(1, min(m, 4) * 2)", 6), ("2 * (k - 60)", 8), ("7", 7)])
def test_limit_grammar_values(text, value):
    """Hand-evaluated on bounds k=64, m=3: precedence (* and // before + and -), min/max, parentheses."""
    assert parse_limit(text).value({"k": 64, "m": 3}) == value


@pytest.mark.parametrize("text, match", [
    ("min(32 k)", r"cannot read limit 'min\(32 k\)': expected ','|expected '\)'"),
    ("__import__('os')", r"cannot read limit"), ("k ** 2", r"cannot read limit"), ("", r"it is empty"),
    ("min(", r"it ends early"), ("q + 1", r"unknown rank\(s\) q"), ("k - 64", r"is 0 .* at least 1"),
    ("k // (m - 3)", r"divides by zero")])
def test_limit_errors_name_file_and_field(text, match):
    with pytest.raises(SpecError, match=match) as err:
        parse_limit(text, "c.yaml", "constraints.levels[0].max_factors.k").value({"k": 64, "m": 3})
    assert "c.yaml" in str(err.value) and "max_factors.k" in str(err.value)


MM1 = Einsum.parse("T[m,n] += A[m,k] * B[k,n]", {"m": 4, "n": 8, "k": 64}, name="mm1")
MM2 = Einsum.parse("Z[m,p] += T[m,n] * C[n,p]", {"m": 4, "n": 8, "p": 16}, name="mm2")


def test_per_einsum_sections_and_relative_limits():
    """File-wide: Buffer's k at most min(32, k) (32 for mm1; mm2 has no k, but a file-wide limit on a
    rank one Einsum lacks is an error, so it goes in mm1's section). ``mm*`` caps n for both at
    n // 2 = 4; ``mm2`` alone fixes p=16 at Buffer and keeps the output (Z) there."""
    cons = read_constraints({
        "levels": [{"target": "Buffer", "max_factors": {"m": "min(2, m)"}}],
        "einsums": [{"match": "mm1", "levels": [{"target": "Buffer", "max_factors": {"k": "min(32, k)"}}]},
                    {"match": "mm*", "levels": [{"target": "Buffer", "max_factors": {"n": "n // 2"}}]},
                    {"match": "mm2", "levels": [{"target": "Buffer", "factors": {"p": "p"}, "keep": ["output"]}]}]},
        "c.yaml")
    one, two = resolve_roles(cons, MM1).at("Buffer"), resolve_roles(cons, MM2).at("Buffer")
    assert one.max_factors == {"m": 2, "k": 32, "n": 4} and one.factors == {} and one.keep == frozenset()
    assert two.max_factors == {"m": 2, "n": 4} and two.factors == {"p": 16} and two.keep == {"Z"}


def _arch():
    return Architecture("a", (Storage("DRAM", energy=ActionEnergy(60, 60, 60)),
                              Storage("Buffer", 4096, 8, 1, energy=ActionEnergy(1, 1, 1)),
                              Fanout("PEs", 4, 1), Storage("Reg", 16, 8, 1, energy=ActionEnergy(0.1, 0.1, 0.1)),
                              Compute("MAC", 0.5)))


def test_mapper_honours_each_einsums_section():
    """One file maps both matmuls: mm1's PEs must split k by 4 (k's factor at PEs fixed to min(4, k)),
    mm2's by p (p fixed to min(4, p)); mm2 has no k, mm1 no p, and neither needs renaming."""
    cons = read_constraints({"einsums": [
        {"match": "mm1", "levels": [{"target": "PEs", "factors": {"k": "min(4, k)"}}]},
        {"match": "mm2", "levels": [{"target": "PEs", "factors": {"p": "min(4, p)"}}]}]}, "c.yaml")
    for e, rank in ((MM1, "k"), (MM2, "p")):
        found = map_einsum(e, _arch(), constraints=cons, workers=1, chunk=256, time_limit=60)
        pe = found.mapping.for_node("PEs")
        assert [(l.rank, l.factor) for l in pe.loops if l.factor > 1] == [(rank, 4)], (e.name, pe)


def test_rank_missing_from_an_einsum_is_an_error_there():
    """A file-wide factor on k is fine for mm1 and an error naming the level and the rank for mm2."""
    cons = read_constraints({"levels": [{"target": "Buffer", "max_factors": {"k": "min(32, k)"}}]}, "c.yaml")
    check(resolve_roles(cons, MM1), MM1, _arch())
    with pytest.raises(SpecError, match=r"c\.yaml: constraints\.levels\[0\]\.max_factors\.k: 'min\(32, k\)' "
                                        r"names unknown rank\(s\) k"):
        resolve_roles(cons, MM2)


@pytest.mark.parametrize("yaml_text, match", [
    ("einsums: [{levels: []}]", r"constraints\.einsums\[0\]\.match: Field required"),
    ("einsums: [{match: mm1, level: []}]", r"unknown field 'level'"),
    ("einsums: [{match: mm1, levels: [{target: Buffer, max_factors: {k: 'min(32,'}}]}]",
     r"constraints\.einsums\[0\]\.levels\[0\]\.max_factors\.k: cannot read limit"),
    ("levels: [{target: Buffer, max_factors: {k: 0}}]", r"constraints\.levels\[0\]\.max_factors\.k: .*at least 1"),
    ("levels: [{target: Buffer, factors: {k: [1, 2]}}]", r"constraints\.levels\[0\]\.factors\.k.*valid integer"),
])
def test_yaml_errors(tmp_path, yaml_text, match):
    """Bad per-Einsum sections and limits in a YAML file: one SpecError naming the file and field."""
    f = tmp_path / "cons.yaml"
    f.write_text("constraints:\n" + textwrap.indent(yaml_text, "  ") + "\n")
    with pytest.raises(SpecError, match=match) as err:
        einloop.load([f])
    assert "cons.yaml" in str(err.value)


def test_same_shape_einsums_with_different_sections_are_searched_apart():
    """map_workload searches Einsums of one shape once, but not when different ``einsums:`` sections
    match them: two identical matmuls, one with m split over the PEs, the other with n."""
    from einloop.mapper.network import map_workload
    from einloop.spec.workload import Workload
    a = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 4, "n": 4, "k": 8}, name="left")
    b = Einsum.parse("Y[m,n] += C[m,k] * D[k,n]", {"m": 4, "n": 4, "k": 8}, name="right")
    cons = read_constraints({"einsums": [{"match": "left", "levels": [{"target": "PEs", "factors": {"m": 4}}]},
                                         {"match": "right", "levels": [{"target": "PEs", "factors": {"n": 4}}]}]})
    out = map_workload(Workload("w", (a, b)), _arch(), cons, workers=1, chunk=256, time_limit=60)
    assert out.reused == {}
    got = {r.einsum.name: [(l.rank, l.factor) for l in r.mapping.for_node("PEs").loops if l.factor > 1]
           for r in out.layers}
    assert got == {"left": [("m", 4)], "right": [("n", 4)]}


def test_row_stationary_roles_skip_a_grouped_channel_index():
    """AlexNet conv2 reads T_pool1[n, g*48+c, p+r-2, q+s-2]: g*48+c has two terms like a sliding index,
    but g is in the weight and c is not in the output, so it is a grouped channel, not a window. The
    row-stationary roles are the two windows, p+r and q+s (before: the channel pair came first)."""
    from einloop.mapper.constraints import conv_roles
    from einloop.workloads import zoo
    conv2 = next(e for e in zoo.get("alexnet").einsums if e.name == "conv2")
    assert conv_roles(conv2) == {"p": "p", "r": "r", "q": "q", "s": "s"}
