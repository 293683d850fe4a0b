"""The mapspace: dataplacements (keep/bypass), tilings (factor of every rank at every loop slot) and
loop orders, enumerated under the constraints.

Tilings are built from the innermost node outward, one rank at a time, as numpy arrays; a partial
tiling whose tiles overflow a buffer or whose spatial loops overflow a fanout is dropped at once, and
since tiles only grow outward nothing it could become is valid either.

Loop orders: only loops with a factor above one are ordered. Two adjacent loops may be swapped without
changing any count when, for every tensor, both are irrelevant to it, or both index it and neither
slides over a halo (see model/reuse.py: a non-halo tensor's fills depend only on where its innermost
relevant loop is). Orders are enumerated up to such swaps: exact, no optimum is lost.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.workload import Einsum


@dataclass(frozen=True)
class Slot:
    node: int               # arch node index
    rank: str
    axis: str | None        # None temporal, "X"/"Y" spatial


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def slots(einsum: Einsum, arch: Architecture, cons: Constraints) -> list[Slot]:
    """Every place a loop may go, outer to inner. The outermost storage level takes every rank."""
    out = []
    outermost = next(i for i, n in enumerate(arch.nodes) if isinstance(n, Storage))
    for i, node in enumerate(arch.nodes):
        c = cons.at(node.name)
        if isinstance(node, Storage):
            allowed = [r for r in einsum.ranks if c.ranks is None or r in c.ranks or i == outermost]
            out += [Slot(i, r, None) for r in allowed]
        elif isinstance(node, Fanout):
            for axis, allowed, size in (("X", c.spatial_x, node.mesh_x), ("Y", c.spatial_y, node.mesh_y)):
                if size > 1:
                    out += [Slot(i, r, axis) for r in einsum.ranks if allowed is None or r in allowed]
    return out


def dataplacements(einsum: Einsum, arch: Architecture, cons: Constraints) -> list[dict[str, tuple[int, ...]]]:
    """Every keep/bypass choice: tensor -> storage node indices keeping it. The outermost keeps all."""
    storages = [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]
    choices = []   # per (level, tensor): allowed booleans
    for i in storages:
        c = cons.at(arch.nodes[i].name)
        for t in einsum.tensors:
            if i == storages[0]:
                if t.name in c.bypass:
                    raise SpecError(f"the outermost level {arch.nodes[i].name} must keep every tensor",
                                    field=f"constraints.{arch.nodes[i].name}.bypass")
                choices.append((True,))
            elif t.name in c.keep:
                choices.append((True,))
            elif t.name in c.bypass:
                choices.append((False,))
            else:
                choices.append((False, True))
    out = []
    for combo in itertools.product(*choices):
        flags = iter(combo)
        kept: dict[str, list[int]] = {t.name: [] for t in einsum.tensors}
        for i in storages:
            for t in einsum.tensors:
                if next(flags):
                    kept[t.name].append(i)
        out.append({t: tuple(v) for t, v in kept.items()})
    return out


def _tile_words(einsum: Einsum, node: Storage, kept: dict[str, tuple[int, ...]], index: int,
                ext: dict[str, np.ndarray]) -> np.ndarray:
    total = np.zeros(len(next(iter(ext.values()))))
    for t in einsum.tensors:
        if index in kept[t.name]:
            size = 1
            for idx in t.indices:
                size = size * (sum(abs(c) * (ext[r] - 1) for r, c in idx.terms) + 1)
            total = total + size * ((node.bits_of(t.name) or t.bits) / node.datawidth)
    return total


def _tiles_fit(einsum, node, kept, index, E) -> np.ndarray:
    return _tile_words(einsum, node, kept, index, E) <= node.effective_size


def spatial_tilings(einsum: Einsum, arch: Architecture, cons: Constraints, slot_list: list[Slot]) -> np.ndarray:
    """All spatial factor choices [G, len(slots)] (temporal slots 1) that fit every mesh."""
    ranks = list(einsum.ranks)
    F = np.ones((1, len(slot_list)), np.int64)
    E = {r: np.ones(1, np.int64) for r in ranks}
    for node_index in range(len(arch.nodes) - 1, -1, -1):
        node = arch.nodes[node_index]
        if not isinstance(node, Fanout):
            continue
        c = cons.at(node.name)
        mine = [k for k, sl in enumerate(slot_list) if sl.node == node_index]
        for k in mine:
            r, axis = slot_list[k].rank, slot_list[k].axis
            size = node.mesh_x if axis == "X" else node.mesh_y
            options = [d for d in divisors(einsum.ranks[r]) if d <= min(size, c.max_factors.get(r, size))]
            F, E, _ = _grow(F, E, k, r, np.full(len(F), einsum.ranks[r]), options, np.ones(len(F), np.int64))
            cols = [j for j in mine if slot_list[j].axis == axis and j <= k]
            ok = np.prod(F[:, cols], axis=1) <= size
            F, E = F[ok], {q: v[ok] for q, v in E.items()}
        used = np.prod(F[:, mine], axis=1) if mine else np.ones(len(F), np.int64)
        ok = used >= c.min_utilization * node.size
        for r, f in c.factors.items():
            cols = [j for j in mine if slot_list[j].rank == r]
            ok &= np.prod(F[:, cols], axis=1) == f
        F, E = F[ok], {q: v[ok] for q, v in E.items()}
    return F


def temporal_tilings(einsum: Einsum, arch: Architecture, cons: Constraints, slot_list: list[Slot],
                     kept: dict[str, tuple[int, ...]], spatial_rows: np.ndarray, prune=None) -> np.ndarray:
    """All complete tilings [K, len(slots)] extending the spatial rows [G, len(slots)] whose tiles fit
    every buffer.

    Rows are built from the innermost storage level outward, one slot at a time; a partial row whose
    tiles already overflow a buffer at or above the current level is dropped at once (tiles only grow
    outward). ``prune(F, level) -> mask``, when
    given, is called on the partial rows after every slot of ``level`` (factors not yet chosen are 1) and
    must keep every row some completion of which could still be wanted."""
    ranks = list(einsum.ranks)
    outermost = min(s.node for s in slot_list if s.axis is None)
    F = np.array(spatial_rows, np.int64).reshape(-1, len(slot_list)).copy()
    spatial_total = {r: np.ones(len(F), np.int64) for r in ranks}
    below = {r: np.ones(len(F), np.int64) for r in ranks}   # spatial factors inside the current node
    E = {r: np.ones(len(F), np.int64) for r in ranks}

    def keep(ok):
        nonlocal F, E, spatial_total, below
        F, E = F[ok], {q: v[ok] for q, v in E.items()}
        spatial_total = {q: v[ok] for q, v in spatial_total.items()}
        below = {q: v[ok] for q, v in below.items()}

    for k, sl in enumerate(slot_list):
        if sl.axis is not None:
            spatial_total[sl.rank] = spatial_total[sl.rank] * F[:, k]
    sized = [j for j, n in enumerate(arch.nodes) if isinstance(n, Storage) and n.size is not None]
    for node_index in range(len(arch.nodes) - 1, -1, -1):
        node = arch.nodes[node_index]
        c = cons.at(node.name)
        if isinstance(node, Fanout):
            for k, sl in enumerate(slot_list):
                if sl.node == node_index:
                    E[sl.rank] = E[sl.rank] * F[:, k]
                    below[sl.rank] = below[sl.rank] * F[:, k]
            continue
        if not isinstance(node, Storage):
            continue
        for k in [k for k, sl in enumerate(slot_list) if sl.node == node_index and sl.axis is None]:
            r = slot_list[k].rank
            total = einsum.ranks[r] // spatial_total[r]
            if node_index == outermost:
                F[:, k] = total // (E[r] // below[r])
                E[r] = E[r] * F[:, k]
                if r in c.factors:
                    keep(F[:, k] == c.factors[r])
            else:
                options = [d for d in divisors(einsum.ranks[r]) if d <= c.max_factors.get(r, d)]
                if r in c.factors:
                    options = [d for d in options if d == c.factors[r]]
                n_before = len(F)
                F, E, rows = _grow(F, E, k, r, total, options, below[r])
                spatial_total = {q: v[rows] for q, v in spatial_total.items()}
                below = {q: v[rows] for q, v in below.items()}
            for j in sized:   # tiles only grow outward: the part built so far must fit every level above
                if j <= node_index:
                    keep(_tiles_fit(einsum, arch.nodes[j], kept, j, E))
            if node_index != outermost and len(F) > n_before and prune is not None:
                keep(prune(F, node_index))
        if len(F) == 0:
            break
    return F


def tilings_outer_first(einsum: Einsum, arch: Architecture, cons: Constraints, slot_list: list[Slot],
                        kept: dict[str, tuple[int, ...]], spatial_rows: np.ndarray, prune=None) -> np.ndarray:
    """temporal_tilings built from the outermost storage level inward: when a level starts, every level
    above it is complete, so its tile (what is left of every rank, times the spatial factors inside it)
    is known and checked against its capacity, and everything that moves into it is decided. Each
    rank's innermost temporal slot takes what is left of it. ``prune(F, level)`` is called on the rows
    when ``level`` is complete (the factors of the levels below are 1)."""
    F = np.array(spatial_rows, np.int64).reshape(-1, len(slot_list)).copy()
    temporal = [k for k, sl in enumerate(slot_list) if sl.axis is None]
    last = {r: max(k for k in temporal if slot_list[k].rank == r) for r in einsum.ranks}
    left = {r: einsum.ranks[r] // np.prod(F[:, [k for k, sl in enumerate(slot_list) if sl.rank == r and sl.axis]],
                                          axis=1) for r in einsum.ranks}
    storages = [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]
    idle = _idle_levels(einsum, arch, cons, slot_list, kept)
    def fit(i, F, left):   # level i's tile (what is left, times the spatial factors inside it) fits
        if arch.nodes[i].size is None:
            return F, left
        inside = {r: left[r] * np.prod(F[:, [k for k, sl in enumerate(slot_list)
                                             if sl.rank == r and sl.axis and sl.node > i]], axis=1)
                  for r in einsum.ranks}
        ok = _tiles_fit(einsum, arch.nodes[i], kept, i, inside)
        return F[ok], {r: v[ok] for r, v in left.items()}

    fitted = None   # the level whose tile was checked before the level above was bounded
    for n, i in enumerate(storages):
        c = cons.at(arch.nodes[i].name)
        if i != fitted:
            F, left = fit(i, F, left)
        for k in [k for k in temporal if slot_list[k].node == i]:
            r = slot_list[k].rank
            if i in idle:   # its loops would be the level above's innermost ones: they go there
                ok = left[r] == 1 if k == last[r] else np.ones(len(F), bool)
            elif k == last[r]:
                F[:, k] = left[r]
                ok = np.ones(len(F), bool)
                if r in c.factors:
                    ok &= F[:, k] == c.factors[r]
                if r in c.max_factors:
                    ok &= F[:, k] <= c.max_factors[r]
            else:
                options = np.array([d for d in divisors(einsum.ranks[r]) if d <= c.max_factors.get(r, d)
                                    and (r not in c.factors or d == c.factors[r])], np.int64)
                fits = (left[r][:, None] % options[None, :]) == 0
                if fits.sum() > MAX_ROWS:
                    raise TooManyTilings(f"more than {MAX_ROWS:,} partial tilings")
                rows, cols = np.nonzero(fits)
                F, left = F[rows], {q: v[rows] for q, v in left.items()}
                F[:, k] = options[cols]
                ok = np.ones(len(F), bool)
            left[r] = left[r] // F[:, k]
            F, left = F[ok], {q: v[ok] for q, v in left.items()}
        if prune is not None and i != storages[-1] and len(F):
            fitted = storages[n + 1]   # before the bound: the next tile is decided now
            F, left = fit(fitted, F, left)
            ok = prune(F, i)
            F, left = F[ok], {q: v[ok] for q, v in left.items()}
    return F


def _idle_levels(einsum: Einsum, arch: Architecture, cons: Constraints, slot_list: list[Slot],
                 kept: dict[str, tuple[int, ...]]) -> set[int]:
    """Storage levels keeping no tensor whose loops may as well be the innermost loops of the storage
    level above (no fanout between, no factor or order limits on either, every rank allowed there): the
    same nest, so the same counts and cycles. Their factors stay 1, which removes copies of mappings."""
    storages = [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]
    out = set()
    for parent, i in zip(storages, storages[1:]):
        if any(i in levels for levels in kept.values()):
            continue
        if any(isinstance(arch.nodes[j], Fanout) for j in range(parent + 1, i)):
            continue
        a, b = cons.at(arch.nodes[parent].name), cons.at(arch.nodes[i].name)
        if a.factors or a.max_factors or a.permutation or b.factors or b.max_factors or b.permutation:
            continue
        ranks_here = {sl.rank for sl in slot_list if sl.node == i and sl.axis is None}
        if ranks_here <= {sl.rank for sl in slot_list if sl.node == parent and sl.axis is None}:
            out.add(i)
    return out


MAX_ROWS = 4_000_000


class TooManyTilings(Exception):
    """A group's tilings would not fit in memory; the search skips it and says it is not proven optimal."""


