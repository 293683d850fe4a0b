"""The best loop orders of complete tilings: per-level minima instead of every combination of orders.

Under the bound rule ``"slide"`` (model/reuse.py: every step fetches only the points new to the tile)
a tensor's traffic through a link is a sum over the temporal loops outside the child. A loop's step
count depends on the loops outside it in its own level (the levels above multiply it in any order)
and its translation on the loops inside it in its own level (the levels below contribute their whole
span). So dynamic energy is a sum of per-level terms, and its minimum over all loop orders is the sum
of per-level minima: one evaluation per order of each level, not one per combination of orders.
For tensors without sliding windows "slide" is the model's own rule, so the minimum is reached; with
them it is a lower bound, and the search evaluates the orders reaching it exactly.

Each loop's term depends on its level's order only through the set of that level's loops inside it,
so a level with k looping ranks needs k * 2^(k-1) step terms, computed at once with numpy; every
order's value is then a sum of k of them (_step_terms), no model call per order.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from einloop.mapper.local import cached_structure
from einloop.mapper.space import level_orders
from einloop.model.accesses import count_accesses, plan
from einloop.model.nest import box_extents, rank_extents
from einloop.model.costs import charged_instances, costs, priced
from einloop.model.reuse import BOUND_RULE
from einloop.model.spatial import unique_rows


@dataclass
class LevelTable:
    """One storage level: rows grouped by which of its loops iterate; per group the canonical orders
    of those loops and each order's change of dynamic energy against the reference order."""

    group: np.ndarray                       # [B] group of each row
    position: np.ndarray                    # [B] row's index inside its group
    menus: list[tuple[tuple[str, ...], ...]]
    deltas: list[np.ndarray]                # per group [rows, orders]

    def __post_init__(self):
        """Per row the lowest change and the index of the (first) order reaching it."""
        self.low, self.arg = np.zeros(len(self.group)), np.zeros(len(self.group), np.int64)
        for g, d in enumerate(self.deltas):
            rows = np.nonzero(self.group == g)[0]
            self.arg[rows] = np.argmin(d, axis=1)
            self.low[rows] = d[np.arange(len(rows)), self.arg[rows]]


@dataclass
class OrderBounds:
    bound: np.ndarray                        # [B] energy no loop order can beat
    base: np.ndarray                         # [B] reference dynamic energy + compute + leakage bound
    tables: list[LevelTable]                 # one per storage level, outer first
    evaluations: int                         # mappings evaluated under "slide"

    def orders(self, row: int, choice: tuple[int, ...]) -> tuple[tuple[str, ...], ...]:
        return tuple(t.menus[t.group[row]][c] for t, c in zip(self.tables, choice))

    def best_choice(self) -> np.ndarray:
        """[B, levels] index of each level's best order."""
        return np.stack([t.arg for t in self.tables], axis=1)


def reference_orders(ctx) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(sl.rank for sl in ctx.slots if sl.node == i and sl.axis is None) for i in ctx.storages)


def links(ctx, dp: int) -> list[tuple[int, int, str]]:
    """Every (parent, child, tensor) hop of a dataplacement; the compute unit is the last child."""
    compute = len(ctx.arch.nodes) - 1
    out = []
    for t, levels in ctx.dps[dp].items():
        chain = tuple(levels) + (compute,)
        out += [(p, c, t) for p, c in zip(chain, chain[1:])]
    return out


def link_energy(costs, hops) -> np.ndarray:
    """Dynamic energy of some hops: the parent's reads and updates, the child's fills. Summed over every
    hop of a dataplacement it is the whole dynamic energy."""
    total = np.zeros(len(costs.energy))
    for p, c, t in hops:
        for key in ((p, t, "read"), (p, t, "update"), (c, t, "fill")):
            if key in costs.action_energy:
                total = total + costs.action_energy[key]
    return total


