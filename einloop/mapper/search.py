"""The mapper: exact branch and bound over dataplacements, tilings and loop orders.

1. Enumerate every valid tiling of every dataplacement (space.py; capacity and mesh pruned).
2. Give each tiling a lower bound valid for all its loop orders: the model with every tile fetched
   exactly once per distinct word (count_accesses(optimistic=True)), vectorized over all tilings.
3. Visit tilings in increasing bound order, in chunks; in a chunk, evaluate every canonical loop order
   of every tiling exactly (vectorized per loop structure), and stop when the next bound exceeds the
   best cost found. Nothing better can remain, so the result is optimal for the constraints.

Chunks run on a process pool (both cores) sharing the best cost for pruning. Ties are broken by a
fixed key, so the same input always gives the same mapping. With a time limit the best mapping so far
is returned and marked as not proven optimal.
"""
from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field

import numpy as np

from einloop.mapper.constraints import Constraints, check, expand_dataflow, resolve_roles
from einloop.mapper.space import TooManyTilings, count_orders, dataplacements, level_orders, slots, spatial_tilings, temporal_tilings
from einloop.model.evaluate import evaluate, evaluate_batch
from einloop.model.nest import build_structure
from einloop.model.result import Result
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.workload import Einsum

OBJECTIVES = ("energy", "cycles", "edp", "pareto")


@dataclass
class SearchStats:
    mapspace: int = 0          # tilings x canonical loop orders in the groups that were enumerated
    dataplacements: int = 0
    groups: int = 0            # (dataplacement, spatial factors) pairs
    groups_pruned: int = 0     # groups whose bound exceeded the best: never enumerated
    groups_skipped: int = 0    # groups too large to enumerate in memory (then not proven optimal)
    tilings: int = 0
    evaluated: int = 0         # complete mappings evaluated exactly
    pruned: int = 0            # mappings of enumerated groups never evaluated: their bound exceeded the best
    seconds: float = 0.0
    proven_optimal: bool = True


@dataclass
class MapResult:
    einsum: Einsum
    mapping: Mapping | None
    result: Result | None
    stats: SearchStats
    pareto: list[tuple[Mapping, Result]] = field(default_factory=list)


@dataclass
class _Candidate:
    key: tuple                 # (objective, energy, cycles, dataplacement, factors..., order index)
    energy: float
    cycles: float
    dp: int
    factors: tuple[int, ...]
    orders: tuple[tuple[str, ...], ...]


class _Context:
    """Everything a worker needs, set once per process."""

    def __init__(self, einsum, arch, cons, slot_list, dps, objective, rule, chunk, deadline=None):
        self.einsum, self.arch, self.cons, self.slots, self.dps = einsum, arch, cons, slot_list, dps
        self.objective, self.rule, self.chunk = objective, rule, chunk
        self.deadline = deadline   # time.time() after which searches stop and report what they have
        self.storages = [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]
        self.structures: dict = {}
        self.slot_index = {(sl.node, sl.rank, sl.axis): k for k, sl in enumerate(slot_list)}

    def late(self) -> bool:
        return self.deadline is not None and time.time() > self.deadline


_CTX: _Context | None = None
_BEST = None


def _init(ctx, best):
    global _CTX, _BEST
    _CTX, _BEST = ctx, best


def _objective(name: str, energy, cycles):
    return {"energy": energy, "cycles": cycles, "edp": energy * cycles, "pareto": energy}[name]


def _structure_for(ctx: _Context, dp: int, active: np.ndarray, orders):
    """The loop structure of one pattern of active slots and one order per storage level (cached:
    the bounds revisit the same structures for many row subsets)."""
    key = (dp, active.tobytes(), orders)
    hit = ctx.structures.get(key)
    if hit is None:
        if len(ctx.structures) > 20000:
            ctx.structures.clear()
        hit = ctx.structures[key] = _build_structure_for(ctx, dp, active, orders)
    return hit


def _build_structure_for(ctx: _Context, dp: int, active: np.ndarray, orders):
    loops, cols = [], []
    by_level = dict(zip(ctx.storages, orders))
    for i, node in enumerate(ctx.arch.nodes):
        if isinstance(node, Storage):
            for r in by_level[i]:
                k = ctx.slot_index[(i, r, None)]
                loops.append((i, r, None))
                cols.append(k)
        elif isinstance(node, Fanout):
            for k, s in enumerate(ctx.slots):
                if s.node == i and s.axis is not None and active[k]:
                    loops.append((i, s.rank, s.axis))
                    cols.append(k)
    return build_structure(ctx.einsum, ctx.arch, loops, ctx.dps[dp]), np.array(cols, np.int64)


