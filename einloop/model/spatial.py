"""Spatial reuse: children below a fanout that hold the same tile share one parent access.

Children's tiles differ by the offsets of the spatial loops between parent and child. Children whose
tiles coincide exactly are served by one multicast read (and, for outputs, reduced into one update);
partially overlapping tiles are not merged (Timeloop's ``CheckEquality`` rule). So the parent serves
one access per *distinct offset*.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


def _count_distinct(offsets: np.ndarray, factors: np.ndarray) -> int:
    """Distinct vectors sum_i x_i * offsets[i] with 0 <= x_i < factors[i].

    Loops that move the tile along disjoint sets of tensor dimensions are independent, so the count is a
    product over groups of loops connected by a shared dimension; only a group (e.g. p and r both
    moving the row of ``p+r``) is enumerated."""
    live = [i for i in range(len(factors)) if factors[i] > 1 and np.any(offsets[i] != 0)]
    groups: list[tuple[set, list[int]]] = []
    for i in live:
        dims = set(np.nonzero(offsets[i])[0])
        joined = [g for g in groups if g[0] & dims]
        for g in joined:
            groups.remove(g)
            dims |= g[0]
        groups.append((dims, [j for g in joined for j in g[1]] + [i]))
    total = 1
    for dims, members in groups:
        if len(members) == 1:
            total *= int(factors[members[0]])
            continue
        cols = sorted(dims)
        if len(cols) == 1:   # one dimension (p+r, or a flattened c*36+p*6+q): reachable sums as a bitmap
            total *= _count_sums([abs(int(offsets[i][cols[0]])) for i in members], [int(factors[i]) for i in members])
            continue
        points = np.zeros((1, len(cols)), np.int64)
        for i in members:
            steps = np.arange(factors[i])[:, None] * offsets[i][cols][None, :]
            points = np.unique((points[:, None, :] + steps[None, :, :]).reshape(-1, len(cols)), axis=0)
        total *= len(points)
    return total


@lru_cache(maxsize=1 << 16)
def _count_key(key: bytes, m: int) -> int:
    """_count_distinct of one row of (offsets..., factors...) given as bytes (cached: bound and
    search batches repeat the same spatial loops many times)."""
    u = np.frombuffer(key, np.int64)
    return _count_distinct(u[:-m].reshape(m, -1), u[-m:])


def _count_sums(offsets: list[int], factors: list[int]) -> int:
    """Distinct values of sum_i x_i * offsets[i], 0 <= x_i < factors[i], offsets >= 0. (A negative
    offset only shifts the set: x -> factor-1-x.)"""
    size = sum((f - 1) * o for o, f in zip(offsets, factors)) + 1
    reach = np.zeros(size, bool)
    reach[0] = True
    top = 0
    for o, f in zip(offsets, factors):
        new = reach.copy()
        for x in range(1, f):
            new[x * o:top + x * o + 1] |= reach[:top + 1]
        reach, top = new, top + (f - 1) * o
    return int(reach.sum())


def distinct_offsets(offsets: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Number of distinct child tiles per batch row.

    offsets: [B, m, J] translation of each spatial loop in the tensor's coordinates; factors: [B, m].
    """
    B, m = factors.shape
    if m == 0 or B == 0:   # no spatial loop: one tile; no rows: nothing to count
        return np.ones(B, np.int64)
    closed = _pattern_counts(offsets, factors)   # every row moving the same dimensions: a closed form
    if closed is not None:
        return closed
    live = (factors > 1) & np.any(offsets != 0, axis=2)
    out = np.prod(np.where(live, factors, 1), axis=1)   # right wherever no two live loops share a dimension
    shared = ((offsets != 0) & live[:, :, None]).sum(axis=1).max(axis=1, initial=0) > 1
    if shared.any():
        key = np.concatenate([offsets[shared].reshape(int(shared.sum()), -1), factors[shared]], axis=1)
        first, inverse = unique_rows(key)
        counts = np.array([_count_key(u.tobytes(), m) for u in key[first]], np.int64)
        out[shared] = counts[inverse]
    return out


def _pattern_counts(offsets: np.ndarray, factors: np.ndarray) -> np.ndarray | None:
    """Closed form when every row moves the same dimensions (a tensor's coefficients, or the spatial
    translations of one loop structure): every loop moves one dimension, at most two share one, and
    the smaller of their steps divides the larger. With extents X (step a) and Y (step k*a) the points
    are runs of X every k: min(X*Y, (Y-1)*k + X), which holds for unit extents too. None otherwise."""
    moves = offsets[0] != 0                                            # [m, J]
    if np.any(moves.sum(axis=1) > 1) or np.any(moves.sum(axis=0) > 2) or \
            (offsets.strides[0] != 0 and not np.all((offsets != 0) == moves[None])):
        return None
    count = np.ones(factors.shape[0], np.int64)
    for j in range(moves.shape[1]):
        loops = np.nonzero(moves[:, j])[0]
        if len(loops) == 1:
            count = count * factors[:, loops[0]]
        elif len(loops) == 2:
            a, b = np.abs(offsets[:, loops[0], j]), np.abs(offsets[:, loops[1], j])
            small, large = np.minimum(a, b), np.maximum(a, b)
            if np.any(large % small):
                return None
            x = np.where(a <= b, factors[:, loops[0]], factors[:, loops[1]])   # the loop with the small step
            y = np.where(a <= b, factors[:, loops[1]], factors[:, loops[0]])
            count = count * np.minimum(x * y, (y - 1) * (large // small) + x)
    return count


def unique_rows(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the first row of each distinct row, id of each row's distinct row) of an integer matrix,
    distinct rows numbered in lexicographic order.

    Columns are folded into one integer (mixed radix over each column's range when that fits in 62
    bits, else a 1-D unique per column): much faster than ``np.unique(axis=0)``, which sorts whole rows
    as bytes."""
    key = np.asarray(key, np.int64)
    if len(key) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = key.reshape(len(key), -1)
    low = key.min(axis=0)
    spans = [int(x) for x in key.max(axis=0) - low + 1]
    if np.prod([float(x) for x in spans]) < 2.0 ** 62:
        ids = np.zeros(len(key), np.int64)
        for col, lo, span in zip(key.T, low, spans):
            ids = ids * span + (col - lo)
    else:
        ids = np.zeros(len(key), np.int64)
        for col in key.T:
            _, col_id = np.unique(col, return_inverse=True)
            _, ids = np.unique(ids * (int(col_id.max(initial=0)) + 1) + col_id, return_inverse=True)
    _, first, ids = np.unique(ids, return_index=True, return_inverse=True)
    return first, ids.reshape(-1)
