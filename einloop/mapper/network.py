"""Map a whole workload Einsum by Einsum; Einsums of identical shape are searched once."""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field, replace

from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints, expand_dataflow, matched_sections, resolve_roles
from einloop.mapper.lifetime import TimeUp, WorkerFailed, margins, worker_init
from einloop.mapper.progress import Progress
from einloop.mapper.search import MapResult, SearchStats, map_einsum, process_context
from einloop.spec.arch import Architecture
from einloop.spec.workload import Einsum, Workload


def shape_key(e: Einsum, arch: Architecture | None = None, constraints: Constraints | None = None) -> tuple:
    """Einsums equal up to tensor names (roles by position) share their optimal mapping, unless the
    architecture names tensors (per-tensor multicast or widths) or different per-Einsum constraint
    sections match them."""
    names = tuple(t.name for t in e.tensors) if arch is not None and arch.names_tensors else ()
    sections = matched_sections(constraints, e) if constraints is not None else ()
    return (tuple(e.ranks.items()), tuple((t.is_output, t.indices, t.bits) for t in e.tensors), names, sections)


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
    """Map every Einsum with MACs; one search per distinct shape. With several shapes and workers,
    the shapes are searched side by side, one per core (each search alone on its core: its setup and
    seed, which run on one core, overlap with the other searches)."""
    out = NetworkResult()
    selected = [e for e in workload.einsums if e.macs and (einsums is None or e.name in einsums)]
    firsts: dict[tuple, Einsum] = {}
    for e in selected:
        firsts.setdefault(shape_key(e, arch, constraints), e)
    # Longest first (a rough guess: more ranks, then more MACs, search longer), so that no long search
    # is left alone on one core at the end.
    shapes = sorted(firsts.values(), key=lambda e: (-len([b for b in e.ranks.values() if b > 1]), -e.macs))
    workers = options.get("workers") or min(2, os.cpu_count() or 1)
    side_by_side = workers > 1 and len(shapes) > 1
    cores = min(workers, len(shapes)) if side_by_side else 1
    jobs = [_Job(e, arch, constraints, {**options, "workers": 1} if side_by_side else options, k, len(shapes), cores)
            for k, e in enumerate(shapes)]
    bar = Progress(progress and len(jobs) > 1, "shapes", "einsum")
    bar.start(len(jobs), "search")
    done: dict[str, MapResult] = {}   # by the name of each shape's first Einsum (a result's may be padded)
    try:
        if side_by_side:
            with process_context().Pool(cores, initializer=worker_init, initargs=(os.getpid(),)) as pool:
                for r in _results(pool.imap_unordered(_map_shape, jobs), len(jobs), options.get("deadline")):
                    done[r.einsum.name] = r
                    bar.update(1)
        else:
            for job in jobs:
                r = _map_shape(job, progress=progress)
                done[r.einsum.name] = r
                bar.update(1)
    finally:
        bar.close()
    for job in jobs:   # a shape that did not answer by the hard stop: no mapping, not proven
        if job.einsum.name not in done:
            done[job.einsum.name] = MapResult(job.einsum, None, None, SearchStats(proven_optimal=False),
                                              note="no answer within the time limit")
    for e in selected:
        first = done[firsts[shape_key(e, arch, constraints)].name]
        if first.einsum.name == e.name:
            out.layers.append(first)
        else:
            out.reused[e.name] = first.einsum.name
            out.layers.append(_renamed(first, e, arch, options.get("reuse_rule", "2024")))
    return out


@dataclass
class _Job:
    """One shape's search: its Einsum, its place among the shapes and the cores they share."""
    einsum: Einsum
    arch: Architecture
    constraints: Constraints | None
    options: dict
    index: int
    shapes: int
    cores: int

    def deadline(self) -> float | None:
        """Its share of the time left, at its start: the shapes not started yet (this one included),
        spread over the cores, split the time equally (the command's deadline caps it)."""
        end = self.options.get("deadline")
        if end is None:
            return None
        now = time.time()
        rounds = -(-(self.shapes - self.index) // self.cores)
        return now + max(0.0, end - now) / rounds


def _results(results, count: int, deadline: float | None):
    """The shapes' results as they come; with a deadline, none waited for past the hard stop."""
    for _ in range(count):
        wait = None if deadline is None else max(0.1, margins(deadline)[1] + 0.5 - time.time())
        try:
            yield results.next(timeout=wait)
        except mp.TimeoutError:
            return
        except (SpecError, TimeUp):
            raise
        except Exception as err:
            raise WorkerFailed(f"{type(err).__name__}: {err}") from err


def _map_shape(job: _Job, progress: bool = False) -> MapResult:
    """One shape's search, alone on its core when the shapes run side by side."""
    cons, note = constraints_for(job.einsum, job.arch, job.constraints)
    r = map_einsum(job.einsum, job.arch, cons, progress=progress, **{**job.options, "deadline": job.deadline()})
    r.note = "; ".join(n for n in (note, r.note) if n)
    return r


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
    if first.padding:   # the same padded bounds
        e = e.padded({r: padded for r, (_, padded) in first.padding.items()})
    names = {a.name: b.name for a, b in zip(first.einsum.tensors, e.tensors)}
    nodes = tuple(NodeMapping(n.target, n.loops, None if n.keep is None else frozenset(names[t] for t in n.keep),
                              frozenset(names[t] for t in n.bypass)) for n in first.mapping.nodes)
    mapping = Mapping(nodes)
    stats = dc_replace(first.stats, seconds=0.0, evaluated=0, pruned=0)
    return MapResult(e, mapping, evaluate(e, arch, mapping, reuse_rule=rule), stats, note=first.note,
                     padding=first.padding)
