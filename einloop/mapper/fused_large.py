"""Fused groups too large to enumerate (or with spatial fanouts): each Einsum's own nest from the
single-Einsum mapper. Not exhaustive: the result is the best found, never claimed optimal.

Per shared-loop choice (one shared loop over one rank of the last Einsum, factors that are powers of
two or the bound, or none) and per home whose capacity holds one step's intermediate, every Einsum of
the group is mapped by ``map_einsum`` on its re-indexed Einsum (model/fused_nest.py) with the
outermost level restricted to exactly the shared loops, the intermediates kept at their home and
bypassed between the outermost level and it. The fused mapping built from those nests is evaluated
exactly (``evaluate_fused``); when the nests together overflow a buffer, they are mapped again with
every on-chip buffer's capacity shared equally among the group's Einsums.
"""
from __future__ import annotations

import math
from dataclasses import replace

from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints
from einloop.mapper.fused_space import group_tilings, home_choices, shared_choices, storage_nodes
from einloop.mapper.network import shape_key
from einloop.mapper.search import map_einsum
from einloop.model.fused import evaluate_fused
from einloop.model.fused_nest import chain_tilings, reindexed_einsum
from einloop.spec.arch import Architecture, Storage
from einloop.spec.fused import FusedMapping
from einloop.spec.mapping import Mapping, NodeMapping
from einloop.spec.workload import Workload


FACTORS_PER_RANK = 3   # shared factors tried per rank: the smallest (largest tiles) whose intermediates fit


def _fits(workload: Workload, arch: Architecture, names, shared) -> bool:
    """Every intermediate's tile of one shared step fits the largest bounded on-chip buffer."""
    einsums = [workload.einsum(n) for n in names]
    try:
        tilings = chain_tilings(einsums, shared)
    except SpecError:
        return False
    room = max((arch.nodes[i].effective_size * arch.nodes[i].datawidth for i in storage_nodes(arch)[1:]),
               default=0)
    for e, til in zip(einsums[:-1], tilings[:-1]):
        if math.prod(til[r].extent for r in e.output.ranks) * e.output.bits > room:
            return False
    return True


def large_shared_choices(workload: Workload, arch: Architecture, names: tuple[str, ...]) -> list:
    """Shared loops tried for a large group: none, or one loop over one rank with a power-of-two (or
    whole) factor, per rank the FACTORS_PER_RANK smallest whose intermediates fit on chip."""
    last = workload.einsum(names[-1])
    out, per_rank = [], {}
    for s in shared_choices(last, arch, 1):
        if s and (s[0].factor & (s[0].factor - 1)) and s[0].factor != last.ranks[s[0].rank]:
            continue
        key = s[0].rank if s else ""
        if per_rank.get(key, 0) < FACTORS_PER_RANK and _fits(workload, arch, names, s):
            per_rank[key] = per_rank.get(key, 0) + 1
            out.append(s)
    return out


def _own_constraints(e, arch: Architecture, loop_rank: dict[int, str], shared, homes: dict[str, int],
                     user: Constraints) -> Constraints:
    """The single-Einsum constraints of one fused Einsum's own nest (see the module docstring)."""
    levels = dict(user.levels)
    storages = storage_nodes(arch)
    top = arch.nodes[storages[0]].name
    ranks = [loop_rank[i] for i in range(len(shared)) if i in loop_rank]
    levels[top] = replace(user.at(top), ranks=frozenset(ranks), permutation=tuple(ranks) or None,
                          factors={loop_rank[i]: l.factor for i, l in enumerate(shared) if i in loop_rank})
    for i in storages[1:]:
        name, c = arch.nodes[i].name, user.at(arch.nodes[i].name)
        for t, home in homes.items():
            if i < home:
                free = frozenset(r for r in e.ranks if r not in e.tensor(t).ranks)
                c = replace(c, bypass=c.bypass | {t}, ranks=free if c.ranks is None else c.ranks & free)
            elif i == home:
                c = replace(c, keep=c.keep | {t})
        levels[name] = c
    return replace(user, levels=levels)


def _own_mapping(m: Mapping, top: str, loop_rank: dict[int, str], intermediates: set[str]) -> Mapping:
    """The mapper's nest as an own nest: the shared loops dropped, intermediates bypassed at the top."""
    nodes = []
    for n in m.nodes:
        if n.target == top:
            keep = None if n.keep is None else n.keep - intermediates
            n = NodeMapping(n.target, tuple(l for l in n.loops if l.rank not in loop_rank.values() and l.factor > 1),
                            keep, n.bypass | intermediates)
        nodes.append(n)
    return Mapping(tuple(nodes))


