"""The mapper: exact branch and bound over dataplacements, tilings and loop orders.

0. Group bounds first (a bound for every tiling and order of a dataplacement and spatial choice: the
   levels above the PE array merged into one freely ordered level, the PE buffers at every split that
   fits, completion.merged_energy); meanwhile a helper process finds a seed, a good mapping by local
   search (local.py) from the dataplacement keeping most, so pruning starts at once, then bounds
   dataplacements too. A task bounds its groups still in reach again, the merged level's two innermost
   ranks chosen.
1. Per dataplacement and run of spatial choices, build tilings from the outermost level inward
   (space.tilings_outer_first). When a level is complete, its partial tilings are bounded: above the
   merged levels first by lookup (_merged_floor: the decided hops at their lowest over the orders,
   kept per decided part, plus the group's floor for the rest), then (_outer_bounds) hops into levels
   already decided at their best loop orders, the others at floors no split of the rest can beat
   (completion.py); rows over the best known are dropped.
2. A complete tiling's bound holds for all its loop orders: per-level minima of the dynamic energy
   (orders.py), every tensor at least at its optimistic count (count_accesses(optimistic=True)).
3. Visit tilings in increasing bound order; evaluate exactly the orders reaching each one's bound (and
   walk the other orders only when a sliding window pays a stride change), and stop when the next
   bound exceeds the best cost found. Nothing better can remain: the result is optimal for the
   constraints.

Tasks run on one process per core, each dataplacement's on one of them (their caches), sharing the
best cost for pruning. Ties are broken by a fixed key, so the same input always gives the same mapping.
With a time limit the best mapping so far is returned and marked as not proven optimal.
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import multiprocessing as mp
import os
import queue
import time
from dataclasses import dataclass, field

import numpy as np

from einloop.mapper import incumbent
from einloop.mapper.completion import left_of, merged_energy, undecided_energy, window_energy, windowed_operand
from einloop.mapper.constraints import Constraints, check, expand_dataflow, resolve_roles
from einloop.mapper.effort import within_effort
from einloop.mapper.lifetime import TimeUp, WorkerFailed, hard_stop, margins, stop_time, worker_init
from einloop.mapper.local import Neighbourhood, cached_structure
from einloop.mapper.nofit import ruled_out
from einloop.mapper.orders import OrderBounds, link_energy, links, order_bounds
from einloop.mapper.progress import Progress
from einloop.mapper.space import (TooManyTilings, count_orders, dataplacements, level_orders, slots, spatial_tilings,
                                  temporal_tilings, tilings_outer_first)
from einloop.model.accesses import count_accesses, window_free
from einloop.model.costs import BatchCosts, costs
from einloop.model.evaluate import evaluate, evaluate_batch
from einloop.model.nest import build_structure, take_rows
from einloop.model.result import Result
from einloop.model.spatial import unique_rows
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.workload import Einsum

OBJECTIVES = ("energy", "cycles", "edp", "pareto")
HELPED_GROUPS = 256   # from this many groups, a helper process seeds, then bounds groups beside the main one
SHARED = 4   # the cheap partial-tiling bound prices the decided hops' joint orders when 4 rows share each new part
TIE = 1e-12   # relative: energies closer than this are equal (float sums in different orders)
SEED_WAIT = 0.3   # seconds a hard stop still waits for the helper's seed (its local search ends by the deadline)
EXACT_BLOCK = 64   # complete tilings evaluated exactly per block (in bound order; a better best prunes the next)


@dataclass
class SearchStats:
    mapspace: int = 0          # tilings x canonical loop orders that survived pruning while tilings were built
    dataplacements: int = 0
    groups: int = 0            # (dataplacement, spatial factors) pairs
    groups_pruned: int = 0     # groups whose bound exceeded the best: never enumerated
    groups_skipped: int = 0    # groups too large to enumerate in memory (then not proven optimal)
    tilings: int = 0
    evaluated: int = 0         # complete mappings evaluated (exactly, or under the bound rule for order tables)
    pruned: int = 0            # (tiling, order) pairs of enumerated groups never evaluated exactly: bound above the best
    seconds: float = 0.0
    proven_optimal: bool = True
    stopped: str = ""          # why not proven: "time limit reached", "effort budget reached" (or "")

    def add(self, other: "SearchStats") -> None:
        """Count another search of the same Einsum in (optimal only if both are; seconds not summed)."""
        self.dataplacements = max(self.dataplacements, other.dataplacements)
        for name in ("mapspace", "groups", "groups_pruned", "groups_skipped", "tilings", "evaluated", "pruned"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.proven_optimal = self.proven_optimal and other.proven_optimal
        self.stopped = self.stopped or other.stopped


@dataclass
class MapResult:
    einsum: Einsum
    mapping: Mapping | None
    result: Result | None
    stats: SearchStats
    pareto: list[tuple[Mapping, Result]] = field(default_factory=list)
    note: str = ""             # e.g. a named dataflow that did not apply to this Einsum
    padding: dict[str, tuple[int, int]] = field(default_factory=dict)   # rank -> (bound, padded bound): imperfect.py


@dataclass
class _Candidate:
    key: tuple                 # (objective, energy, cycles, dataplacement, factors, orders): ties broken by it
    energy: float
    cycles: float
    dp: int
    factors: tuple[int, ...]
    orders: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, objective: float, energy: float, cycles: float, dp: int, row, orders) -> _Candidate:
        factors = tuple(int(x) for x in row)
        return cls((float(objective), float(energy), float(cycles), dp, factors, orders), float(energy),
                   float(cycles), dp, factors, orders)


class _Context:
    """Everything a worker needs, set once per process."""

    def __init__(self, einsum, arch, cons, slot_list, dps, objective, rule, chunk, deadline=None):
        self.einsum, self.arch, self.cons, self.slots, self.dps = einsum, arch, cons, slot_list, dps
        self.objective, self.rule, self.chunk = objective, rule, chunk
        self.deadline = deadline   # time.time() after which searches stop and report what they have
        self.storages = [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]
        self.structures: dict = {}
        self.slot_index = {(sl.node, sl.rank, sl.axis): k for k, sl in enumerate(slot_list)}
        self.rank_slots = {r: [k for k, sl in enumerate(slot_list) if sl.rank == r] for r in einsum.ranks}
        self.outermost_slot = {r: slot_list.index(next(sl for sl in slot_list if sl.rank == r and sl.axis is None
                                                        and sl.node == self.storages[0])) for r in einsum.ranks}
        self.bound_structures: dict = {}
        self.splits: dict = {}     # completion.splits_by_row, per (placement under a level, level, spatial)
        self.decided: dict = {}    # per (dataplacement, level): the decided hops' lowest energy per decided part
        self.order_counts: dict = {}
        self.innermost = max(sl.node for sl in slot_list if sl.axis is None)   # the first level tilings grow
        fanouts = [i for i, n in enumerate(arch.nodes) if isinstance(n, Fanout)]
        above = [i for i in self.storages if fanouts and i < fanouts[-1]]
        self.merge_level = above[-1] if above else None   # completion.merged_energy merges the levels down to it
        self.last_slot = {r: max(k for k, sl in enumerate(slot_list) if sl.rank == r and sl.axis is None)
                          for r in einsum.ranks}
        self.spatial_cols = [k for k, sl in enumerate(slot_list) if sl.axis is not None]
        self.cap = None        # cycles a mapping may not exceed (the energy objective under a cycle cap)
        self.strict = False    # only strictly fewer cycles matter (integers: the limit is one less)

    def objective_of(self, energy, cycles):
        """The objective, infinite past the cycle cap (cycles_then_energy's second search)."""
        value = _objective(self.objective, energy, cycles)
        return value if self.cap is None else np.where(np.asarray(cycles) <= self.cap, value, np.inf)

    def guide_of(self, energy, cycles):
        """What the local search descends: the objective, past a cycle cap raised with the excess
        instead of infinite (so that a descent from over the cap can reach under it; equal under it)."""
        if self.cap is None:
            return self.objective_of(energy, cycles)
        return _objective(self.objective, energy, cycles) * np.maximum(1.0, np.asarray(cycles) / self.cap) ** 4

    def late(self, ahead: float = 0.0) -> bool:
        """Past the deadline (or ``ahead`` seconds from now would be: a step that long would end past it)."""
        return self.deadline is not None and time.time() + ahead > self.deadline


_CTX: _Context | None = None
_BEST = None
_CLAIMS = None   # the helper's share of the group bounds: [next from the front, end] (_bound_groups)


def _init(ctx, best, claims=None):
    global _CTX, _BEST, _CLAIMS
    _CTX, _BEST, _CLAIMS = ctx, best, claims


def _worker(ctx, best, claims, parent: int):
    """Pool initializer: a worker that ignores SIGINT and dies with its parent (lifetime.py), then _init."""
    worker_init(parent)
    _init(ctx, best, claims)


def _objective(name: str, energy, cycles):
    return {"energy": energy, "cycles": cycles, "edp": energy * cycles, "pareto": energy}[name]


def _level_active(ctx: _Context, active: np.ndarray) -> list[tuple[str, ...]]:
    return [tuple(s.rank for k, s in enumerate(ctx.slots) if s.node == i and s.axis is None and active[k])
            for i in ctx.storages]


def _limit(local: _Candidate | None = None) -> float:
    """The objective value a mapping must not exceed to matter: the best known anywhere."""
    shared = _BEST.value if _BEST is not None else np.inf
    return _bar(min(shared, local.key[0] if local is not None else np.inf), _CTX is not None and _CTX.strict)


def _bar(best: float, strict: bool) -> float:
    """What a mapping must not exceed, given the best value: that value, or for a search that only
    wants strictly fewer cycles (integers) one less."""
    return best - 1 + 1e-9 if strict else best


def _run_group(task):
    """Enumerate the tilings of one dataplacement over some spatial choices and evaluate them in
    bound order. Partial tilings whose bound exceeds the best known are dropped while they are built."""
    dp, spatial_rows, row_bounds, row_rests = task
    ctx = _CTX
    pareto = ctx.objective == "pareto"
    n_rows = len(spatial_rows)
    if not pareto:
        reach = row_bounds <= _limit()   # once: another worker may lower the limit meanwhile
        spatial_rows, row_rests = spatial_rows[reach], row_rests[reach]
        if ctx.merge_level is not None and len(spatial_rows):   # the refined group bound (the merged
            # level's two innermost ranks chosen: ~4x the cost, so only here, against the best known now)
            raised, higher = _group_parts(ctx, dp, spatial_rows, pairs=True)
            live = raised <= _limit()
            spatial_rows, row_rests = spatial_rows[live], np.maximum(row_rests, higher)[live]
    if len(spatial_rows) == 0:
        return None, [], 0, 0, 0, 0, n_rows
    rests = {row.tobytes(): float(r) for row, r in zip(spatial_rows[:, ctx.spatial_cols], row_rests)}

    def prune(F, level):   # past the time limit every partial tiling is dropped (the result says so)
        if ctx.late():
            return np.zeros(len(F), bool)
        keep = _merged_floor(ctx, dp, F, level, rests) <= _limit()
        if keep.any():
            keep[keep] = _outer_bounds(ctx, dp, F[keep], level) <= _limit()
        return keep
    try:
        T = tilings_outer_first(ctx.einsum, ctx.arch, ctx.cons, ctx.slots, ctx.dps[dp], spatial_rows,
                                None if pareto else prune)
    except TooManyTilings:   # skipped: the result can no longer be called optimal
        return None, [], 0, 0, 0, 0, None
    out = _evaluate_tilings(ctx, dp, T)
    return out[:-1] + (n_rows - len(spatial_rows),)


def _evaluate_tilings(ctx: _Context, dp: int, T: np.ndarray):
    """Every canonical loop order of complete tilings, visited in bound order until the bound exceeds
    the best found."""
    best = None
    if len(T) == 0:
        return best, [], 0, 0, 0, 0, 0
    first, inv = unique_rows(T > 1)
    pats = (T > 1)[first]
    counts = np.array([np.prod([_count_orders(ctx, i, act) for i, act in zip(ctx.storages, _level_active(ctx, p))])
                       for p in pats])
    per_row = counts[inv.reshape(-1)]
    bounds = _tiling_bounds(ctx, dp, T, joint=True)
    order = np.lexsort((np.arange(len(T)), bounds))
    T, bounds, per_row = T[order], bounds[order], per_row[order]
    front, evaluated, pruned = [], 0, 0
    chunk = ctx.chunk
    for k in range(0, len(T), chunk):
        if ctx.late():
            break
        if ctx.objective != "pareto" and bounds[k] > _limit(best):
            pruned += int(per_row[k:].sum())
            break
        cand, fr, n_eval, n_pruned = _run_chunk((dp, T[k:k + chunk], bounds[k:k + chunk]), per_row[k:k + chunk])
        evaluated += n_eval
        pruned += n_pruned
        if cand is not None and (best is None or cand.key < best.key):
            best = cand
        if fr:
            front = _pareto(front + fr)
    return best, front, evaluated, pruned, len(T), int(per_row.sum()), 0


def _count_orders(ctx: _Context, node: int, active: tuple[str, ...]) -> int:
    """Canonical orders of one level's looping ranks (cached: the statistics ask for many patterns)."""
    key = (node, active)
    if key not in ctx.order_counts:
        ctx.order_counts[key] = count_orders(ctx.einsum, active, ctx.cons.at(ctx.arch.nodes[node].name).permutation)
    return ctx.order_counts[key]


def _merged_floor(ctx: _Context, dp: int, F: np.ndarray, level: int, rests: dict) -> np.ndarray:
    """[B] a first bound for partial tilings complete down to ``level`` above the merged levels (the
    energy objective only; else -inf): the decided hops at their lowest over the orders
    (_decided_lowest, kept per decided part) plus their group's floor for all but the merged levels'
    hops (``rests``, per spatial choice: _group_parts). One lookup per row where the cheap pass of
    _outer_bounds prices the whole nest."""
    below = next(i for i in ctx.storages if i > level)
    decided = [h for h in links(ctx, dp) if h[1] <= below]
    tensors = {t for _, _, t in decided}
    # none, or one tensor without windows (its best order fetches it once, as the group floor has it)
    idle = len(tensors) < 2 and all(window_free(ctx.einsum, ctx.einsum.tensor(t)) for t in tensors)
    if ctx.objective != "energy" or ctx.merge_level is None or below > ctx.merge_level or idle or not len(F):
        return np.full(len(F), -np.inf)
    first, which = unique_rows(F[:, ctx.spatial_cols])
    rest = np.array([rests[row.tobytes()] for row in F[first][:, ctx.spatial_cols]])[which]
    return rest + _decided_lowest(ctx, dp, F, level, below, decided)


def _rest_innermost(ctx: _Context, F: np.ndarray) -> np.ndarray:
    """Partial tilings made complete by giving each rank's innermost temporal slot what is left."""
    T = F.copy()
    T[:, [ctx.last_slot[r] for r in ctx.einsum.ranks]] *= left_of(ctx, F)
    return T


def _outer_bounds(ctx: _Context, dp: int, F: np.ndarray, level: int) -> np.ndarray:
    """A bound for tilings complete from the outermost level down to ``level`` (tilings_outer_first),
    valid for every way of splitting the rest below and every loop order. A hop into a level at most one
    below ``level`` is decided: the child's tile is what is left (times the spatial factors inside it)
    and every loop outside it is chosen, so it is charged at its lowest over the orders of the levels
    above (orders.py). The other hops get their optimistic counts raised to floors no split of the rest
    beats (completion.py). Cheap floors first; the splits of the rest and the joint loop orders only
    for the rows still within reach (most are dropped before)."""
    bound, decided_extra = _outer_pass(ctx, dp, F, level)
    close = bound <= _limit()
    if close.any():
        thorough, _ = _outer_pass(ctx, dp, F[close], level, decided_extra[close])
        bound[close] = np.maximum(bound[close], thorough)
    return bound


def _outer_pass(ctx: _Context, dp: int, F: np.ndarray, level: int, decided_extra: np.ndarray | None = None):
    """One pass of _outer_bounds: (bound, what the decided hops add to their optimistic energy, each
    tensor at its own best order or its sweep floor). Given that from the cheap pass (``decided_extra``),
    the thorough pass charges undecided hops at the lowest over the splits of the rest (not only at
    their floors). Both charge the decided hops at one loop order per level for all tensors together
    (_decided_lowest; the cheap pass only where rows share it)."""
    thorough = decided_extra is not None
    T = _rest_innermost(ctx, F)
    below = [i for i in ctx.storages if i > level]
    decided = [h for h in links(ctx, dp) if h[1] <= below[0]]
    cols = tuple(int(k) for k in np.nonzero((T > 1).any(axis=0))[0])   # unit loops change nothing
    (base_s, base_cols), per_tensor = _bound_structures_for(ctx, dp, cols)
    nc = count_accesses(base_s, T[:, base_cols], ctx.rule, optimistic=True)
    optimistic = costs(base_s, nc)
    optimistic.energy = optimistic.energy + undecided_energy(ctx, dp, F, level, below[0], base_s, nc, optimistic,
                                                             splits=thorough)
    rest = optimistic.energy - link_energy(optimistic, decided)
    if decided_extra is None:   # each tensor at its own best order (the same in both passes), for the
        # rows the rest leaves within reach (the others are dropped already: the extras only add)
        decided_extra = np.zeros(len(F))
        reach = ctx.objective_of(optimistic.energy, optimistic.cycles) <= _limit()
        reached = T[reach]
        for t, ((s, cols), *_) in per_tensor.items():
            mine = [h for h in decided if h[2] == t]
            if mine and len(reached):
                exact = evaluate_batch(s, reached[:, cols], reuse_rule=ctx.rule, tensors=(t,))
                decided_extra[reach] += link_energy(exact, mine) - link_energy(optimistic, mine)[reach]
        compute = len(ctx.arch.nodes) - 1
        windowed = [h for h in decided if h[1] != compute and windowed_operand(ctx.einsum, ctx.einsum.tensor(h[2]))]
        if windowed and len(reached):   # no best order of their own: their sweep floor
            decided_extra[reach] += window_energy(ctx, dp, F[reach], level, below[0], base_s, take_rows(nc, reach),
                                                  take_rows(optimistic, reach), windowed)
    energy = optimistic.energy + decided_extra
    bound = ctx.objective_of(energy, optimistic.cycles)
    idx = np.nonzero(bound <= _limit())[0]
    if len(idx) and decided:   # then one order per level for all decided hops together: in the cheap pass
        # only where the rows share their decided parts (the lowest is kept per part), else after the splits
        lowest = _decided_lowest(ctx, dp, F[idx], level, below[0], decided, None if thorough else SHARED)
        if lowest is not None:
            bound[idx] = np.maximum(bound[idx], ctx.objective_of(lowest + rest[idx], optimistic.cycles[idx]))
    return bound, decided_extra


def _decided_lowest(ctx: _Context, dp: int, F: np.ndarray, level: int, child: int, decided,
                    shared: int | None = None) -> np.ndarray | None:
    """[B] the lowest energy of the ``decided`` hops (those into levels down to ``child``) over the loop
    orders of the levels above (orders.order_bounds), for partial tilings ``F`` complete down to
    ``level``. It depends only on the loops above ``child``: computed once per
    distinct such part and kept for the search (a task's groups, and the tasks of a dataplacement,
    share most of them). None if fewer than ``shared`` rows per part are new."""
    cols = _decided_cols(ctx, child)
    first, which = unique_rows(F[:, cols])
    keys = [k.tobytes() for k in F[first][:, cols]]
    known = ctx.decided.setdefault((dp, level), {})
    new = [i for i, k in enumerate(keys) if k not in known]
    if shared is not None and len(new) * shared > len(F):
        return None
    if new:
        if len(known) > 200_000:
            known.clear()
        lows = order_bounds(ctx, dp, _rest_innermost(ctx, F[first[new]]), np.zeros(len(new)), decided).bound
        known.update(zip((keys[i] for i in new), lows.tolist()))
    return np.array([known[k] for k in keys])[which]


def _decided_cols(ctx: _Context, child: int) -> list[int]:
    """The slots that decide every hop into levels down to ``child`` once the levels above it are
    complete: the loops above it (their tiles are what is left of the ranks' bounds)."""
    return [k for k, sl in enumerate(ctx.slots) if sl.node < child]


def _complete(ctx: _Context, F: np.ndarray) -> np.ndarray:
    """Partial tilings made complete by giving the outermost level what is left of every rank."""
    F = F.copy()
    for r, bound in ctx.einsum.ranks.items():
        cols = ctx.rank_slots[r]
        outer = ctx.outermost_slot[r]
        F[:, outer] = 1
        F[:, outer] = bound // np.prod(F[:, cols], axis=1)
    return F


def _seed(ctx: _Context, spatial: np.ndarray, width: int = 64, starts: int = 8,
          floor: float = -np.inf, until: float | None = None) -> _Candidate | None:
    """A good first mapping, so that pruning starts at once. From the dataplacement keeping most (its
    buffers hold the most), a beam of partial tilings (the ``width`` lowest bounds kept after every
    slot) gives complete tilings; the best few under uniform loop orders start a local search
    (local.py) that also moves between dataplacements, until it reaches ``floor`` (the lowest bound of
    any group: then it is optimal). It needs no group bound, so a helper runs it while they are
    computed. Measured: one dataplacement's beam starts as well as all eight in a fifth of the time,
    and the one keeping most as well as or better than the one of the lowest group bound (VGG-16
    layer 6,326 vs 6,599 uJ, ResNet-50 3x3/2 908 vs 966 uJ, the 1x1 and matmul the same)."""
    hood = Neighbourhood(ctx, spatial)
    points = []
    dp = max(range(len(ctx.dps)), key=lambda d: (sum(len(v) for v in ctx.dps[d].values()), -d))
    rank = _tiling_bounds(ctx, dp, _complete(ctx, spatial))   # a ranking (the rest outermost), not a bound
    rows = spatial[np.lexsort((np.arange(len(spatial)), rank))[:width]]

    def beam(F, level):   # a ranking, not a bound: the rest in the outermost level ranks better (the beam
        # finishes past the time limit too: a time-limited answer needs a mapping)
        keep = np.zeros(len(F), bool)
        keep[np.lexsort((np.arange(len(F)), _tiling_bounds(ctx, dp, _complete(ctx, F))))[:width]] = True
        return keep
    try:
        T = temporal_tilings(ctx.einsum, ctx.arch, ctx.cons, ctx.slots, ctx.dps[dp], rows, beam)
    except TooManyTilings:
        return None
    for m in range(max(len(menu) for menu in hood.menus)):
        menu = tuple(min(m, len(options) - 1) for options in hood.menus)
        obj = hood.evaluate(dp, menu, T)[0]
        points += [(float(obj[j]), dp, menu, j, T[j]) for j in range(len(T)) if np.isfinite(obj[j])]
    points.sort(key=lambda x: x[:4])
    until = ctx.deadline if until is None else until   # (a helper's seed ends earlier: it must reach the main)
    best = hood.search([(dp, menu, row) for _, dp, menu, _, row in points[:starts]], until, target=floor)
    if best is None or not np.isfinite(best[0]):
        return None
    obj, energy, cycles, dp, menu, row = best
    if not np.isfinite(ctx.objective_of(energy, cycles)):   # over a cycle cap
        return None
    return _Candidate.of(obj, energy, cycles, dp, row, hood.orders(menu, row))


def _tiling_bounds(ctx: _Context, dp: int, T: np.ndarray, joint: bool = False, level: int | None = None,
                   base: BatchCosts | None = None) -> np.ndarray:
    """A bound on the objective valid for every loop order of each tiling.

    A tensor without sliding windows is charged at its best order (the loops that do not index it
    innermost at every level: each of its fills is then as rare as it can be, model/reuse.py), a tensor
    with them as if every word were fetched once.

    ``level``: the rows are partial tilings (``_complete``: what is left of every rank sits in the
    outermost level) whose levels below ``level`` are complete. A real completion may put the rest of a
    rank that does not index a tensor anywhere from ``level`` up, so for that tensor it is charged at
    ``level``, innermost: there it never makes the tensor move (a rank that indexes it multiplies its
    fetches wherever it goes). The optimistic part holds for any completion: tiles only grow.

    ``joint`` (complete tilings only): orders conflict in the outermost level. Its innermost loop
    indexes some tensors, and those save nothing there; so the innermost rank is chosen at its best, and
    for that choice the tensors it indexes are charged at their no-saving order there (their best order
    elsewhere). ``base``: the optimistic costs of ``T`` over all its looping slots, when known."""
    if len(T) == 0:
        return np.zeros(0)
    cols = tuple(int(k) for k in np.nonzero((T > 1).any(axis=0))[0])   # unit loops change nothing
    (base_s, base_cols), per_tensor = _bound_structures_for(ctx, dp, cols, level)
    if base is None:
        base = evaluate_batch(base_s, T[:, base_cols], reuse_rule=ctx.rule, optimistic=True)
    extra = {}   # tensor -> (at its best order, with no saving in the outermost level)
    for name, orders in per_tensor.items():
        X = T
        if level is not None:   # the rest of every rank that does not index the tensor moves to ``level``
            X = T.copy()
            rest = T[:, [ctx.outermost_slot[r] for r in ctx.einsum.ranks]]
            for r in ctx.einsum.ranks:
                if r not in ctx.einsum.tensor(name).ranks:
                    X[:, ctx.outermost_slot[r]] = 1
            X = np.concatenate([X, rest], axis=1)
        extra[name] = [_exact_delta(base, evaluate_batch(s, X[:, c], reuse_rule=ctx.rule, tensors=(name,)), name)
                       for s, c in (orders if joint else orders[:1])]
    charge = sum((pair[0] for pair in extra.values()), np.zeros(len(T)))   # each tensor at its best
    choices = []
    for r in (ctx.einsum.ranks if joint and level is None else ()):
        active = T[:, ctx.outermost_slot[r]] > 1
        if active.any():
            value = sum((nosave if r in ctx.einsum.tensor(name).ranks else best
                         for name, (best, nosave) in extra.items()), np.zeros(len(T)))
            choices.append(np.where(active, value, np.inf))
    if choices:
        some = np.isfinite(np.min(choices, axis=0))
        charge = np.where(some, np.min(choices, axis=0), charge)
    return ctx.objective_of(base.energy + charge, base.cycles)


def _group_bounds(ctx: _Context, dp: int, spatial: np.ndarray, pairs: bool = False) -> np.ndarray:
    """A bound for every tiling and order of each spatial choice of a dataplacement: the larger of
    _tiling_bounds (all temporal loops outermost) and the merged-level floor of completion.merged_energy
    (the buffers under the innermost fanout hold what they can; the levels above share one free order;
    with ``pairs`` the two innermost ranks there are chosen, not only the innermost)."""
    return _group_parts(ctx, dp, spatial, pairs)[0]


def _group_parts(ctx: _Context, dp: int, spatial: np.ndarray, pairs: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(_group_bounds, the part of the merged-level floor outside the hops into the merged levels:
    a floor for the energy of everything else, whatever the factors above the PE array; -inf where
    there is none). _merged_floor adds it to the decided hops' lowest energy."""
    T = _complete(ctx, spatial)
    if len(T) == 0:
        return np.zeros(0), np.zeros(0)
    cols = tuple(int(k) for k in np.nonzero((T > 1).any(axis=0))[0])
    (s, base_cols), _ = _bound_structures_for(ctx, dp, cols, ctx.innermost)
    nc = count_accesses(s, T[:, base_cols], ctx.rule, optimistic=True)
    optimistic = costs(s, nc)   # shared by both bounds
    bound = _tiling_bounds(ctx, dp, T, level=ctx.innermost, base=optimistic)
    if ctx.merge_level is None:
        return bound, np.full(len(T), -np.inf)
    energy = optimistic.energy + merged_energy(ctx, dp, spatial, ctx.merge_level, s, nc, optimistic, pairs)
    upper = [h for h in links(ctx, dp) if h[1] <= ctx.merge_level]   # merged_energy adds nothing to these
    return np.maximum(bound, ctx.objective_of(energy, optimistic.cycles)), \
        energy - link_energy(optimistic, upper)


def _exact_delta(base, exact, tensor: str, mask=slice(None)) -> np.ndarray:
    """One tensor's exact energy (``exact``) minus its optimistic energy in ``base`` (rows ``mask``)."""
    return sum((value - base.tensor_energy[key][mask] for key, value in exact.tensor_energy.items()
                if key[1] == tensor), np.zeros(len(base.energy[mask])))


def _bound_structures_for(ctx: _Context, dp: int, cols: tuple[int, ...], level: int | None = None):
    """_bound_structures, built once per dataplacement, set of looping slots and growing level."""
    key = (dp, cols, level)
    if key not in ctx.bound_structures:
        ctx.bound_structures[key] = _bound_structures(ctx, dp, cols, level)
    return ctx.bound_structures[key]


def _bound_structures(ctx: _Context, dp: int, cols: tuple[int, ...], level: int | None):
    """The loop structures _tiling_bounds evaluates: all loops in slot order (optimistic), and per
    tensor without sliding windows its best order (loops indexing it outermost at every level) and the
    same with the loops indexing it innermost in the outermost level. With ``level``, per tensor one
    more loop per rank not indexing it sits innermost in ``level`` (columns after the slots, in rank
    order: _tiling_bounds appends what is left of every rank)."""
    kept = ctx.dps[dp]
    loops = [(ctx.slots[k].node, ctx.slots[k].rank, ctx.slots[k].axis) for k in cols]
    base = build_structure(ctx.einsum, ctx.arch, loops, kept), np.array(cols, np.int64)
    outer = ctx.storages[0]
    per_tensor = {}
    for t in ctx.einsum.tensors:
        if not window_free(ctx.einsum, t):
            continue
        mine, mine_cols = list(loops), list(cols)
        if level is not None:
            for j, r in enumerate(ctx.einsum.ranks):
                if r not in t.ranks:
                    mine.append((level, r, None))
                    mine_cols.append(len(ctx.slots) + j)
        orders = []
        for flip in ((False,) if level is not None else (False, True)):
            def key(j):
                node, rank = mine[j][0], mine[j][1]
                return node, (rank not in t.ranks) != (flip and node == outer), j >= len(loops)
            first = sorted(range(len(mine)), key=key)
            orders.append((build_structure(ctx.einsum, ctx.arch, [mine[j] for j in first], kept),
                           np.array([mine_cols[j] for j in first], np.int64)))
        per_tensor[t.name] = orders
    return base, per_tensor


def _run_chunk(task, per_row):
    """Evaluate every canonical order of every tiling in a chunk; return the best and the counts."""
    dp, rows, bounds = task
    ctx = _CTX
    keep = bounds <= _limit() if ctx.objective != "pareto" else np.ones(len(bounds), bool)
    rows, bounds = rows[keep], bounds[keep]
    pruned = int(per_row[~keep].sum())
    if ctx.objective == "energy" and ctx.cap is None:   # per-level order tables (a cap needs every order)
        best, tables, exact = _best_orders(ctx, dp, rows, bounds)
        return best, [], tables + exact, pruned + max(int(per_row[keep].sum()) - exact, 0)
    best: _Candidate | None = None
    front: list[_Candidate] = []
    evaluated = 0
    active_all = rows > 1
    first, inverse = unique_rows(active_all)
    patterns = active_all[first]
    for p_index, active in enumerate(patterns):
        if ctx.late():
            break
        members = rows[inverse.reshape(-1) == p_index]
        per_level = _level_active(ctx, active)
        choices = [level_orders(ctx.einsum, act, ctx.cons.at(ctx.arch.nodes[i].name).permutation)
                   for i, act in zip(ctx.storages, per_level)]
        if ctx.objective == "pareto":
            combos = ((c, None) for c in itertools.product(*choices))
        else:
            combos = _pruned_combos(ctx, dp, active, members, per_level, choices, lambda: best)
        for combo, rows_mask in combos:
            rows_here = members if rows_mask is None else members[rows_mask]
            s, cols = cached_structure(ctx, dp, combo, active)
            c = evaluate_batch(s, rows_here[:, cols], reuse_rule=ctx.rule)
            evaluated += len(rows_here)
            obj = ctx.objective_of(c.energy, c.cycles)
            obj = np.where(c.valid, obj, np.inf)
            if ctx.objective == "pareto":
                for j in np.nonzero(c.valid)[0]:
                    front.append(_Candidate((c.energy[j], c.cycles[j], dp, tuple(rows_here[j])), float(c.energy[j]),
                                            float(c.cycles[j]), dp, tuple(int(x) for x in rows_here[j]), combo))
                front = _pareto(front)
                continue
            j = int(np.argmin(obj))
            if not np.isfinite(obj[j]):
                continue
            for j in np.nonzero(obj == obj[j])[0]:
                cand = _Candidate.of(obj[j], c.energy[j], c.cycles[j], dp, rows_here[j], combo)
                if best is None or cand.key < best.key:
                    best = _share(cand)
    return best, front, evaluated, pruned + max(int(per_row[keep].sum()) - evaluated, 0)


def _best_orders(ctx: _Context, dp: int, T: np.ndarray, bounds: np.ndarray):
    """The lowest-energy loop orders of complete tilings (orders.py): per-level minima give a bound
    reached whenever no sliding window pays a stride change; tilings are visited in bound order, the
    orders reaching the bound evaluated exactly, and only when those cost more are the combinations of
    orders walked, each pruned by the same per-level tables. Returns (best, mappings evaluated for the
    tables, mappings evaluated exactly)."""
    if len(T) == 0:
        return None, 0, 0
    (base_s, base_cols), _ = _bound_structures_for(ctx, dp, tuple(range(len(ctx.slots))))
    optimistic = evaluate_batch(base_s, T[:, base_cols], reuse_rule=ctx.rule, optimistic=True)
    ob = order_bounds(ctx, dp, T, optimistic.energy - link_energy(optimistic, links(ctx, dp)))
    evaluated = 0
    bound = np.where(optimistic.valid, np.maximum(ob.bound, bounds), np.inf)
    choice = ob.best_choice()
    best: _Candidate | None = None
    walk = []
    visit = np.lexsort(tuple(T.T[::-1]) + (bound,))   # ties in the tie-break's order: the first prunes the rest
    start, size = 0, 1
    while start < len(visit):   # in bound order, blocks of 1, 2, 4, ... rows (the first finds a best that
        # prunes the next; rows sharing their orders share a model call)
        block = [int(i) for i in visit[start:start + size]
                 if bound[i] <= _limit(best) and not _loses_tie(ctx, best, bound[i], optimistic.cycles[i], dp, T[i])]
        start, size = start + size, min(EXACT_BLOCK, 2 * size)
        if ctx.late() or not block:   # sorted: the rest are out of reach too
            break
        by_orders: dict[tuple, list[int]] = {}
        for idx in block:
            by_orders.setdefault(ob.orders(idx, tuple(choice[idx])), []).append(idx)
        for orders, members in by_orders.items():
            for idx, cand in zip(members, _exact_rows(ctx, dp, T[members], orders)):
                evaluated += 1
                if cand is not None and (best is None or cand.key < best.key):
                    best = _share(cand)
                if cand is None or cand.energy > bound[idx] * (1 + 1e-9):
                    walk.append(idx)
    for idx in walk:   # a sliding window paid a stride change: try the other orders
        if ctx.late() or bound[idx] > _limit(best):
            continue
        first = ob.orders(idx, tuple(choice[idx]))   # evaluated above
        for orders in _walk_orders(ob, idx, lambda: _limit(best)):
            if orders == first:
                continue
            cand = _exact(ctx, dp, T[idx], orders)
            evaluated += 1
            if cand is not None and (best is None or cand.key < best.key):
                best = _share(cand)
    return best, ob.evaluations, evaluated


def _loses_tie(ctx: _Context, best: _Candidate | None, energy: float, cycles: float, dp: int, row) -> bool:
    """Whether a mapping (dataplacement ``dp``, factors ``row``) of energy at least ``energy`` and
    cycles at least ``cycles`` must lose to ``best`` under the energy objective: at best's energy, ties
    go to fewer cycles, then to the smaller (dataplacement, factors). Then it needs no evaluation.
    Energies within TIE of each other are one energy (the bound sums the same terms in another order)."""
    if best is None or ctx.objective != "energy" or ctx.cap is not None or energy < best.energy * (1 - TIE):
        return False
    later = (dp, tuple(int(x) for x in row)) > (best.dp, best.factors)
    return cycles > best.cycles or (cycles >= best.cycles and later)


def _exact(ctx: _Context, dp: int, row: np.ndarray, orders) -> _Candidate | None:
    """One complete mapping evaluated by the model (None if invalid)."""
    return _exact_rows(ctx, dp, row[None, :], orders)[0]


def _exact_rows(ctx: _Context, dp: int, rows: np.ndarray, orders) -> list[_Candidate | None]:
    """Complete tilings under the same loop orders, evaluated by the model in one call (None if invalid)."""
    s, cols = cached_structure(ctx, dp, orders)
    c = evaluate_batch(s, rows[:, cols], reuse_rule=ctx.rule)
    return [_Candidate.of(ctx.objective_of(c.energy[j], c.cycles[j]), c.energy[j], c.cycles[j], dp, rows[j], orders)
            if c.valid[j] else None for j in range(len(rows))]


def _share(cand: _Candidate) -> _Candidate:
    """Publish a new best to the other workers."""
    if _BEST is not None and cand.key[0] < _BEST.value:
        with _BEST.get_lock():
            _BEST.value = min(_BEST.value, cand.key[0])
    return cand


def _walk_orders(ob: OrderBounds, row: int, limit):
    """Combinations of one tiling's level orders (outermost level first) whose per-level bound does
    not exceed ``limit()``."""
    deltas = [t.deltas[t.group[row]][t.position[row]] for t in ob.tables]
    lows = [float(d.min()) for d in deltas]

    def walk(j, chosen, value):
        if j == len(deltas):
            yield ob.orders(row, tuple(chosen))
            return
        rest = sum(lows[j + 1:])
        for m in np.argsort(deltas[j], kind="stable"):
            if value + deltas[j][m] + rest > limit() * (1 + 1e-12):
                break
            yield from walk(j + 1, chosen + [int(m)], value + deltas[j][m])
    yield from walk(0, [], float(ob.base[row]))


def _pruned_combos(ctx: _Context, dp: int, active: np.ndarray, members: np.ndarray, per_level, choices, best_now):
    """Loop orders level by level, outermost first (measured: fixing outer orders first prunes more),
    each partial choice bounded by charging every tensor its best order at the levels still open (see
    _tiling_bounds); yields (orders, row mask) for complete choices whose bound does not exceed the best
    cost found so far."""
    einsum = ctx.einsum
    (base_s, base_cols), _ = _bound_structures_for(ctx, dp, tuple(range(len(ctx.slots))))
    base = evaluate_batch(base_s, members[:, base_cols], reuse_rule=ctx.rule, optimistic=True)
    plain = [t for t in einsum.tensors if window_free(einsum, t)]
    best_for = {t.name: tuple(tuple(sorted(act, key=lambda r: r not in t.ranks)) for act in per_level) for t in plain}
    n = len(choices)

    def bound(chosen, mask):
        rows = members[mask]
        energy = base.energy[mask].copy()
        for t in plain:
            combo = tuple(chosen.get(j, best_for[t.name][j]) for j in range(n))
            s, cols = cached_structure(ctx, dp, combo, active)
            energy += _exact_delta(base, evaluate_batch(s, rows[:, cols], reuse_rule=ctx.rule, tensors=(t.name,)),
                                   t.name, mask)
        return ctx.objective_of(energy, base.cycles[mask])

    def walk(chosen, mask):
        depth = len(chosen)
        if depth == n:
            yield tuple(chosen[j] for j in range(n)), mask
            return
        level = depth
        for order in choices[level]:
            if ctx.late():
                return
            new = {**chosen, level: order}
            if depth + 1 < n and plain and len(choices[level]) > 1:
                lb = bound(new, mask)
                sub = mask.copy()
                sub[mask] = lb <= _limit(best_now())
                if not sub.any():
                    continue
            else:
                sub = mask
            yield from walk(new, sub)

    yield from walk({}, np.ones(len(members), bool))


def _pareto(points: list, order=lambda c: (c.energy, c.cycles, c.key[2:])) -> list:
    """Non-dominated (energy, cycles) points, one per distinct pair (the first in ``order``, which
    starts with energy and cycles: by default the smallest key of _Candidates)."""
    out, best_cycles = [], np.inf
    for c in sorted(points, key=order):
        cycles = order(c)[1]
        if cycles < best_cycles:
            out.append(c)
            best_cycles = cycles
    return out


def _mapping(ctx: _Context, cand: _Candidate) -> Mapping:
    kept = ctx.dps[cand.dp]
    by_level = dict(zip(ctx.storages, cand.orders))
    factor = {(s.node, s.rank, s.axis): f for s, f in zip(ctx.slots, cand.factors)}
    nodes = []
    for i, node in enumerate(ctx.arch.nodes):
        if isinstance(node, Storage):
            loops = tuple(Loop(r, factor[(i, r, None)]) for r in by_level[i])
            nodes.append(NodeMapping(node.name, loops, frozenset(t for t, lv in kept.items() if i in lv)))
        elif isinstance(node, Fanout):
            loops = tuple(Loop(s.rank, factor[(s.node, s.rank, s.axis)], s.axis) for s in ctx.slots
                          if s.node == i and s.axis is not None and factor[(s.node, s.rank, s.axis)] > 1)
            nodes.append(NodeMapping(node.name, loops))
    return Mapping(tuple(nodes))


def map_einsum(einsum: Einsum, arch: Architecture, constraints: Constraints | None = None, *,
               objective: str = "energy", time_limit: float | None = None, workers: int | None = None,
               reuse_rule: str = "2024", chunk: int = 2048, rows_per_task: int = 16,
               progress: bool = False, limit: float = np.inf, cap: float | None = None,
               strict: bool = False, deadline: float | None = None, effort: int | None = None,
               incumbents: bool = True, hard: float | None = None) -> MapResult:
    """The optimal mapping of one Einsum (or the Pareto front of energy and cycles). ``limit``: only a
    mapping whose objective is below it is wanted (another search has one): none may be returned.
    Constraints allowing imperfect factorization search the padded bounds (imperfect.py); the cycles
    objective is two searches (_cycles_then_energy). ``cap`` and ``strict``: see _Context.
    ``deadline`` (time.time()) and ``time_limit`` (seconds from now) stop the search, whatever stage it
    is in, with the best found (lifetime.margins: the search works to a little before it and is stopped
    hard, lifetime.hard_stop, a little after, or at ``hard``); ``effort`` searches at most that many groups,
    lowest bounds first, so the answer is the same on any machine (effort.py). A bounded unconstrained
    search is seeded by the named dataflows' optima (incumbent.py; ``incumbents=False``: not)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    start = time.perf_counter()
    end = stop_time(time_limit, deadline)
    cons = resolve_roles(constraints or Constraints(), einsum)
    check(cons, einsum, arch)
    options = dict(time_limit=time_limit, workers=workers, reuse_rule=reuse_rule, chunk=chunk,
                   rows_per_task=rows_per_task, progress=progress, deadline=end, effort=effort, hard=hard)
    if cons.imperfect:
        from einloop.mapper.imperfect import map_padded
        return map_padded(einsum, arch, cons, objective=objective, **options)
    if objective == "cycles" and not strict:
        return _cycles_then_energy(einsum, arch, cons, **options)
    if incumbents and not strict and cap is None and limit == np.inf and incumbent.wanted(cons, objective, end, effort):
        return incumbent.with_incumbent(einsum, arch, cons, objective=objective, **options)
    cons = expand_dataflow(cons, einsum, arch)
    impossible = ruled_out(einsum, arch, cons)
    if impossible:   # proven before any search: nothing fits (the result says what rules it out)
        return MapResult(einsum, None, None, SearchStats(seconds=time.perf_counter() - start), note=impossible)
    slot_list = slots(einsum, arch, cons)
    dps = dataplacements(einsum, arch, cons)
    soft, stop = (None, None) if end is None else margins(end)
    ctx = _Context(einsum, arch, cons, slot_list, dps, objective, reuse_rule, chunk, soft)
    ctx.cap, ctx.strict = cap, strict
    stats = SearchStats(dataplacements=len(dps))
    spatial = spatial_tilings(einsum, arch, cons, slot_list)
    _init(ctx, None)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    mp_ctx = process_context()
    stats.groups = len(dps) * len(spatial)
    saved = (_CTX, _BEST, _CLAIMS)   # restored after: a nested search's context, or none (its caches freed)
    run = _Run()
    bar = Progress(progress, f"mapping {einsum.name}", "group")
    try:
        with hard_stop(stop if hard is None else hard):
            _search(ctx, run, stats, spatial, mp_ctx, workers, rows_per_task, limit, strict, effort, bar)
    except TimeUp:
        stats.proven_optimal = False
        run.collect()
    finally:
        run.close()
        bar.close()
        _init(*saved)
    if ctx.late():   # some group may have stopped early
        stats.proven_optimal = False
    if not stats.proven_optimal and not stats.stopped:
        stats.stopped = "time limit reached" if ctx.late() else "effort budget reached" if effort else \
            "groups too large to enumerate" if stats.groups_skipped else "search stopped"
    stats.seconds = time.perf_counter() - start
    if objective == "pareto":
        if run.best is not None:   # the seed (lowest energy it found): a point until the front dominates it
            b = run.best
            run.front = _pareto(run.front + [_Candidate((b.energy, b.cycles, b.dp, b.factors), b.energy, b.cycles,
                                                        b.dp, b.factors, b.orders)])
        pareto = [(m, evaluate(einsum, arch, m, reuse_rule=reuse_rule)) for m in (_mapping(ctx, c) for c in run.front)]
        first = pareto[0] if pareto else (None, None)
        return MapResult(einsum, first[0], first[1], stats, pareto)
    if run.best is not None and run.best.key[0] >= limit:   # (a seed the time limit left unchecked)
        run.best = None
    if run.best is None:
        return MapResult(einsum, None, None, stats)
    mapping = _mapping(ctx, run.best)
    return MapResult(einsum, mapping, evaluate(einsum, arch, mapping, reuse_rule=reuse_rule), stats)


@dataclass
class _Run:
    """What one search has found so far, and the processes it runs (closed whatever happens)."""
    best: _Candidate | None = None
    front: list = field(default_factory=list)
    pools: list = field(default_factory=list)
    seeded: object = None      # the helper's seed (an AsyncResult) until it is collected

    def collect(self) -> None:
        """After a hard stop: the helper's seed if it is ready and nothing better is known."""
        if self.seeded is not None:
            self.seeded.wait(SEED_WAIT)
        if self.seeded is not None and self.seeded.ready() and self.seeded.successful():
            seed = self.seeded.get()
            if seed is not None and (self.best is None or seed.key < self.best.key):
                self.best = seed
        self.seeded = None

    def close(self) -> None:
        """Terminate every pool of the search (their workers are gone when this returns)."""
        for pool in self.pools:
            pool.terminate()
        for pool in self.pools:
            pool.join()
        self.pools = []


def _search(ctx: _Context, run: _Run, stats: SearchStats, spatial: np.ndarray, mp_ctx, workers: int,
            rows_per_task: int, limit: float, strict: bool, effort: int | None, bar) -> None:
    """The stages of map_einsum: group bounds and seed (a helper process beside), then the tasks,
    serially or on one pool per worker; what is found is kept in ``run``."""
    objective, dps = ctx.objective, ctx.dps
    claims = mp_ctx.Array("i", [0, len(dps)])
    helper = None
    if workers > 1 and len(dps) > 1 and stats.groups >= HELPED_GROUPS:
        helper = mp_ctx.Pool(1, initializer=_worker, initargs=(ctx, None, claims, os.getpid()))
        run.pools.append(helper)
    # a second core seeds, then bounds dataplacements (two calls: the seed is kept even if the time
    # runs out while the bounds are computed)
    seeded = helper.apply_async(_helper_seed, (spatial, True)) if helper is not None else None
    helped = helper.apply_async(_helper_bounds, (spatial,)) if helper is not None else None
    run.seeded = seeded
    early = helper is None and ctx.deadline is not None   # (pareto: the seed is a first point of the front)
    if early:   # time-limited, no helper: a mapping before the group bounds (they may take longer than
        # the limit: 283 s on the tl06 exercise, whose seed takes 0.8 s)
        run.best = _seed(ctx, spatial)
    bounds = _bound_groups(ctx, spatial, stats, claims)
    seed = None
    if helped is not None:
        seed = run.best = _get(seeded)
        run.seeded = None
        bounds = dict(sorted({**bounds, **_get(helped)}.items()))
    if len(bounds) < len(dps):   # the time limit stopped the bounds: groups never searched
        stats.proven_optimal = False
    tasks = _tasks(bounds, spatial, rows_per_task)
    if objective != "pareto" and (not tasks or float(tasks[0][2][0]) <= limit):
        floor = float(tasks[0][2][0]) if stats.proven_optimal and tasks else -np.inf
        if not early:
            run.best = seed if helped is not None else _seed(ctx, spatial, floor=floor)
        if run.best is not None and run.best.key[0] >= limit:
            run.best = None
    run.close()
    tasks, skipped = within_effort(tasks, effort)
    if skipped:
        stats.proven_optimal = False   # unless every skipped group is beaten (below)
    _run_tasks(ctx, run, stats, tasks, mp_ctx, workers, limit, strict, bar)
    if skipped and objective != "pareto" and run.best is not None and \
            all(t[2][0] > _bar(run.best.key[0], strict) for t in skipped) and not ctx.late():
        stats.groups_pruned += sum(len(t[1]) for t in skipped)
        stats.proven_optimal = stats.groups_skipped == 0 and len(bounds) == len(dps)


def _get(async_result):
    """An async result; past the time limit a worker that may still be busy is waited for in short steps
    (the hard stop, lifetime.hard_stop, ends the wait)."""
    while True:
        try:
            return async_result.get(timeout=0.1)
        except mp.TimeoutError:
            continue
        except TimeUp:
            raise
        except Exception as err:
            raise WorkerFailed(f"{type(err).__name__}: {err}") from err


def _run_tasks(ctx: _Context, run: _Run, stats: SearchStats, tasks: list, mp_ctx, workers: int, limit: float,
               strict: bool, bar) -> None:
    """The tasks (runs of groups) in bound order, serially or two in flight per worker; each result
    absorbed into ``run`` and ``stats``. Past the deadline no task is started; those in flight stop at
    their next check and report what they found."""
    objective = ctx.objective

    def best_value() -> float:   # shared with the workers as is: their _limit applies ``strict``
        return min(limit, run.best.key[0] if run.best is not None else np.inf)
    live = sum(1 for t in tasks if objective == "pareto" or t[2][0] <= _bar(best_value(), strict))
    use_pool = workers > 1 and live > 1   # one task left: no second core to share it with
    shared = mp_ctx.Value("d", best_value()) if use_pool and objective != "pareto" else None
    pools = [mp_ctx.Pool(1, initializer=_worker, initargs=(ctx, shared, None, os.getpid()))
             for _ in range(workers)] if use_pool else []
    run.pools += pools   # forked now: the workers inherit what bounding and seeding cached
    bar.start(len(tasks))

    def absorb(out):
        cand, fr, n_eval, n_pruned, n_tilings, n_space, groups_pruned = out
        stats.evaluated += n_eval
        stats.pruned += n_pruned
        stats.tilings += n_tilings
        stats.mapspace += n_space
        if groups_pruned is None:
            stats.proven_optimal = False
            stats.groups_skipped += 1
        else:
            stats.groups_pruned += groups_pruned
        if cand is not None and cand.key[0] < limit and (run.best is None or cand.key < run.best.key):
            run.best = cand
        if fr:
            run.front = _pareto(run.front + fr)
        bar.update(1)

    def beaten(task) -> bool:
        return objective != "pareto" and task[2][0] > _bar(best_value(), strict)

    if not pools:
        for k, task in enumerate(tasks):
            if ctx.late():
                stats.proven_optimal = False
                break
            if beaten(task):   # sorted: the rest too
                stats.groups_pruned += sum(len(t[1]) for t in tasks[k:])
                break
            absorb(_run_group_serial(task, best_value()))
        return
    queues = _by_placement(tasks, len(pools))
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    outstanding = [0] * len(pools)

    def feed(w: int) -> None:   # two tasks in flight per worker: its own first, else another's
        while outstanding[w] < 2 and not ctx.late():
            mine = queues[w] or max(queues, key=len)
            if not mine:
                return
            if beaten(mine[0]):   # each queue is sorted: the rest of it too
                stats.groups_pruned += sum(len(t[1]) for t in mine)
                mine.clear()
                continue
            pools[w].apply_async(_run_group, (mine.popleft(),), callback=lambda out: inbox.put((w, out)),
                                 error_callback=lambda err: inbox.put((w, err)))
            outstanding[w] += 1

    for w in range(len(pools)):
        feed(w)
    while any(outstanding):
        try:   # past the deadline the tasks in flight stop at their next check: their answers still count
            w, out = inbox.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(out, BaseException):
            raise WorkerFailed(f"{type(out).__name__}: {out}") from out
        outstanding[w] -= 1
        absorb(out)
        if ctx.late():
            stats.proven_optimal = False
        feed(w)
    if any(queues):
        stats.proven_optimal = False


def _cycles_then_energy(einsum: Einsum, arch: Architecture, cons: Constraints, *, time_limit: float | None,
                        **options) -> MapResult:
    """The fewest cycles, ties to the lowest energy. Many mappings share the fewest cycles (every one
    that fills the array without stalls), and one search would evaluate every one to break the tie.
    So: the fewest cycles, where only strictly fewer matter (cycles are integers: ties pruned); then
    the lowest energy with at most that many cycles (a cycle cap prunes by the cycle floors), among
    which the first search's mapping is (at its energy, a smaller key may win: determinism)."""
    start = time.perf_counter()
    first = map_einsum(einsum, arch, cons, objective="cycles", strict=True, time_limit=time_limit, **options)
    if first.result is None:
        return first
    left = None if time_limit is None else max(0.01, time_limit - (time.perf_counter() - start))
    second = map_einsum(einsum, arch, cons, objective="energy", cap=first.result.cycles, time_limit=left,
                        limit=first.result.energy * (1 + 1e-9), **options)
    stats = first.stats
    stats.add(second.stats)
    stats.seconds = time.perf_counter() - start
    best = second if second.result is not None else first   # the cap keeps it at the fewest cycles
    return MapResult(einsum, best.mapping, best.result, stats)


def _by_placement(tasks: list, workers: int) -> list[collections.deque]:
    """The tasks in one queue per worker, each dataplacement's in one queue (its workers keep what
    they cache per dataplacement: the decided hops' lowest energies, the splits), dataplacements
    given, the largest first, to the queue with the fewest groups; each queue in the tasks' order."""
    size: dict[int, int] = collections.Counter()
    for task in tasks:
        size[task[0]] += len(task[1])
    load, home = [0] * workers, {}
    for dp in sorted(size, key=lambda d: (-size[d], d)):
        home[dp] = min(range(workers), key=lambda w: (load[w], w))
        load[home[dp]] += size[dp]
    queues = [collections.deque() for _ in range(workers)]
    for task in tasks:
        queues[home[task[0]]].append(task)
    return queues


def process_context():
    """Processes for pools: forked where the system can (workers inherit the search context)."""
    return mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()


def _bound_groups(ctx: _Context, spatial: np.ndarray, stats: SearchStats, claims,
                  back: bool = False) -> dict[int, tuple]:
    """Per dataplacement, the bound of each spatial choice (a group: _group_bounds, valid for every
    tiling and order in it, so groups are pruned before their tilings are enumerated) and the floor of
    what is outside the merged levels' hops (_group_parts). The dataplacements are claimed one at a
    time from ``claims`` ([next, end]: shared with a helper, which claims from the ``back``), so
    neither process waits for more than one."""
    bounds, took = {}, 0.0
    while True:
        if ctx.late(took):   # (the next dataplacement would likely end past the deadline)
            stats.proven_optimal = False
            return bounds
        with claims.get_lock():
            if claims[0] >= claims[1]:
                return bounds
            if back:
                claims[1] -= 1
                dp = claims[1]
            else:
                dp = claims[0]
                claims[0] += 1
        began = time.time()
        bounds[dp] = _group_parts(ctx, dp, spatial)
        took = max(took, time.time() - began)


def _tasks(bounds: dict[int, tuple], spatial: np.ndarray, rows_per_task: int) -> list:
    """The groups as tasks (dataplacement, spatial choices, their bounds and _group_parts floors): runs
    of groups of one dataplacement in bound order, 1, 2, 4, ... up to ``rows_per_task`` groups (the few
    best groups, searched first and alone, prune the bigger tasks), all sorted by their lowest bound."""
    tasks = []
    for dp, (bound, rest) in bounds.items():
        order = np.lexsort((np.arange(len(spatial)), bound))
        k, size = 0, 1
        while k < len(order):
            part = order[k:k + size]
            tasks.append((dp, spatial[part], bound[part], rest[part]))
            k, size = k + size, min(rows_per_task, 2 * size)
    tasks.sort(key=lambda t: (float(t[2][0]), t[0], tuple(t[1][0])))
    return tasks


def _helper_seed(spatial: np.ndarray, seed: bool) -> _Candidate | None:
    """On a helper process: the seed (no group bound known yet: no floor to stop at), its local search
    ending a little before the deadline (10%, at least 0.5 s) so that it reaches the main process."""
    ctx = _CTX
    until = None if ctx.deadline is None else ctx.deadline - max(0.5, 0.1 * (ctx.deadline - time.time()))
    return _seed(ctx, spatial, until=until) if seed else None


def _helper_bounds(spatial: np.ndarray) -> dict[int, tuple]:
    """On a helper process, after the seed: group bounds of the dataplacements the main process has
    not claimed, from the back."""
    return _bound_groups(_CTX, spatial, SearchStats(), _CLAIMS, back=True)


def _run_group_serial(task, best_value: float):
    """_run_group in this process, pruning against the caller's best."""
    global _BEST

    class _Fixed:
        value = best_value

        @staticmethod
        def get_lock():
            return contextlib.nullcontext()
    saved, _BEST = _BEST, _Fixed()
    try:
        return _run_group(task)
    finally:
        _BEST = saved
