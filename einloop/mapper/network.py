"""Map a whole workload Einsum by Einsum; Einsums of identical shape are searched once."""
from __future__ import annotations

from dataclasses import dataclass, field

from einloop.mapper.constraints import Constraints
from einloop.mapper.search import MapResult, map_einsum
from einloop.spec.arch import Architecture
from einloop.spec.workload import Einsum, Workload


def shape_key(e: Einsum) -> tuple:
    """Einsums equal up to tensor names (roles by position) share their optimal mapping."""
    return (tuple(e.ranks.items()), tuple((t.is_output, t.indices, t.bits) for t in e.tensors))


@dataclass
class NetworkResult:
    layers: list[MapResult] = field(default_factory=list)
    reused: dict[str, str] = field(default_factory=dict)    # einsum -> the Einsum whose search it reused

    @property
    def energy(self) -> float:
        return sum(r.result.energy for r in self.layers if r.result)

    @property
    def cycles(self) -> int:
        return sum(r.result.cycles for r in self.layers if r.result)

    @property
    def proven_optimal(self) -> bool:
        return all(r.stats.proven_optimal and r.result is not None for r in self.layers)

    def table(self):
        import pandas as pd
        rows = []
        for r in self.layers:
            res = r.result
            rows.append(dict(einsum=r.einsum.name, macs=r.einsum.macs, energy_pJ=res.energy if res else None,
                             cycles=res.cycles if res else None, utilization=res.utilization if res else None,
                             pJ_per_mac=res.energy_per_compute if res else None,
                             searched=r.einsum.name not in self.reused, seconds=r.stats.seconds,
                             evaluated=r.stats.evaluated, optimal=r.stats.proven_optimal))
        return pd.DataFrame(rows)


def map_workload(workload: Workload, arch: Architecture, constraints: Constraints | None = None, *,
                 einsums: list[str] | None = None, progress: bool = False, **options) -> NetworkResult:
    out = NetworkResult()
    done: dict[tuple, MapResult] = {}
    selected = [e for e in workload.einsums if e.macs and (einsums is None or e.name in einsums)]
    iterator = selected
    if progress and len(selected) > 1:
        from tqdm import tqdm
        iterator = tqdm(selected, desc="layers", unit="einsum")
    for e in iterator:
        key = shape_key(e)
        if key in done:
            first = done[key]
            out.reused[e.name] = first.einsum.name
            out.layers.append(_renamed(first, e, arch, options.get("reuse_rule", "2024")))
            continue
        r = map_einsum(e, arch, constraints, progress=progress, **options)
        done[key] = r
        out.layers.append(r)
    return out


def _renamed(first: MapResult, e: Einsum, arch: Architecture, rule: str) -> MapResult:
    """The same mapping for an Einsum of the same shape, with its tensor names."""
    from dataclasses import replace as dc_replace

    from einloop.model.evaluate import evaluate
    from einloop.spec.mapping import Mapping, NodeMapping

    if first.mapping is None:
        return MapResult(e, None, None, first.stats)
    names = {a.name: b.name for a, b in zip(first.einsum.tensors, e.tensors)}
    nodes = tuple(NodeMapping(n.target, n.loops, None if n.keep is None else frozenset(names[t] for t in n.keep),
                              frozenset(names[t] for t in n.bypass)) for n in first.mapping.nodes)
    mapping = Mapping(nodes)
    stats = dc_replace(first.stats, seconds=0.0, evaluated=0, pruned=0)
    return MapResult(e, mapping, evaluate(e, arch, mapping, reuse_rule=rule), stats)