def _grow(F, E, k, rank, total, options, below):
    """Every row times every option for slot k that divides what is left of the rank (``total``: the
    rank's bound over its spatial factors; ``below``: the spatial factor of the rank already in E).
    Returns the new rows, their extents and the index of the row each came from."""
    left = total // (E[rank] // below)
    ok = (left[:, None] % np.array(options)[None, :]) == 0
    if ok.sum() > MAX_ROWS:
        raise TooManyTilings(f"more than {MAX_ROWS:,} partial tilings")
    rows, cols = np.nonzero(ok)
    F = F[rows]
    F[:, k] = np.array(options)[cols]
    E = {q: v[rows] for q, v in E.items()}
    E[rank] = E[rank] * F[:, k]
    return F, E, rows


def rank_class(einsum: Einsum, rank: str) -> tuple:
    """What a loop over `rank` is to every tensor: irrelevant, relevant, or (halo) the rank itself."""
    key = []
    for t in einsum.tensors:
        dims = [idx for idx in t.indices if rank in idx.ranks]
        if not dims:
            key.append("-")
        elif any(len(idx.terms) > 1 for idx in dims):
            key.append(rank)
        else:
            key.append("+")
    return tuple(key)


@lru_cache(maxsize=4096)
def _orders(ranks: tuple[str, ...], classes: tuple[tuple, ...]) -> tuple[tuple[str, ...], ...]:
    """Permutations of `ranks` (outer to inner) up to swaps of adjacent loops of one class."""
    position = {r: i for i, r in enumerate(ranks)}
    cls = dict(zip(ranks, classes))
    out = []
    for perm in itertools.permutations(ranks):
        if all(not (cls[a] == cls[b] and position[a] > position[b]) for a, b in zip(perm, perm[1:])):
            out.append(perm)
    return tuple(out)


def level_orders(einsum: Einsum, active: tuple[str, ...], permutation: tuple[str, ...] | None) -> tuple[tuple[str, ...], ...]:
    """Orders of one level's active loops (outer to inner), canonical up to harmless swaps. A
    ``permutation`` constraint fixes the innermost loops; the other ranks loop above them in any order."""
    fixed = tuple(r for r in (permutation or ()) if r in active)
    free = tuple(r for r in active if r not in fixed)
    return tuple(o + fixed for o in _orders(free, tuple(rank_class(einsum, r) for r in free)))


def count_orders(einsum: Einsum, active: tuple[str, ...], permutation) -> int:
    return len(level_orders(einsum, active, permutation))
