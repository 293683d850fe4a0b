"""map_fused: the optimal fused mapping of a workload's Einsum chain, fusion groups included.

Per fusion group (mapper/fused_space.py) and per choice of shared loops and intermediate homes, every
Einsum's own nests are counted in batches by the fused model, one Einsum at a time; only the
Pareto-optimal ones (objective, words held per level and phase) are kept and joined along the chain
(mapper/fused_join.py). The best partition of the chain into groups is a shortest path over the groups'
optima (energies and cycles add up over groups). Exhaustive over the searched space: the answer is
proven optimal within it, and the chosen mapping is re-evaluated by ``evaluate_fused`` as a check.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints
from einloop.mapper.fused_join import Partials, join, start
from einloop.mapper.fused_large import map_group_large, map_single
from einloop.mapper.fused_space import (group_tilings, OwnStructure, check_fused_constraints, fold_elementwise, fusable_groups,
                                        home_choices, own_structures, shared_choices, storage_nodes)
from einloop.model.fused import evaluate_fused, evaluate_nest, nest_occupancy, nest_shape
from einloop.model.fused_nest import Intermediate, einsum_nest
from einloop.model.fused_result import FusedResult
from einloop.spec.arch import Architecture, Fanout
from einloop.spec.fused import FusedMapping
from einloop.spec.mapping import Mapping, NodeMapping
from einloop.spec.workload import Workload

OBJECTIVES = ("energy", "cycles")
OWN_LIMIT = 200_000   # own-nest rows per Einsum and group choice beyond which a group is not searched


@dataclass
class GroupResult:
    """The best fused mapping of one group of consecutive Einsums (None: none fits)."""

    einsums: tuple[str, ...]
    mapping: FusedMapping | None
    result: FusedResult | None
    objective: float
    choices: int = 0          # (shared loops, homes) choices searched
    evaluated: int = 0        # own nests counted
    kept: int = 0             # Pareto-optimal partial mappings kept over all joins
    proven_optimal: bool = True


@dataclass
class FusedMapResult:
    """The best partition of the chain into fusion groups, and the layer-by-layer groups beside it."""

    groups: list[GroupResult]
    layer_by_layer: list[GroupResult]
    objective: str
    seconds: float = 0.0
    searched: list[GroupResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)    # what was folded (fused_space.fold_elementwise)
    workload: Workload | None = None                   # the workload mapped (elementwise Einsums folded)

    @property
    def proven_optimal(self) -> bool:
        """Every group searched exhaustively (within the fused mapspace)."""
        return all(g.proven_optimal for g in self.searched)

    def total(self, what: str, layer_by_layer: bool = False) -> float:
        """energy or cycles summed over the groups (of the chosen partition or of the layer-by-layer one)."""
        groups = self.layer_by_layer if layer_by_layer else self.groups
        return sum(getattr(g.result, what) for g in groups if g.result)


@dataclass
class _Candidates:
    """One Einsum's own nests under one group choice that fit alone: objective, words, where from."""

    objective: np.ndarray
    words: np.ndarray
    structure: np.ndarray
    row: np.ndarray
    structures: list[OwnStructure]


