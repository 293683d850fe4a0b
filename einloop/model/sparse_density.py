"""Tile statistics of a density model: the probability that a tile is non-empty and its expected
number of nonzeros, for fixed-structured, uniform random (hypergeometric) and actual-data tensors."""
from __future__ import annotations

import math

import numpy as np

from einloop.spec.sparse import Density


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeometric_empty(total: int, nonzeros: int, tile: int) -> float:
    """P(a tile of ``tile`` of ``total`` values holds none of the ``nonzeros``): C(N-K, s) / C(N, s)."""
    if tile > total - nonzeros:
        return 0.0
    return math.exp(_log_choose(total - nonzeros, tile) - _log_choose(total, tile))


def _blocks(data: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nonzero count of every aligned tile of ``shape`` (the array zero-padded to whole tiles)."""
    shape = tuple(min(s, n) for s, n in zip(shape, data.shape))
    padded = [math.ceil(n / s) * s for n, s in zip(data.shape, shape)]
    nz = np.zeros(padded, dtype=np.int64)
    nz[tuple(slice(0, n) for n in data.shape)] = data != 0
    split = []
    for n, s in zip(padded, shape):
        split += [n // s, s]
    return nz.reshape(split).sum(axis=tuple(range(1, 2 * len(shape), 2)))


def prob_nonempty(d: Density, shape: tuple[int, ...], total: int) -> float:
    """P(a tile of ``shape`` (per tensor dimension) has a nonzero), ``total`` = the tensor's size."""
    size = math.prod(shape)
    if d.density >= 1.0:
        return 1.0
    if d.distribution == "actual":
        return float(np.mean(_blocks(np.asarray(d.data), shape) > 0))
    if d.distribution == "fixed_structured":
        return min(1.0, size * d.density)
    return 1.0 - hypergeometric_empty(total, round(d.density * total), size)


def expected_nonzeros(d: Density, shape: tuple[int, ...], total: int) -> float:
    """Expected nonzeros in a tile of ``shape``: density x size (for actual data: the mean over tiles)."""
    if d.distribution == "actual":
        return float(np.mean(_blocks(np.asarray(d.data), shape)))
    if d.distribution == "hypergeometric":
        return math.prod(shape) * round(d.density * total) / total
    return math.prod(shape) * d.density


def max_nonzeros(d: Density, shape: tuple[int, ...], total: int) -> float:
    """The most nonzeros a tile can hold (capacity checks): exact for structured and actual data, the
    whole tile (no overbooking) for uniform random."""
    if d.distribution == "actual":
        return float(np.max(_blocks(np.asarray(d.data), shape)))
    if d.distribution == "fixed_structured":
        return math.ceil(math.prod(shape) * d.density - 1e-9)
    return float(min(math.prod(shape), round(d.density * total)))
