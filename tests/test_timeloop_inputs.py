"""Timeloop inputs as the public exercises ship them: mapspace constraints with Timeloop's meaning,
the exercises' own input folders, and bad Timeloop input refused with one message naming file and field."""
from __future__ import annotations

import textwrap

import pytest

import einloop
from einloop.errors import SpecError
from tests.conftest import reference_case


def _tl06():
    d = reference_case("tl06_mapper_eyeriss_constrained")
    return einloop.load([d / "parsed-processed-input.yaml", d / "timeloop-mapper.ERT.yaml"], format="timeloop")


def test_eyeriss_exercise_constraints_load_unchanged():
    """tl06's own ``architecture_constraints``: spatial permutation + split, dummy-level targets.

    inter_PE_column_spatial (14x1): ``NCPRSQM`` split 7 sends every rank to X, factors N,C,P,R,S = 1.
    inter_PE_spatial (1x12): ``NPQRSCM`` split 4: N,P,Q,R to X (all fixed 1), S,C,M to Y.
    The dummies' temporal factors are all 1 and they bypass everything: no limit on the merged level.
    weights_spad ``NMPQSCR`` (inner to outer) is einloop's outer-to-inner R,C,S,Q,P,M,N."""
    spec = _tl06()
    lv = spec.constraints.levels
    col, pe = lv["inter_PE_column_spatial"], lv["inter_PE_spatial"]
    assert col.spatial_x == frozenset("NCPRSQM") and col.spatial_y == frozenset()
    assert col.factors == {"N": 1, "C": 1, "P": 1, "R": 1, "S": 1}
    assert pe.spatial_x == frozenset("NPQR") and pe.spatial_y == frozenset("SCM")
    assert pe.factors == {"N": 1, "P": 1, "Q": 1, "R": 1}
    assert lv["shared_glb"].bypass == {"Weights"} and lv["shared_glb"].keep == {"Inputs", "Outputs"}
    assert lv["weights_spad"].permutation == tuple("RCSQPMN")
    assert lv["weights_spad"].factors == {"N": 1, "M": 1, "P": 1, "Q": 1, "S": 1}
    assert lv["DRAM"].permutation == ("N",)
    assert set(lv) == {"DRAM", "shared_glb", "inter_PE_column_spatial", "inter_PE_spatial", "ifmap_spad",
                       "weights_spad", "psum_spad"}
