"""The mapper's bounds price every utilized instance; storage with cluster_size > 1 pays per utilized
cluster (model/costs.py), less, so a bound could exceed the true cost and prune the optimum: the answer
must not claim to be proven there."""
import dataclasses

from conftest import ROOT
from einloop import api
from einloop.mapper.search import map_einsum
from einloop.spec.arch import Architecture, Storage


def test_clusters_are_never_claimed_proven():
    spec = api.load([ROOT / "examples/workloads/matmul.yaml", ROOT / "examples/arch/tpu_like.yaml"])
    einsum = spec.workload.einsums[0]
    plain = map_einsum(einsum, spec.arch, spec.constraints, workers=1)
    assert plain.stats.proven_optimal
    inner = spec.arch.storages[-1]
    nodes = tuple(dataclasses.replace(n, cluster_size=2) if n is inner else n for n in spec.arch.nodes)
    clustered = dataclasses.replace(spec.arch, nodes=nodes)
    assert isinstance(clustered, Architecture) and isinstance(clustered.storages[-1], Storage)
    r = map_einsum(einsum, clustered, spec.constraints, workers=1)
    assert r.result is not None and not r.stats.proven_optimal
    assert "cluster_size" in r.stats.stopped