def _scaled(arch: Architecture, share: float) -> Architecture:
    """The architecture with every bounded on-chip buffer holding ``share`` of its words."""
    top = storage_nodes(arch)[0]
    return replace(arch, nodes=tuple(replace(n, size=max(1, int(n.size * share)))
                                     if isinstance(n, Storage) and n.size is not None and i != top else n
                                     for i, n in enumerate(arch.nodes)))


def _try(workload, arch, names, shared, homes, cons, objective, rule, time_limit, cache):
    """The fused mapping from per-Einsum searches under one choice (None: no valid one)."""
    tiled = group_tilings(workload, names, shared)
    if tiled is None:
        return None
    einsums, tilings = tiled
    top = arch.nodes[storage_nodes(arch)[0]].name
    for share in (1.0, 1.0 / len(names)):
        nests = {}
        for k, (e, til) in enumerate(zip(einsums, tilings)):
            mine = {t: h for t, h in homes.items() if t in {x.name for x in e.tensors}}
            ree, loop_rank = reindexed_einsum(e, til, shared)
            c = _own_constraints(ree, arch, loop_rank, shared, mine, cons)
            key = (ree.ranks.items().__repr__(), repr(ree.tensors), repr(c), share)
            if key not in cache:
                try:
                    cache[key] = map_einsum(ree, _scaled(arch, share), c, objective=objective, time_limit=time_limit,
                                            workers=1, reuse_rule=rule).mapping
                except SpecError:
                    cache[key] = None
            if cache[key] is None:
                return None
            nests[e.name] = _own_mapping(cache[key], top, loop_rank, set(mine))
        fm = FusedMapping(tuple(names), shared, nests)
        try:
            r = evaluate_fused(workload, arch, fm, reuse_rule=rule)
        except SpecError:
            return None
        if r.valid:
            return fm, r
    return None


def _homes(workload, arch, names, shared, tensors) -> list[dict[str, int]]:
    """Home choices where each step's intermediate tile fits its home alone."""
    einsums = [workload.einsum(n) for n in names]
    tilings = chain_tilings(einsums, shared)
    need = {e.output.name: math.prod(t[r].extent for r in e.output.ranks) * e.output.bits
            for e, t in zip(einsums[:-1], tilings[:-1])}
    return [h for h in home_choices(arch, tensors)
            if all(need[t] <= arch.nodes[i].effective_size * arch.nodes[i].datawidth for t, i in h.items())]


def map_group_large(workload: Workload, arch: Architecture, names: tuple[str, ...], cons: Constraints, *,
                    objective: str, reuse_rule: str, time_limit: float | None, cache: dict):
    """(objective, FusedMapping, FusedResult, choices tried) of the best fused mapping found for one group."""
    best = (math.inf, None, None)
    tensors = [workload.einsum(n).output.name for n in names[:-1]]
    tried = 0
    for shared in large_shared_choices(workload, arch, names):
        for homes in _homes(workload, arch, names, shared, tensors):
            tried += 1
            found = _try(workload, arch, names, shared, homes, cons, objective, reuse_rule, time_limit, cache)
            if found is not None:
                value = found[1].energy if objective == "energy" else found[1].cycles
                if value < best[0]:
                    best = (value, *found)
    return (*best, tried)


def _renamed(m: Mapping, names: dict[str, str]) -> Mapping:
    """A mapping with its tensors renamed (an Einsum of the same shape, other tensor names)."""
    ren = lambda xs: None if xs is None else frozenset(names.get(t, t) for t in xs)
    return Mapping(tuple(NodeMapping(n.target, n.loops, ren(n.keep), ren(n.bypass)) for n in m.nodes))


def map_single(workload: Workload, arch: Architecture, name: str, cons: Constraints, *, objective: str,
               reuse_rule: str, shapes: dict | None = None):
    """One Einsum alone with the single-Einsum mapper, to the optimum: (objective, FusedMapping, FusedResult,
    proven). ``shapes``: searches done, by Einsum shape (network.shape_key); one of the same shape is reused."""
    e = workload.einsum(name)
    shapes = {} if shapes is None else shapes
    key = (shape_key(e), repr(cons))
    if key not in shapes:
        shapes[key] = (e, map_einsum(e, arch, cons, objective=objective, workers=1, reuse_rule=reuse_rule))
    first, r = shapes[key]
    if r.mapping is None:
        return math.inf, None, None, r.stats.proven_optimal
    fm = FusedMapping.single(name, _renamed(r.mapping, {a.name: b.name for a, b in zip(first.tensors, e.tensors)}))
    res = evaluate_fused(workload, arch, fm, reuse_rule=reuse_rule)
    return (res.energy if objective == "energy" else res.cycles), fm, res, r.stats.proven_optimal
