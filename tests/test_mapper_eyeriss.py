"""Time-limited mapping on the Eyeriss-like example: the local-search seed, networks with layers the
row-stationary dataflow cannot express, and the seed against exhaustive search on small problems."""
import numpy as np
import pytest

import einloop
from conftest import ROOT
from einloop.mapper import search
from einloop.mapper.constraints import Constraints, expand_dataflow, resolve_roles
from einloop.mapper.network import map_workload
from einloop.mapper.search import map_einsum
from einloop.mapper.space import dataplacements, slots
from einloop.model.evaluate import evaluate
from einloop.spec.workload import Einsum
from einloop.workloads import zoo

EX = ROOT / "examples"


@pytest.fixture(scope="module")
def eyeriss():
    spec = einloop.load([EX / "arch/eyeriss_like.yaml"])
    return spec.arch, spec.constraints


def test_conv_time_limited_beats_the_hand_written_mapping(eyeriss):
    spec = einloop.load([EX / "workloads/conv.yaml", EX / "arch/eyeriss_like.yaml",
                         EX / "mappings/conv_eyeriss_like.yaml"])
    einsum = spec.workload.einsum()
    hand = einloop.evaluate(einsum, spec.arch, spec.mapping)
    r = map_einsum(einsum, spec.arch, spec.constraints, time_limit=8, workers=2)
    assert r.result is not None and r.result.valid
    # unproven only when the limit ran out (the search works to 0.3 x max(1 s, 5%) before it, so that
    # the answer comes within the limit: lifetime.margins)
    assert r.stats.proven_optimal or r.stats.seconds >= 8 - 0.3 - 0.05
    assert r.result.energy < hand.energy                   # 966.3 uJ by hand
    again = evaluate(einsum, spec.arch, r.mapping)         # what is printed is what the model says
    assert again.energy == pytest.approx(r.result.energy, rel=1e-12)
    # the row-stationary limits hold: inside a PE only q, s, c, m loop; spatial X over p/m, Y over r/c/m
    for node in r.mapping.nodes:
        if node.target.endswith("_spad"):
            assert {l.rank for l in node.loops} <= {"q", "s", "c", "m"}
        if node.target == "PE_array":
            assert all(l.rank in ({"p", "m"} if l.spatial == "X" else {"r", "c", "m"}) for l in node.loops)


def test_network_with_fc_layers_maps_on_eyeriss(eyeriss):
    arch, cons = eyeriss
    net = zoo.get("lab1_mnist", batch=1, bits=16)
    result = map_workload(net, arch, cons, time_limit=3, workers=1)
    assert [r.einsum.name for r in result.layers] == [e.name for e in net.einsums if e.macs]
    for r in result.layers:
        assert r.result is not None and r.result.valid, r.einsum.name
        assert r.result.computes == r.einsum.macs
        # conv1/conv2 are row-stationary; fc1/fc2 (fc1 reads the flattened map) cannot be
        assert (r.note == "") == r.einsum.name.startswith("conv"), (r.einsum.name, r.note)


def _context(einsum, arch, cons=None, objective="energy"):
    cons = expand_dataflow(resolve_roles(cons or Constraints(), einsum), einsum, arch)
    sl = slots(einsum, arch, cons)
    ctx = search._Context(einsum, arch, cons, sl, dataplacements(einsum, arch, cons), objective, "2024", 2048)
    search._init(ctx, None)
    return ctx


@pytest.mark.parametrize("seed", range(5))
def test_local_search_never_beats_the_proven_optimum(seed, eyeriss):
    """The seed is a real mapping: never below the exact optimum, and re-evaluated it costs what it says."""
    rng = np.random.default_rng(seed)
    arch = einloop.load([EX / "arch/two_level.yaml"]).arch
    dims = {r: int(rng.choice([2, 4, 6, 8, 12])) for r in "mnk"}
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dims, name="mm")
    exact = map_einsum(e, arch, workers=1)
    assert exact.stats.proven_optimal
    ctx = _context(e, arch)
    spatial = np.ones((1, len(ctx.slots)), np.int64)
    cand = search._seed(ctx, spatial)
    assert cand is not None
    result = evaluate(e, arch, search._mapping(ctx, cand))
    assert result.valid
    assert result.energy == pytest.approx(cand.energy, rel=1e-9)
    assert result.energy >= exact.result.energy * (1 - 1e-12)