def _einsum_candidates(e, k, tiling, arch, shared, split, ims, n, cons, capped, objective, rule) -> _Candidates | None:
    """Count every own nest of fused Einsum k in batches; None when its space is over OWN_LIMIT."""
    homes = {im.tensor: im.home for im in ims if k in (im.producer, im.consumer)}
    structs = own_structures(e, {r: t.extent for r, t in tiling.items()}, arch, cons, homes, OWN_LIMIT)
    if structs is None:
        return None
    obj, words, sidx, ridx = [], [], [], []
    for s, st in enumerate(structs):
        try:
            nest = einsum_nest(e, arch, st.mapping(arch, st.rows[0]), tiling, shared, split)
        except SpecError:
            continue
        shape = nest_shape(nest, arch)
        f = np.repeat(shape.factors, len(st.rows), axis=0)
        f[:, ~shape.shared] = st.rows
        ev = evaluate_nest(nest, k, ims, arch, rule, f)
        occ = nest_occupancy(ims, k, ev, arch, n)
        w = np.column_stack([occ[i] for i in capped]) if capped else np.zeros((len(f), 0))
        cap = np.repeat([arch.nodes[i].effective_size for i in capped], n)
        ok = ev.costs.valid & np.all(w <= cap[None, :], axis=1)
        value = ev.costs.energy if objective == "energy" else ev.costs.cycles.astype(float)
        obj.append(value[ok]), words.append(w[ok]), sidx.append(np.full(ok.sum(), s)), ridx.append(np.nonzero(ok)[0])
    if not obj:
        return _Candidates(np.zeros(0), np.zeros((0, len(capped) * n)), np.zeros(0, int), np.zeros(0, int), structs)
    return _Candidates(np.concatenate(obj), np.concatenate(words), np.concatenate(sidx), np.concatenate(ridx), structs)


def _clean(m: Mapping) -> Mapping:
    """The mapping without unit loops (what is printed and returned)."""
    return Mapping(tuple(NodeMapping(n.target, tuple(l for l in n.loops if l.factor > 1), n.keep, n.bypass)
                         for n in m.nodes))


def _search_choice(workload, arch, names, shared, homes, cons, objective, rule, bound, stats):
    """The best fused mapping of one group under one (shared loops, homes) choice: (objective, mapping)."""
    tiled = group_tilings(workload, names, shared)
    if tiled is None:
        return None
    einsums, tilings = tiled
    split = storage_nodes(arch)[0] if shared else -1
    ims = tuple(Intermediate(e.output.name, k, k + 1, homes[e.output.name]) for k, e in enumerate(einsums[:-1]))
    capped = [i for i in storage_nodes(arch) if arch.nodes[i].size is not None]
    n = len(einsums)
    capacity = np.repeat([arch.nodes[i].effective_size for i in capped], n)
    acc: Partials | None = None
    cands = []
    for k, (e, t) in enumerate(zip(einsums, tilings)):
        c = _einsum_candidates(e, k, t, arch, shared, split, ims, n, cons, capped, objective, rule)
        if c is None:
            stats.proven_optimal = False
            return None
        stats.evaluated += sum(len(s.rows) for s in c.structures)
        cands.append(c)
        acc = start(c.objective, c.words) if acc is None else join(acc, c.objective, c.words, capacity, bound)
        stats.kept += len(acc.objective)
        if not len(acc.objective):
            return None
    best = int(np.argmin(acc.objective))
    nests = {}
    for k, c in enumerate(cands):
        j = int(acc.picks[best, k])
        st = c.structures[int(c.structure[j])]
        nests[names[k]] = _clean(st.mapping(arch, st.rows[int(c.row[j])]))
    return float(acc.objective[best]), FusedMapping(tuple(names), shared, nests)


def map_group(workload: Workload, arch: Architecture, names: tuple[str, ...], cons: Constraints | None = None, *,
              max_fused_loops: int = 2, objective: str = "energy", reuse_rule: str = "2024",
              time_limit: float | None = None, cache: dict | None = None) -> GroupResult:
    """The optimal fused mapping of one group (a chain) over the fused mapspace of mapper/fused_space.py;
    with fanouts, or a space over OWN_LIMIT, the best found by mapper/fused_large.py instead."""
    if any(isinstance(n, Fanout) for n in arch.nodes):
        return _map_large(workload, arch, names, cons, objective, reuse_rule, time_limit, cache)
    exact = check_fused_constraints(cons)
    out = GroupResult(tuple(names), None, None, math.inf)
    last = workload.einsum(names[-1])
    tensors = [workload.einsum(n).output.name for n in names[:-1]]
    loops = shared_choices(last, arch, max_fused_loops) if len(names) > 1 else [()]
    for shared in loops:
        for homes in home_choices(arch, tensors):
            out.choices += 1
            found = _search_choice(workload, arch, list(names), shared, homes, exact, objective, reuse_rule,
                                   out.objective, out)
            if found is not None and found[0] < out.objective * (1 - 1e-9):
                out.objective, out.mapping = found
    if not out.proven_optimal:
        return _map_large(workload, arch, names, cons, objective, reuse_rule, time_limit, cache)
    if out.mapping is not None:
        out.result = evaluate_fused(workload, arch, out.mapping, reuse_rule=reuse_rule)
        got = out.result.energy if objective == "energy" else out.result.cycles
        if not out.result.valid or not math.isclose(got, out.objective, rel_tol=1e-6):
            raise AssertionError(f"fused mapper: join found {out.objective} but evaluate_fused gives {got} "
                                 f"(valid {out.result.valid}) for {names}")
    return out


