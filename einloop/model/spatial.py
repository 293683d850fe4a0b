"""Spatial reuse: children below a fanout that hold the same tile share one parent access.

Children's tiles differ by the offsets of the spatial loops between parent and child. Children whose
tiles coincide exactly are served by one multicast read (and, for outputs, reduced into one update);
partially overlapping tiles are not merged (Timeloop's ``CheckEquality`` rule). So the parent serves
one access per *distinct offset*.
"""
from __future__ import annotations

import itertools

import numpy as np


def _count_distinct(offsets: np.ndarray, factors: np.ndarray) -> int:
    """Distinct vectors sum_i x_i * offsets[i] with 0 <= x_i < factors[i]."""
    live = [i for i in range(len(factors)) if factors[i] > 1 and np.any(offsets[i] != 0)]
    if not live:
        return 1
    dims_used = [set(np.nonzero(offsets[i])[0]) for i in live]
    if all(a.isdisjoint(b) for a, b in itertools.combinations(dims_used, 2)):
        # Loops that move the tile along different tensor dimensions never coincide.
        return int(np.prod([factors[i] for i in live]))
    points = np.zeros((1, offsets.shape[1]), np.int64)
    for i in live:
        steps = np.arange(factors[i])[:, None] * offsets[i][None, :]
        points = (points[:, None, :] + steps[None, :, :]).reshape(-1, offsets.shape[1])
        points = np.unique(points, axis=0)
    return len(points)


def distinct_offsets(offsets: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Number of distinct child tiles per batch row.

    offsets: [B, m, J] translation of each spatial loop in the tensor's coordinates; factors: [B, m].
    """
    B, m = factors.shape
    if m == 0:
        return np.ones(B, np.int64)
    key = np.concatenate([offsets.reshape(B, -1), factors], axis=1)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    counts = np.array([_count_distinct(u[:-m].reshape(m, -1), u[-m:]) for u in uniq], np.int64)
    return counts[inverse.reshape(-1)]
