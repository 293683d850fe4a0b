"""Time-limited and budgeted searches never answer worse than the named dataflows' own optima.

An unconstrained mapspace can be too large to finish, while each named dataflow (weight-, output-,
input-, row-stationary) is a much smaller subset that often finishes in seconds. So a bounded search
of an unconstrained problem (a time limit or an effort budget) runs in three parts: the whole space
for a sixth of the time (proven: done); then every dataflow that can express the Einsum, sharing 60%
of what is left; then the whole space again for the rest, pruned by the best found so far (the
incumbent). The answer is the best of all three, so it is never worse than a dataflow's optimum that
finished. Under an effort budget the first part is skipped (it would repeat the last one). Time
limits under MIN_SECONDS are not split (measured on the VGG-16 layer: a part of 1-2 s finds no
mapping at all, while the whole search's seed answers in about 3 s).
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from einloop.errors import SpecError
from einloop.mapper.constraints import DATAFLOWS, Constraints, expand_dataflow
from einloop.spec.arch import Architecture
from einloop.spec.workload import Einsum

WHOLE_FIRST = 1 / 6       # of the time: the whole space first (a search it proves ends there)
DATAFLOWS_SHARE = 0.6     # of what is left then: the named dataflows (each its share of what is left)
PHASE_GRACE = 0.25   # seconds a part before the last may run past its share (its hard stop)
MIN_SECONDS = 30.0   # shorter time limits are not split: each part would be too short to find anything
SEEDED = ("energy", "edp")   # objectives whose searches take an incumbent (cycles: two searches already)


def wanted(cons: Constraints, objective: str, end: float | None, effort: int | None) -> bool:
    """Whether a search should be seeded by the named dataflows: a bounded, unconstrained search."""
    if cons.dataflow != "unconstrained" or objective not in SEEDED:
        return False
    return effort is not None or (end is not None and end - time.time() >= MIN_SECONDS)


def applicable(cons: Constraints, einsum: Einsum, arch: Architecture) -> list[Constraints]:
    """The user's constraints under every named dataflow that can express the Einsum on the architecture."""
    out = []
    for name in DATAFLOWS[1:]:
        try:
            expand_dataflow(replace(cons, dataflow=name), einsum, arch)
        except SpecError:
            continue
        out.append(replace(cons, dataflow=name))
    return out


def with_incumbent(einsum: Einsum, arch: Architecture, cons: Constraints, *, objective: str,
                   deadline: float | None, effort: int | None, **options):
    """search.map_einsum in the three parts of the module docstring; the best answer, its statistics
    summed over the parts (proven if the last part, or the first, is)."""
    from einloop.mapper.search import MapResult, SearchStats, map_einsum

    start, now = time.time(), time.perf_counter()
    options.pop("time_limit", None)
    options.pop("hard", None)
    run = dict(options, objective=objective, effort=effort, incumbents=False)
    best, stats, notes = None, SearchStats(), []
    if deadline is not None and effort is None:
        until = start + (deadline - start) * WHOLE_FIRST
        best = map_einsum(einsum, arch, cons, deadline=until, hard=until + PHASE_GRACE, **run)
        if best.stats.proven_optimal:
            return best
        stats.add(best.stats)
    subsets = applicable(cons, einsum, arch)
    phase_end = None if deadline is None else time.time() + (deadline - time.time()) * DATAFLOWS_SHARE
    for k, sub in enumerate(subsets):
        until = None if phase_end is None else time.time() + (phase_end - time.time()) / (len(subsets) - k)
        if until is not None and until <= time.time():   # the earlier parts took this one's time
            stats.proven_optimal = False
            continue
        r = map_einsum(einsum, arch, sub, deadline=until, hard=None if until is None else until + PHASE_GRACE,
                       limit=_value(best, objective), **run)
        stats.add(r.stats)
        if r.result is not None:
            best = r
            notes.append(f"{sub.dataflow}: {r.result.energy:,.0f} pJ")
    last = None
    if deadline is None or time.time() < deadline:
        last = map_einsum(einsum, arch, cons, deadline=deadline, limit=_value(best, objective), **run)
        stats.add(last.stats)
    stats.proven_optimal = last is not None and last.stats.proven_optimal
    if not stats.proven_optimal and not stats.stopped:
        stats.stopped = "time limit reached"
    stats.seconds = time.perf_counter() - now
    if last is not None and (last.result is not None or best is None or best.result is None):
        best = last
    if best is None:
        return MapResult(einsum, None, None, stats)
    note = "seeded by the named dataflows (" + "; ".join(notes) + ")" if notes else ""
    return MapResult(best.einsum, best.mapping, best.result, stats, best.pareto, note=note, padding=best.padding)


def _value(r, objective: str) -> float:
    """The objective of a search's answer (infinite without one)."""
    if r is None or r.result is None:
        return np.inf
    return float(r.result.energy if objective == "energy" else r.result.energy * r.result.cycles)