def _level_active(ctx: _Context, active: np.ndarray) -> list[tuple[str, ...]]:
    return [tuple(s.rank for k, s in enumerate(ctx.slots) if s.node == i and s.axis is None and active[k])
            for i in ctx.storages]


def _run_group(task):
    """Enumerate the tilings of one (dataplacement, spatial factors) group and evaluate them in bound order."""
    dp, spatial_row, bound = task
    ctx = _CTX
    if _BEST is not None and bound > _BEST.value:
        return None, [], 0, 0, 0, 0, True
    try:
        T = temporal_tilings(ctx.einsum, ctx.arch, ctx.cons, ctx.slots, ctx.dps[dp], spatial_row)
    except TooManyTilings:   # skipped: the result can no longer be called optimal
        return None, [], 0, 0, 0, 0, None
    if len(T) == 0:
        return None, [], 0, 0, 0, 0, False
    pats, inv = np.unique(T > 1, axis=0, return_inverse=True)
    counts = np.array([np.prod([count_orders(ctx.einsum, act, ctx.cons.at(ctx.arch.nodes[i].name).permutation)
                                for i, act in zip(ctx.storages, _level_active(ctx, p))]) for p in pats])
    per_row = counts[inv.reshape(-1)]
    bounds = _tiling_bounds(ctx, dp, T)
    order = np.lexsort((np.arange(len(T)), bounds))
    T, bounds, per_row = T[order], bounds[order], per_row[order]
    best, front, evaluated, pruned = None, [], 0, 0
    chunk = ctx.chunk
    for k in range(0, len(T), chunk):
        if ctx.late():
            break
        limit = min(_BEST.value if _BEST is not None else np.inf, best.key[0] if best else np.inf)
        if ctx.objective != "pareto" and bounds[k] > limit:
            pruned += int(per_row[k:].sum())
            break
        cand, fr, n_eval, n_pruned = _run_chunk((dp, T[k:k + chunk], bounds[k:k + chunk]), per_row[k:k + chunk])
        evaluated += n_eval
        pruned += n_pruned
        if cand is not None and (best is None or cand.key < best.key):
            best = cand
        if fr:
            front = _pareto(front + fr)
    return best, front, evaluated, pruned, len(T), int(per_row.sum()), False


def _charge_exactly(energy: np.ndarray, base, exact, tensor: str, mask=slice(None)) -> None:
    """In a bound, replace one tensor's optimistic energy (``base``) by its exact energy (``exact``)."""
    for key, value in exact.tensor_energy.items():
        if key[1] == tensor:
            energy += value - base.tensor_energy[key][mask]


def _tiling_bounds(ctx: _Context, dp: int, T: np.ndarray) -> np.ndarray:
    """A bound on the objective valid for every loop order of each tiling.

    Every tensor is charged its own cheapest case: a tensor without halos at its best order (every loop
    that does not index it innermost at every level: each of its fills is then as rare as it can be,
    model/reuse.py), a halo tensor as if every word were fetched once. One order cannot serve every
    tensor at once, so the sum is a lower bound."""
    einsum, kept = ctx.einsum, ctx.dps[dp]
    slot_loops = [(sl.node, sl.rank, sl.axis) for sl in ctx.slots]
    base = evaluate_batch(build_structure(einsum, ctx.arch, slot_loops, kept), T, reuse_rule=ctx.rule,
                          optimistic=True)
    energy = base.energy.copy()
    for t in einsum.tensors:
        if any(len(idx.terms) > 1 for idx in t.indices):
            continue
        rank_first = sorted(range(len(slot_loops)), key=lambda k: (slot_loops[k][0], slot_loops[k][1] not in t.ranks))
        s = build_structure(einsum, ctx.arch, [slot_loops[k] for k in rank_first], kept)
        _charge_exactly(energy, base, evaluate_batch(s, T[:, rank_first], reuse_rule=ctx.rule), t.name)
    return _objective(ctx.objective, energy, base.cycles)


