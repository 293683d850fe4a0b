"""The fused mapspace the fused mapper searches exhaustively (mapper/fused.py):

* fusion groups: runs of consecutive Einsums, each one's output read by the next one and by no other
  Einsum of the workload (a residual read elsewhere must reach DRAM, so it ends a group);
* shared loops: at the outermost storage level, up to ``max_loops`` loops over distinct ranks of the
  group's last Einsum, each factor a divisor > 1 of the rank's bound, in every order;
* every intermediate's home: one storage level below the outermost, the only level that keeps it;
* each Einsum's own nest: temporal loops at every storage level (the outermost one after the shared
  loops), each rank's tile extent split over them in every way, every order of the loops that can run
  at a level; every keep/bypass choice of the other tensors below the outermost level (which keeps all).
  No own loop above an intermediate's home may run over a rank indexing it (its tile stays whole there).

Spatial loops are not part of this space (fanouts run one instance). Constraints restrict it per level
(keep, bypass, factors, max_factors, ranks); the other kinds are refused (``check_fused_constraints``).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints
from einloop.mapper.space import divisors
from einloop.model.fused_nest import chain_tilings
from einloop.spec.arch import Architecture, Storage
from einloop.spec.fused import SharedLoop
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.workload import Einsum, Tensor, Workload


@dataclass(frozen=True)
class OwnStructure:
    """One Einsum's own-nest structure: which tensors each storage level keeps and, per storage level,
    the ranks looping there outer to inner; ``rows`` [B, L] gives every split of the tile extents over
    those loops (L: the loops in that order, level by level)."""

    keep: tuple[frozenset[str], ...]           # per storage level (outer to inner)
    orders: tuple[tuple[str, ...], ...]        # per storage level
    rows: np.ndarray

    def mapping(self, arch: Architecture, row: np.ndarray) -> Mapping:
        """The own mapping of one row (unit loops kept so every row shares the structure)."""
        nodes, it = [], iter(int(x) for x in row)
        for lvl, i in enumerate(storage_nodes(arch)):
            loops = tuple(Loop(r, next(it)) for r in self.orders[lvl])
            nodes.append(NodeMapping(arch.nodes[i].name, loops, self.keep[lvl], frozenset()))
        return Mapping(tuple(nodes))


def storage_nodes(arch: Architecture) -> list[int]:
    """Arch node indices of the storage levels, outer to inner."""
    return [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]


def check_fused_constraints(cons: Constraints | None) -> Constraints:
    """The constraints the fused mapper honours; a dataflow, permutation, spatial or padding limit is refused."""
    cons = cons or Constraints()
    if cons.dataflow != "unconstrained" or cons.imperfect:
        raise SpecError("the fused mapper honours per-level keep, bypass, factors, max_factors and ranks only; "
                        "remove the dataflow / imperfect setting", field="constraints")
    for name, c in cons.levels.items():
        if c.permutation is not None or c.spatial_x is not None or c.spatial_y is not None or c.min_utilization:
            raise SpecError("the fused mapper honours keep, bypass, factors, max_factors and ranks only "
                            "(its mapspace has no spatial loops and every order)", field=f"constraints.{name}")
    return cons


def fusable_groups(workload: Workload, names: list[str], max_einsums: int | None = None) -> list[tuple[int, int]]:
    """(first, last) index pairs into ``names`` of every run that can be one fusion group."""
    einsums = [workload.einsum(n) for n in names]
    link = []
    for a, b in zip(einsums, einsums[1:]):
        out = a.output.name
        link.append(any(t.name == out for t in b.inputs) and workload.consumers(out) == [b.name])
    out = []
    for i in range(len(names)):
        j = i
        while True:
            out.append((i, j))
            if j + 1 >= len(names) or not link[j] or (max_einsums and j + 2 - i > max_einsums):
                break
            j += 1
    return out


def shared_choices(last: Einsum, arch: Architecture, max_loops: int) -> list[tuple[SharedLoop, ...]]:
    """Every sequence of up to ``max_loops`` shared loops at the outermost storage level."""
    top = arch.nodes[storage_nodes(arch)[0]].name
    ranks = [r for r, b in last.ranks.items() if b > 1]
    out: list[tuple[SharedLoop, ...]] = [()]
    for n in range(1, max_loops + 1):
        for seq in itertools.permutations(ranks, n):
            for fs in itertools.product(*[[d for d in divisors(last.ranks[r]) if d > 1] for r in seq]):
                out.append(tuple(SharedLoop(top, r, f) for r, f in zip(seq, fs)))
    return out


def home_choices(arch: Architecture, tensors: list[str]) -> list[dict[str, int]]:
    """Every assignment of the intermediates to storage levels below the outermost."""
    below = storage_nodes(arch)[1:]
    return [dict(zip(tensors, c)) for c in itertools.product(below, repeat=len(tensors))]


def _splits(n: int, parts: int, allowed: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Ordered factorizations of n into ``parts`` factors, factor p between 1 and allowed[p] (0: exactly
    that factor fixed when allowed[p][0] > 0)."""
    if parts == 0:
        return [()] if n == 1 else []
    fixed, cap = allowed[0]
    firsts = [fixed] if fixed else [d for d in divisors(n) if d <= cap]
    return [(d,) + rest for d in firsts if n % d == 0 for rest in _splits(n // d, parts - 1, allowed[1:])]


def _rank_limits(e: Einsum, rank: str, arch: Architecture, cons: Constraints, homes: dict[str, int]) -> list:
    """Per storage level (fixed factor or 0, largest factor) for one rank's own loops."""
    out = []
    indexing = [t for t in homes if rank in e.tensor(t).ranks] if homes else []
    for i in storage_nodes(arch):
        c = cons.at(arch.nodes[i].name)
        if (c.ranks is not None and rank not in c.ranks) or any(i < homes[t] for t in indexing):
            out.append((1, 1))
            continue
        out.append((c.factors.get(rank, 0), c.max_factors.get(rank, math.inf)))
    return out


def _keeps(e: Einsum, arch: Architecture, cons: Constraints, homes: dict[str, int]) -> list[tuple[frozenset[str], ...]]:
    """Every dataplacement: per storage level the tensors it keeps."""
    levels = storage_nodes(arch)
    per_tensor = []
    for t in e.tensors:
        if t.name in homes:
            per_tensor.append([tuple(i == homes[t.name] for i in levels)])
            continue
        opts = []
        for lvl, i in enumerate(levels):
            c = cons.at(arch.nodes[i].name)
            opts.append((True,) if lvl == 0 or t.name in c.keep else (False,) if t.name in c.bypass else (False, True))
        per_tensor.append(list(itertools.product(*opts)))
    out = []
    for combo in itertools.product(*per_tensor):
        out.append(tuple(frozenset(t.name for t, flags in zip(e.tensors, combo) if flags[lvl])
                         for lvl in range(len(levels))))
    return out


def own_structures(e: Einsum, extents: dict[str, int], arch: Architecture, cons: Constraints,
                   homes: dict[str, int], limit: float = math.inf) -> list[OwnStructure] | None:
    """Every own-nest structure of Einsum e (its tile extents per rank within one shared step); ``homes``:
    the home of each intermediate it writes or reads. None when the space exceeds ``limit`` rows."""
    levels = storage_nodes(arch)
    ranks = [r for r in e.ranks if extents[r] > 1]
    splits = {r: _splits(extents[r], len(levels), _rank_limits(e, r, arch, cons, homes)) for r in ranks}
    if any(not v for v in splits.values()):
        return []
    active = [tuple(r for r in ranks if any(s[lvl] > 1 for s in splits[r])) for lvl in range(len(levels))]
    n_orders = math.prod(math.factorial(len(a)) for a in active)
    keeps = _keeps(e, arch, cons, homes)
    size = math.prod(len(v) for v in splits.values()) * n_orders * len(keeps)
    if size > limit:
        return None
    combos = list(itertools.product(*[splits[r] for r in ranks])) or [()]
    out = []
    for orders in itertools.product(*[itertools.permutations(a) for a in active]):
        cols = [(lvl, ranks.index(r)) for lvl, order in enumerate(orders) for r in order]
        rows = np.array([[c[k][lvl] for lvl, k in cols] for c in combos], np.int64).reshape(len(combos), len(cols))
        out += [OwnStructure(keep, orders, rows) for keep in keeps]
    return out


def fold_elementwise(workload: Workload) -> tuple[Workload, list[str]]:
    """The workload with every elementwise Einsum without MACs (batch norm, ReLU: the output indexed like
    its one produced input, read by it alone; other inputs weights) folded into its producer: its readers
    read the producer's output instead. Returns the notes saying what was folded."""
    producers = workload.producers()
    rename: dict[str, str] = {}
    dropped, notes = set(), []
    for e in workload.einsums:
        if e.macs:
            continue
        made = [t for t in e.inputs if t.name in producers]
        if len(made) != 1 or made[0].indices != e.output.indices or workload.consumers(made[0].name) != [e.name]:
            continue
        rename[e.output.name] = rename.get(made[0].name, made[0].name)
        dropped.add(e.name)
        notes.append(f"{e.name} (elementwise, no MACs) folded into {producers[rename[e.output.name]]}'s output")
    if not dropped:
        return workload, []
    out = []
    for e in workload.einsums:
        if e.name in dropped:
            continue
        tensors = tuple(Tensor(rename.get(t.name, t.name), t.indices, t.bits, t.is_output) if not t.is_output else t
                        for t in e.tensors)
        out.append(Einsum(e.name, dict(e.ranks), tensors, e.text, e.op))
    return Workload(workload.name, tuple(out)), notes


def group_tilings(workload: Workload, names, shared) -> tuple[list[Einsum], list] | None:
    """The group's Einsums and their tilings under the shared loops (``chain_tilings``), or None when
    those shared loops cannot tile the chain."""
    einsums = [workload.einsum(n) for n in names]
    try:
        return einsums, chain_tilings(einsums, shared)
    except SpecError:
        return None