def order_bounds(ctx, dp: int, T: np.ndarray, rest: np.ndarray, hops=None) -> OrderBounds:
    """Per complete tiling the lowest energy of ``hops`` (default: all) over all loop orders under
    "slide", plus ``rest`` [B]: everything else (compute, a leakage bound, the other hops' optimistic
    energy when a partial tiling has not decided them, see search._outer_bounds), and every level's
    table. The reference orders are evaluated by the model; each other order of a level changes the
    counts of the hops below it by closed-form step terms (_step_terms), priced like the model does."""
    hops = links(ctx, dp) if hops is None else hops
    ref_orders = reference_orders(ctx)
    s, cols = cached_structure(ctx, dp, ref_orders)
    nc = count_accesses(s, T[:, cols], BOUND_RULE, tensors=tuple({t for _, _, t in hops}))
    ref_costs = costs(s, nc)
    base = link_energy(ref_costs, hops) + rest
    tables, evaluations = [], len(T)
    for j, i in enumerate(ctx.storages):
        level_slots = [k for k, sl in enumerate(ctx.slots) if sl.node == i and sl.axis is None]
        first, group = unique_rows(T[:, level_slots] > 1)
        patterns = T[first][:, level_slots] > 1
        group = group.reshape(-1)
        position = np.zeros(len(T), np.int64)
        menus, deltas = [], []
        permutation = ctx.cons.at(ctx.arch.nodes[i].name).permutation
        affected = [h for h in hops if h[1] > i and h[1] != len(ctx.arch.nodes) - 1]   # its order moves these
        for g, on in enumerate(patterns):
            rows = np.nonzero(group == g)[0]
            position[rows] = np.arange(len(rows))
            active = [k for k, a in zip(level_slots, on) if a]
            menu = level_orders(ctx.einsum, tuple(ctx.slots[k].rank for k in active), permutation)
            d = np.zeros((len(rows), len(menu)))
            if len(menu) > 1 and affected:   # a single canonical order is equivalent to the reference
                evaluations += len(rows) * len(menu)
                d = _order_deltas(ctx, s, cols, nc, ref_costs, T[rows], rows, i, active, menu, affected)
            menus.append(menu)
            deltas.append(d)
        tables.append(LevelTable(group, position, menus, deltas))
    bound = base + sum((t.low for t in tables), np.zeros(len(T)))
    return OrderBounds(bound, base, tables, evaluations)


def _step_terms(ctx, T: np.ndarray, extents: list[np.ndarray], level: int, active: list[int], coef: np.ndarray,
                child: int, needed: tuple[np.ndarray, ...]) -> np.ndarray:
    """[B, k, 2^k] words a child instance fetches (under "slide") on the steps of each active loop
    ``a`` of ``level`` when the loops in the subset ``mask`` (bit b: ``active[b]``) of that level sit
    inside it (entries with ``a`` in ``mask`` unused). Its steps are (b_a - 1) times every temporal
    loop outside it; each step moves the child's tile by its stride minus the wrap-back of the loops
    inside it (those of ``mask``, and every temporal loop between ``level`` and the child) and fetches
    the points not in the previous tile (model/reuse.py). So a level's order changes a hop's count by
    a sum of one term per loop, each depending only on which loops of the level are inside it.
    ``needed[a]``: the masks asked of loop ``a`` (the others stay 0)."""
    ranks = list(ctx.einsum.ranks)
    B, k = len(T), len(active)
    box = box_extents(coef, extents[child])                             # [B, J] the child's tile
    full = np.prod(box, axis=1)
    below = extents[level + 1]                                           # spans under ``level``
    wrap = np.zeros(box.shape, np.int64)                                 # inner levels' wrap-back
    above = np.ones(B, np.int64)
    for q, sl in enumerate(ctx.slots):
        if sl.axis is not None:
            continue
        if sl.node < level:
            above *= T[:, q]
        elif level < sl.node < child:
            r = ranks.index(sl.rank)
            wrap += ((T[:, q] - 1) * extents[sl.node + 1][:, r])[:, None] * coef[:, r][None, :]
    b = T[:, active]                                                      # [B, k]
    r_of = [ranks.index(ctx.slots[q].rank) for q in active]
    stride = np.stack([below[:, r][:, None] * coef[:, r][None, :] for r in r_of], axis=1)   # [B, k, J]
    shift = np.zeros((1 << k,) + box.shape, np.int64)                      # [2^k, B, J] wrap of a mask's loops
    inside = np.ones((1 << k, B), np.int64)                                # product of a mask's loops
    for mask in range(1, 1 << k):
        low = (mask & -mask).bit_length() - 1
        shift[mask] = shift[mask & (mask - 1)] + (b[:, low] - 1)[:, None] * stride[:, low]
        inside[mask] = inside[mask & (mask - 1)] * b[:, low]
    out = np.zeros((B, k, 1 << k))
    for a in range(k):
        m = needed[a]
        move = stride[None, :, a] - shift[m] - wrap[None]                    # [masks, B, J]
        kept_points = np.prod(np.maximum(box[None] - np.abs(move), 0), axis=2)
        outside = inside[-1][None] // (b[:, a][None] * inside[m])           # level loops outside ``a``
        out[:, a, m] = ((b[:, a] - 1)[None] * above[None] * outside * (full[None] - kept_points)).T
    return out