def _run_chunk(task, per_row):
    """Evaluate every canonical order of every tiling in a chunk; return the best and the counts."""
    dp, rows, bounds = task
    ctx = _CTX
    best_shared = _BEST.value if _BEST is not None else np.inf
    keep = bounds <= best_shared if ctx.objective != "pareto" else np.ones(len(bounds), bool)
    rows, bounds = rows[keep], bounds[keep]
    pruned = int(per_row[~keep].sum())
    best: _Candidate | None = None
    front: list[_Candidate] = []
    evaluated = 0
    active_all = rows > 1
    patterns, inverse = np.unique(active_all, axis=0, return_inverse=True)
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
            s, cols = _structure_for(ctx, dp, active, combo)
            c = evaluate_batch(s, rows_here[:, cols], reuse_rule=ctx.rule)
            evaluated += len(rows_here)
            obj = _objective(ctx.objective, c.energy, c.cycles)
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
                cand = _Candidate((float(obj[j]), float(c.energy[j]), float(c.cycles[j]), dp,
                                   tuple(int(x) for x in rows_here[j]), combo), float(c.energy[j]),
                                  float(c.cycles[j]), dp, tuple(int(x) for x in rows_here[j]), combo)
                if best is None or cand.key < best.key:
                    best = cand
            if _BEST is not None and best is not None and best.key[0] < _BEST.value:
                with _BEST.get_lock():
                    _BEST.value = min(_BEST.value, best.key[0])
    return best, front, evaluated, pruned


def _pruned_combos(ctx: _Context, dp: int, active: np.ndarray, members: np.ndarray, per_level, choices, best_now):
    """Loop orders level by level, outermost first, each partial choice bounded by charging every
    tensor its best order at the levels still open (see _tiling_bounds); yields (orders, row mask)
    for complete choices whose bound does not exceed the best cost found so far."""
    einsum = ctx.einsum
    base_s = build_structure(einsum, ctx.arch, [(sl.node, sl.rank, sl.axis) for sl in ctx.slots], ctx.dps[dp])
    base = evaluate_batch(base_s, members, reuse_rule=ctx.rule, optimistic=True)
    plain = [t for t in einsum.tensors if not any(len(idx.terms) > 1 for idx in t.indices)]
    best_for = {t.name: tuple(tuple(sorted(act, key=lambda r: r not in t.ranks)) for act in per_level) for t in plain}
    n = len(choices)

    def bound(prefix, mask):
        rows = members[mask]
        energy = base.energy[mask].copy()
        for t in plain:
            combo = prefix + best_for[t.name][len(prefix):]
            s, cols = _structure_for(ctx, dp, active, combo)
            _charge_exactly(energy, base, evaluate_batch(s, rows[:, cols], reuse_rule=ctx.rule), t.name, mask)
        return _objective(ctx.objective, energy, base.cycles[mask])

    def limit():
        b = best_now()
        return min(b.key[0] if b else np.inf, _BEST.value if _BEST is not None else np.inf)

    def walk(prefix, mask):
        level = len(prefix)
        if level == n:
            yield prefix, mask
            return
        for order in choices[level]:
            if ctx.late():
                return
            new = prefix + (order,)
            if level + 1 < n and plain:
                lb = bound(new, mask)
                sub = mask.copy()
                sub[mask] = lb <= limit()
                if not sub.any():
                    continue
            else:
                sub = mask
            yield from walk(new, sub)

    yield from walk((), np.ones(len(members), bool))