def _map_large(workload, arch, names, cons, objective, rule, time_limit, cache) -> GroupResult:
    """A group searched by mapper/fused_large.py (one Einsum: the single-Einsum mapper, exact unless timed out)."""
    cons = cons or Constraints()
    if len(names) == 1:
        value, fm, res, proven = map_single(workload, arch, names[0], cons, objective=objective, reuse_rule=rule,
                                            shapes=(cache if cache is not None else {}).setdefault("shapes", {}))
        return GroupResult(tuple(names), fm, res, value, 1, proven_optimal=proven)
    value, fm, res, tried = map_group_large(workload, arch, tuple(names), cons, objective=objective,
                                            reuse_rule=rule, time_limit=time_limit,
                                            cache=cache if cache is not None else {})
    return GroupResult(tuple(names), fm, res, value, tried, proven_optimal=False)


def chain(workload: Workload, einsums: list[str] | None = None) -> list[str]:
    """The Einsums to map, in workload order (those with MACs, or the named ones)."""
    return [e.name for e in workload.einsums if e.macs and (einsums is None or e.name in einsums)]


def map_fused(workload: Workload, arch: Architecture, constraints: Constraints | None = None, *,
              einsums: list[str] | None = None, max_fused_loops: int = 2, max_fused_einsums: int | None = None,
              objective: str = "energy", reuse_rule: str = "2024", time_limit: float | None = None) -> FusedMapResult:
    """The optimal fusion groups and fused mappings of a workload's Einsums (in workload order);
    ``time_limit``: seconds per single-Einsum search where fused_large.py is used."""
    if objective not in OBJECTIVES:
        raise SpecError(f"the fused mapper minimizes {' or '.join(OBJECTIVES)}, not {objective!r}",
                        field="--objective")
    for flag, value, least in (("--max-fused-loops", max_fused_loops, 0), ("--max-fused-einsums", max_fused_einsums, 1)):
        if value is not None and (not isinstance(value, int) or value < least):
            raise SpecError(f"must be an integer >= {least}, got {value!r}", field=flag)
    if constraints is not None and constraints.imperfect:
        raise SpecError("--fuse maps perfect factorizations only; remove the imperfect setting",
                        field="constraints.imperfect")
    t0 = time.perf_counter()
    workload, notes = fold_elementwise(workload)
    names = chain(workload, einsums)
    results, cache = {}, {}
    for i, j in fusable_groups(workload, names, max_fused_einsums):
        results[(i, j)] = map_group(workload, arch, tuple(names[i:j + 1]), constraints,
                                    max_fused_loops=max_fused_loops, objective=objective, reuse_rule=reuse_rule,
                                    time_limit=time_limit, cache=cache)
    best = [0.0] + [math.inf] * len(names)   # best[j]: the first j Einsums
    back = [0] * (len(names) + 1)
    for j in range(1, len(names) + 1):
        for (a, b), g in results.items():
            if b == j - 1 and best[a] + g.objective < best[j]:
                best[j], back[j] = best[a] + g.objective, a
    groups, j = [], len(names)
    while j > 0 and math.isfinite(best[j]):
        groups.insert(0, results[(back[j], j - 1)])
        j = back[j]
    singles = [results[(i, i)] for i in range(len(names))]
    return FusedMapResult(groups if j == 0 else singles, singles, objective, time.perf_counter() - t0,
                          list(results.values()), notes, workload)
