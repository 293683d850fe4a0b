"""One sweep point: build its design from the documents, map every layer, return the rows to store."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from einloop.errors import SpecError
from einloop.sweep.spec import Point


@dataclass
class LayerRow:
    """One layer of one point, as stored (JSON text for the mapping and the breakdowns)."""

    layer: int
    einsum: str
    macs: int
    energy: float | None
    cycles: int | None
    area: float | None
    utilization: float | None
    pJ_per_mac: float | None
    proven: bool
    seconds: float
    reused_from: str
    note: str
    mapping: str                  # JSON: einloop's mapping YAML form (mapper.cli.mapping_dict)
    breakdown: str                # JSON: energy per level, per level.tensor and per level.tensor.action


@dataclass
class PointResult:
    """What a point's run produced: totals and one row per layer."""

    key: str
    index: int
    params: dict
    energy: float | None
    cycles: int | None
    area: float | None
    macs: int
    proven: bool
    seconds: float
    layers: list[LayerRow] = field(default_factory=list)


def design(point: Point):
    """The point's workload, architecture and constraints as einloop objects (SpecError if invalid)."""
    from einloop.mapper.constraints import read_constraints
    from einloop.spec import native
    from einloop.spec.yamlio import load_yaml
    from einloop.workloads import zoo

    arch = native.read_architecture(point.arch_doc, point.arch_file)
    cons = read_constraints(point.constraints_doc, point.constraints_file) if point.constraints_doc else None
    if point.workload.startswith("zoo:"):
        wl = zoo.get(point.workload[4:], point.batch, point.seq_len)
    else:
        doc = load_yaml(point.workload)
        if "workload" not in doc:
            raise SpecError("no 'workload' section", file=point.workload)
        wl = native.read_workload(doc["workload"], point.workload)
    for name in point.einsums or ():
        wl.einsum(name)
    return wl, arch, cons


def breakdown(result) -> dict:
    """Energy (pJ) per level, per level.tensor and per level.tensor.action of one evaluation; compute and
    leakage (no tensor) appear as level.compute / level.leak, so each breakdown sums to the total."""
    actions = result.action_table()
    untensored = {f"{r.level}.{r.action}": r.energy for r in actions.itertuples() if not r.tensor}
    return {"level": {l.name: l.energy for l in result.levels},
            "tensor": {**{f"{t.level}.{t.tensor}": t.energy for t in result.tensors}, **untensored},
            "action": {f"{r.level}.{r.tensor}.{r.action}" if r.tensor else f"{r.level}.{r.action}": r.energy
                       for r in actions.itertuples()}}


def run_point(point: Point, workers: int = 1) -> PointResult:
    """Map every layer of the point's workload (``workers``: the mapper's processes)."""
    from einloop.mapper.cli import mapping_dict
    from einloop.mapper.network import map_workload

    start = time.perf_counter()
    wl, arch, cons = design(point)
    net = map_workload(wl, arch, cons, einsums=list(point.einsums) if point.einsums else None,
                       objective=point.objective, time_limit=point.time_limit, workers=workers)
    rows = []
    for i, r in enumerate(net.layers):
        res = r.result
        rows.append(LayerRow(
            i, r.einsum.name, r.einsum.macs, res.energy if res else None, res.cycles if res else None,
            res.area if res else None, res.utilization if res else None, res.energy_per_compute if res else None,
            bool(r.stats.proven_optimal and res is not None), r.stats.seconds, net.reused.get(r.einsum.name, ""),
            r.note, json.dumps(mapping_dict(r.mapping) if r.mapping else None),
            json.dumps(breakdown(res) if res else None)))
    ok = all(r.energy is not None for r in rows)
    return PointResult(point.key, point.index, point.params, net.energy if ok else None,
                       net.cycles if ok else None, max((r.area for r in rows if r.area), default=None) if ok else None,
                       sum(r.macs for r in rows), net.proven_optimal, time.perf_counter() - start, rows)
