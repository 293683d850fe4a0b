"""Local search: a good mapping fast, to start the exact search's pruning and to answer time-limited runs.

A point is (dataplacement, one loop order per storage level from a short menu, factors of every slot).
Each level's menu holds, per tensor, the order that puts the loops indexing that tensor outermost (its
tile then changes as rarely as the level allows). Unit loops change no count, so every point of one
(dataplacement, orders) pair is evaluated with the same loop structure over all slots: the whole
neighbourhood of a point is one numpy batch. A neighbour moves a factor of a rank from one slot
to another, or takes another spatial choice (the temporal factors adjusted), or changes one level's
order, or keeps or bypasses one tensor at one level. Descent from several starts (the best factor
move while one improves, then the best of every move: order and keep moves are one model call each,
a factor move's whole neighbourhood one call). No random kicks (iterated local search): measured, they
did not pay for their time once the exact search bounds its groups again inside its tasks.
Nothing here is claimed optimal; the exact search in search.py proves or improves it.
"""
from __future__ import annotations

import time

import numpy as np

from einloop.mapper.space import divisors
from einloop.model.evaluate import evaluate_batch
from einloop.model.nest import build_structure
from einloop.spec.arch import Fanout, Storage


def _choices(ctx) -> list[tuple[str, int]]:
    return [(t.name, i) for t in ctx.einsum.tensors for i in ctx.storages[1:]]


def _flip(key: tuple, tensor: str, level: int) -> tuple:
    """A dataplacement with one tensor's keep at one level flipped."""
    kept = dict(key)
    levels = set(kept[tensor]) ^ {level}
    kept[tensor] = tuple(sorted(levels))
    return tuple(sorted(kept.items()))


def order_menu(ctx, node: int) -> list[tuple[str, ...]]:
    """Orders (outer to inner) of a level's ranks: per tensor, the ranks indexing it outermost; a
    ``permutation`` constraint's ranks innermost."""
    ranks = [sl.rank for sl in ctx.slots if sl.node == node and sl.axis is None]
    fixed = [r for r in (ctx.cons.at(ctx.arch.nodes[node].name).permutation or ()) if r in ranks]
    free = [r for r in ranks if r not in fixed]
    menu = []
    for t in ctx.einsum.tensors:
        order = tuple(sorted(free, key=lambda r: r not in t.ranks)) + tuple(fixed)
        if order not in menu:
            menu.append(order)
    return menu


def loop_structure(ctx, dp: int, orders, active: np.ndarray | None = None):
    """The loop structure of one dataplacement and one order per storage level (outer to inner), and
    the slot of each of its loops; spatial slots all included, or those ``active``."""
    loops, cols = [], []
    by_level = dict(zip(ctx.storages, orders))
    for i, node in enumerate(ctx.arch.nodes):
        if isinstance(node, Storage):
            ks = [ctx.slot_index[(i, r, None)] for r in by_level[i]]
        elif isinstance(node, Fanout):
            ks = [k for k, sl in enumerate(ctx.slots) if sl.node == i and (active is None or active[k])]
        else:
            continue
        loops += [(ctx.slots[k].node, ctx.slots[k].rank, ctx.slots[k].axis) for k in ks]
        cols += ks
    return build_structure(ctx.einsum, ctx.arch, loops, ctx.dps[dp]), np.array(cols, np.int64)


def cached_structure(ctx, dp: int, orders, active: np.ndarray | None = None):
    """loop_structure, cached in ``ctx.structures`` (searches revisit the same structures for many
    batches of rows)."""
    key = (dp, orders, None if active is None else active.tobytes())
    hit = ctx.structures.get(key)
    if hit is None:
        if len(ctx.structures) > 20000:
            ctx.structures.clear()
        hit = ctx.structures[key] = loop_structure(ctx, dp, orders, active)
    return hit


