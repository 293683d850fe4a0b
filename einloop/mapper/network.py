"""Map a whole workload Einsum by Einsum; Einsums of identical shape are searched once."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints, expand_dataflow, resolve_roles
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
                             evaluated=r.stats.evaluated, optimal=r.stats.proven_optimal, note=r.note))
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
        cons, note = constraints_for(e, arch, constraints)
        r = map_einsum(e, arch, cons, progress=progress, **options)
        r.note = note
        done[key] = r
        out.layers.append(r)
    return out


def constraints_for(e: Einsum, arch: Architecture, constraints: Constraints | None) -> tuple[Constraints | None, str]:
    """The constraints for one Einsum of a network. A named dataflow that cannot express the Einsum
    (row-stationary for a fully connected layer or attention) is dropped for it, keeping the per-level
    limits, and the result says so."""
    if constraints is None or constraints.dataflow == "unconstrained":
        return constraints, ""
    try:
        expand_dataflow(resolve_roles(constraints, e), e, arch)
    except SpecError as err:
        if err.field != "constraints.dataflow":
            raise
        return replace(constraints, dataflow="unconstrained"), f"{constraints.dataflow} does not apply: per-level limits only"
    return constraints, ""


def _renamed(first: MapResult, e: Einsum, arch: Architecture, rule: str) -> MapResult:
    """The same mapping for an Einsum of the same shape, with its tensor names."""
    from dataclasses import replace as dc_replace

    from einloop.model.evaluate import evaluate
    from einloop.spec.mapping import Mapping, NodeMapping

    if first.mapping is None:
        return MapResult(e, None, None, first.stats, note=first.note)
    names = {a.name: b.name for a, b in zip(first.einsum.tensors, e.tensors)}
    nodes = tuple(NodeMapping(n.target, n.loops, None if n.keep is None else frozenset(names[t] for t in n.keep),
                              frozenset(names[t] for t in n.bypass)) for n in first.mapping.nodes)
    mapping = Mapping(nodes)
    stats = dc_replace(first.stats, seconds=0.0, evaluated=0, pruned=0)
    return MapResult(e, mapping, evaluate(e, arch, mapping, reuse_rule=rule), stats, note=first.note)
