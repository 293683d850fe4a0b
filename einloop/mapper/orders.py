"""The best loop orders of complete tilings: per-level minima instead of every combination of orders.

Under the bound rule ``"slide"`` (model/reuse.py: every step fetches only the points new to the tile)
a tensor's traffic through a link is a sum over the temporal loops outside the child. A loop's step
count depends on the loops outside it in its own level (the levels above multiply it in any order)
and its translation on the loops inside it in its own level (the levels below contribute their whole
span). So dynamic energy is a sum of per-level terms, and its minimum over all loop orders is the sum
of per-level minima: one evaluation per order of each level, not one per combination of orders.
For tensors without sliding windows "slide" is the model's own rule, so the minimum is reached; with
them it is a lower bound, and the search evaluates the orders reaching it exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from einloop.mapper.local import cached_structure
from einloop.mapper.space import level_orders
from einloop.model.evaluate import evaluate_batch
from einloop.model.reuse import BOUND_RULE


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
    table."""
    hops = links(ctx, dp) if hops is None else hops
    ref_orders = reference_orders(ctx)
    s, cols = cached_structure(ctx, dp, ref_orders)
    ref_costs = evaluate_batch(s, T[:, cols], reuse_rule=BOUND_RULE, tensors=tuple({t for _, _, t in hops}))
    base = link_energy(ref_costs, hops) + rest
    tables, evaluations = [], len(T)
    for j, i in enumerate(ctx.storages):
        level_slots = [k for k, sl in enumerate(ctx.slots) if sl.node == i and sl.axis is None]
        patterns, group = np.unique(T[:, level_slots] > 1, axis=0, return_inverse=True)
        group = group.reshape(-1)
        position = np.zeros(len(T), np.int64)
        menus, deltas = [], []
        permutation = ctx.cons.at(ctx.arch.nodes[i].name).permutation
        affected = [h for h in hops if h[1] > i and h[1] != len(ctx.arch.nodes) - 1]   # its order moves these
        ref_affected = link_energy(ref_costs, affected)
        tensors = tuple({t for _, _, t in affected})
        for g, on in enumerate(patterns):
            rows = np.nonzero(group == g)[0]
            position[rows] = np.arange(len(rows))
            active = tuple(ctx.slots[k].rank for k, a in zip(level_slots, on) if a)
            menu = level_orders(ctx.einsum, active, permutation)
            d = np.zeros((len(rows), len(menu)))
            if len(menu) > 1 and affected:   # a single canonical order is equivalent to the reference
                evaluations += len(rows) * len(menu)
                for m, order in enumerate(menu):
                    s, cols = cached_structure(ctx, dp, ref_orders[:j] + (order,) + ref_orders[j + 1:])
                    c = evaluate_batch(s, T[rows][:, cols], reuse_rule=BOUND_RULE, tensors=tensors)
                    d[:, m] = link_energy(c, affected) - ref_affected[rows]
            menus.append(menu)
            deltas.append(d)
        tables.append(LevelTable(group, position, menus, deltas))
    bound = base + sum((t.low for t in tables), np.zeros(len(T)))
    return OrderBounds(bound, base, tables, evaluations)