def _pareto(points: list[_Candidate]) -> list[_Candidate]:
    """Non-dominated (energy, cycles) points, one per distinct pair (smallest key)."""
    points = sorted(points, key=lambda c: (c.energy, c.cycles, c.key[2:]))
    out, best_cycles = [], np.inf
    for c in points:
        if c.cycles < best_cycles:
            out.append(c)
            best_cycles = c.cycles
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
               reuse_rule: str = "2024", chunk: int = 2048, progress: bool = False) -> MapResult:
    """The optimal mapping of one Einsum (or the Pareto front of energy and cycles)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    start = time.perf_counter()
    cons = resolve_roles(constraints or Constraints(), einsum)
    check(cons, einsum, arch)
    cons = expand_dataflow(cons, einsum, arch)
    slot_list = slots(einsum, arch, cons)
    dps = dataplacements(einsum, arch, cons)
    ctx = _Context(einsum, arch, cons, slot_list, dps, objective, reuse_rule, chunk,
                   None if time_limit is None else time.time() + time_limit)
    stats = SearchStats(dataplacements=len(dps))
    # Groups: a dataplacement and the spatial factors. Their bound (everything fetched once, every
    # temporal loop free) holds for every tiling and order in the group, so whole groups are pruned
    # before their tilings are enumerated.
    spatial = spatial_tilings(einsum, arch, cons, slot_list)
    outermost = [k for k, sl in enumerate(slot_list) if sl.axis is None and sl.node == ctx.storages[0]]
    completed = spatial.copy()
    for k in outermost:
        r = slot_list[k].rank
        same = [j for j, sl in enumerate(slot_list) if sl.rank == r and sl.axis is not None]
        completed[:, k] = einsum.ranks[r] // np.prod(spatial[:, same], axis=1)
    tasks = []
    for dp, kept in enumerate(dps):
        s = build_structure(einsum, arch, [(sl.node, sl.rank, sl.axis) for sl in slot_list], kept)
        lb = evaluate_batch(s, completed, reuse_rule=reuse_rule, optimistic=True)
        bound = _objective(objective, lb.energy, lb.cycles)
        tasks += [(dp, spatial[g], float(bound[g])) for g in range(len(spatial))]
    tasks.sort(key=lambda t: (t[2], t[0], tuple(t[1])))
    stats.groups = len(tasks)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    best: _Candidate | None = None
    front: list[_Candidate] = []
    mp_ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
    use_pool = workers > 1 and len(tasks) > 1
    shared = mp_ctx.Value("d", np.inf) if use_pool and objective != "pareto" else None
    pool = mp_ctx.Pool(workers, initializer=_init, initargs=(ctx, shared)) if use_pool else None
    if pool is None:
        _init(ctx, None)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(tasks), desc=f"mapping {einsum.name}", unit="group", leave=False)

    def absorb(out):
        nonlocal best, front
        cand, fr, n_eval, n_pruned, n_tilings, n_space, skipped = out
        stats.evaluated += n_eval
        stats.pruned += n_pruned
        stats.tilings += n_tilings
        stats.mapspace += n_space
        if skipped is None:
            stats.proven_optimal = False
            stats.groups_skipped += 1
        else:
            stats.groups_pruned += int(skipped)
        if cand is not None and (best is None or cand.key < best.key):
            best = cand
        if fr:
            front = _pareto(front + fr)
        if bar:
            bar.update(1)

    try:
        pending = iter(tasks)
        running = []
        while True:
            if time_limit is not None and time.perf_counter() - start > time_limit:
                stats.proven_optimal = False
                break
            if pool is None:
                task = next(pending, None)
                if task is None:
                    break
                if objective != "pareto" and best is not None and task[2] > best.key[0]:
                    stats.groups_pruned += 1 + sum(1 for _ in pending)   # sorted: all the rest too
                    break
                absorb(_run_group_serial(task, best.key[0] if best is not None else np.inf))
                continue
            while len(running) < 2 * workers:
                task = next(pending, None)
                if task is None:
                    break
                if objective != "pareto" and best is not None and task[2] > best.key[0]:
                    stats.groups_pruned += 1 + sum(1 for _ in pending)
                    pending = iter(())
                    break
                running.append(pool.apply_async(_run_group, (task,)))
            if not running:
                break
            wait = None if ctx.deadline is None else max(0.05, ctx.deadline - time.time())
            try:
                absorb(running[0].get(timeout=wait))
                running.pop(0)
            except mp.TimeoutError:   # past the time limit: keep what the finished groups found
                stats.proven_optimal = False
                break
    finally:
        if pool is not None:
            pool.terminate()
        if bar:
            bar.close()
    if ctx.late():   # some group may have stopped early
        stats.proven_optimal = False
    stats.pruned = max(stats.mapspace - stats.evaluated, 0)   # in the enumerated groups; whole groups apart
    stats.seconds = time.perf_counter() - start
    if objective == "pareto":
        pareto = [(m, evaluate(einsum, arch, m, reuse_rule=reuse_rule)) for m in (_mapping(ctx, c) for c in front)]
        first = pareto[0] if pareto else (None, None)
        return MapResult(einsum, first[0], first[1], stats, pareto)
    if best is None:
        return MapResult(einsum, None, None, stats)
    mapping = _mapping(ctx, best)
    return MapResult(einsum, mapping, evaluate(einsum, arch, mapping, reuse_rule=reuse_rule), stats)


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