class Neighbourhood:
    """Structures, menus and constraint checks of one search, cached."""

    def __init__(self, ctx, spatial: np.ndarray | None = None):
        self.ctx = ctx
        self.spatial = spatial   # [S, slots] the spatial choices (spatial columns only nonzero-meaningful)
        self.spatial_cols = np.array([k for k, sl in enumerate(ctx.slots) if sl.axis is not None], np.int64)
        self.menus = [order_menu(ctx, i) for i in ctx.storages]
        keys = [tuple(sorted(kept.items())) for kept in ctx.dps]
        index = {k: i for i, k in enumerate(keys)}
        self.dp_neighbours = [[index[k2] for k2 in (_flip(k, t, lv) for t, lv in _choices(ctx)) if k2 in index]
                              for k in keys]
        self._factor_checks, self._utilization_checks = self._checks()
        self.moves = [(a, b, d) for r, cols in ctx.rank_slots.items() for d in divisors(ctx.einsum.ranks[r])[1:]
                      for a in cols for b in cols if a != b]

    def structure(self, dp: int, menu: tuple[int, ...]):
        return cached_structure(self.ctx, dp, tuple(self.menus[j][m] for j, m in enumerate(menu)))

    def allowed(self, F: np.ndarray) -> np.ndarray:
        """Rows that respect the factor, max-factor and utilization constraints (capacity and mesh
        sizes are the model's validity)."""
        ok = np.ones(len(F), bool)
        for cols, exact, most in self._factor_checks:
            f = np.prod(F[:, cols], axis=1)
            if exact is not None:
                ok &= f == exact
            if most is not None:
                ok &= f <= most
        for cols, least in self._utilization_checks:
            ok &= np.prod(F[:, cols], axis=1) >= least
        return ok

    def _checks(self):
        """The constraints allowed() applies, as (slot columns, exact product, largest product) per node
        and rank, and (fanout columns, least product) per fanout with a minimum utilization."""
        ctx, factors, utilization = self.ctx, [], []
        for i, node in enumerate(ctx.arch.nodes):
            c = ctx.cons.at(node.name)
            mine = [k for k, sl in enumerate(ctx.slots) if sl.node == i]
            for r in ctx.einsum.ranks:
                cols = [k for k in mine if ctx.slots[k].rank == r]
                if cols and (r in c.factors or r in c.max_factors):
                    factors.append((cols, c.factors.get(r), c.max_factors.get(r)))
            if isinstance(node, Fanout) and c.min_utilization:
                utilization.append((mine, c.min_utilization * node.size))
        return factors, utilization

    def evaluate(self, dp: int, menu: tuple[int, ...], F: np.ndarray):
        """(objective, energy, cycles) per row; invalid rows get an infinite objective."""
        s, cols = self.structure(dp, menu)
        c = evaluate_batch(s, F[:, cols], reuse_rule=self.ctx.rule)
        obj = self.ctx.guide_of(c.energy, c.cycles)
        return np.where(c.valid & self.allowed(F), obj, np.inf), c.energy, c.cycles

    def neighbours(self, row: np.ndarray) -> np.ndarray:
        """Every row one factor away (a divisor of one slot's factor moved to another slot of its rank)."""
        out = []
        for a, b, p in self.moves:
            if row[a] % p == 0:
                n = row.copy()
                n[a] //= p
                n[b] *= p
                out.append(n)
        return np.array(out, np.int64).reshape(-1, len(row))

    def respatial(self, row: np.ndarray) -> np.ndarray:
        """The point under every other spatial choice: each rank's temporal factors keep what they can
        from the innermost slot outward (greatest common divisors), the outermost level takes the rest.
        Single-factor moves cannot swap spatial ranks (the mesh overflows in between)."""
        if self.spatial is None or not len(self.spatial_cols):
            return np.zeros((0, len(row)), np.int64)
        ctx = self.ctx
        out = np.repeat(row[None], len(self.spatial), axis=0)
        out[:, self.spatial_cols] = self.spatial[:, self.spatial_cols]
        for r, bound in ctx.einsum.ranks.items():
            temporal = [k for k in ctx.rank_slots[r] if ctx.slots[k].axis is None]   # outer to inner
            spatial = [k for k in ctx.rank_slots[r] if ctx.slots[k].axis is not None]
            left = bound // np.prod(out[:, spatial], axis=1)
            for k in temporal[:0:-1]:
                out[:, k] = np.gcd(out[:, k], left)
                left //= out[:, k]
            out[:, temporal[0]] = left
        return out[np.any(out != row[None], axis=1)]

    def _looping(self, j: int, order: tuple[str, ...], row: np.ndarray) -> tuple[str, ...]:
        """A level's order restricted to the ranks that iterate there in ``row``."""
        node = self.ctx.storages[j]
        return tuple(r for r in order if row[self.ctx.slot_index[(node, r, None)]] > 1)

    def orders(self, menu: tuple[int, ...], row: np.ndarray) -> tuple[tuple[str, ...], ...]:
        """The menu's orders restricted to the loops of ``row`` that iterate."""
        return tuple(self._looping(j, self.menus[j][m], row) for j, m in enumerate(menu))

    def descend(self, dp: int, menu: tuple[int, ...], row: np.ndarray, deadline: float | None):
        """Descent from one point (the best factor move while one improves, else the best of every
        move); returns (objective, energy, cycles, dp, menu, row)."""
        obj, e, c = self.evaluate(dp, menu, row[None])
        best = (float(obj[0]), float(e[0]), float(c[0]), dp, menu, row)
        began, step = None, 0.0
        while deadline is None or time.time() + step < deadline:   # (no step that would end past it)
            if began is not None:
                step = max(step, time.time() - began)
            began = time.time()
            cands = []
            F = np.concatenate([self.neighbours(best[5]), self.respatial(best[5])])
            if len(F):
                obj, e, c = self.evaluate(best[3], best[4], F)
                j = int(np.argmin(obj))
                cands.append((float(obj[j]), float(e[j]), float(c[j]), best[3], best[4], F[j]))
                if cands[0][0] < best[0]:   # a factor move improves: orders and keeps are tried later
                    best = cands[0]
                    continue
            for j, options in enumerate(self.menus):
                seen = {self._looping(j, options[best[4][j]], best[5])}
                for m in range(len(options)):
                    looping = self._looping(j, options[m], best[5])
                    if looping not in seen:   # orders equal on the loops that iterate are the same nest
                        seen.add(looping)
                        menu2 = best[4][:j] + (m,) + best[4][j + 1:]
                        obj, e, c = self.evaluate(best[3], menu2, best[5][None])
                        cands.append((float(obj[0]), float(e[0]), float(c[0]), best[3], menu2, best[5]))
            for dp2 in self.dp_neighbours[best[3]]:
                if dp2 != best[3]:
                    obj, e, c = self.evaluate(dp2, best[4], best[5][None])
                    cands.append((float(obj[0]), float(e[0]), float(c[0]), dp2, best[4], best[5]))
            nxt = min(cands, key=lambda x: (x[0], x[3], x[4], tuple(x[5])))
            if not nxt[0] < best[0]:
                break
            best = nxt
        return best

    def search(self, starts, deadline: float | None, target: float = -np.inf):
        """Descend from every start; the best local optimum. Stops as soon as the best reaches
        ``target`` (a lower bound: nothing can do better; within a relative 1e-9, as sums in another
        order may round the bound a hair above the same value)."""
        target = target * (1 + 1e-9) if target > 0 else target
        best = None
        for dp, menu, row in starts:
            if best is not None and ((deadline is not None and time.time() > deadline) or best[0] <= target):
                break
            found = self.descend(dp, menu, row, deadline)
            if best is None or found[0] < best[0]:
                best = found
        return best