def _order_masks(active_ranks: tuple[str, ...], order: tuple[str, ...]) -> list[int]:
    """Per active loop, the mask of the active loops inside it under ``order`` (outer to inner)."""
    pos = {r: order.index(r) for r in active_ranks}
    return [sum(1 << b for b, other in enumerate(active_ranks) if pos[other] > pos[r]) for r in active_ranks]


@lru_cache(maxsize=1024)
def _menu_masks(active_ranks: tuple[str, ...], menu: tuple[tuple[str, ...], ...]) -> tuple:
    """([orders + 1, active] _order_masks of every order of ``menu`` and of the reference order (last),
    per active loop the distinct masks among them: the only step terms asked)."""
    masks = np.array([_order_masks(active_ranks, o) for o in menu + (active_ranks,)])
    return masks, tuple(np.unique(masks[:, a]) for a in range(len(active_ranks)))


def _order_deltas(ctx, s, cols, nc, ref_costs, T, rows, level, active, menu, affected) -> np.ndarray:
    """[rows, orders] energy of the ``affected`` hops under each order of ``level`` (the other levels at
    their reference orders) minus that under the reference order, counts priced as model/costs.py does."""
    ranks = tuple(ctx.slots[q].rank for q in active)
    spans = rank_extents(s, T[:, cols])
    ext = [spans[b] for b in s.boundary]   # per arch node: each rank's extent over it and the nodes below
    masks, needed = _menu_masks(ranks, tuple(menu))   # the reference order last
    out = np.zeros((len(rows), len(menu)))
    for p, c, t in affected:
        terms = _step_terms(ctx, T, ext, level, active, plan(s).coef[t], c, needed)
        words = terms[:, np.arange(len(ranks))[None, :], masks].sum(axis=2)    # [rows, orders + 1]
        change = words[:, :-1] - words[:, -1:]
        parent = nc.counts[(p, t)]
        spread = (nc.instances[rows, c] / nc.instances[rows, p] / parent.multicast[rows])[:, None]
        moved = [(p, "read", parent.reads[rows], spread), (c, "fill", nc.counts[(c, t)].fills[rows], 1.0)]
        if ctx.einsum.tensor(t).is_output:
            moved.append((p, "update", parent.updates[rows], spread))
        for node_index, action, count, scale in moved:
            node = ctx.arch.nodes[node_index]
            energy = priced(s, node, t, action, count[:, None] + change * scale,
                            charged_instances(s, node, nc.instances[rows, node_index])[:, None])
            out += energy - ref_costs.action_energy[(node_index, t, action)][rows][:, None]
    return out
