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
        return math.ceil(math.prod(shape) * d.density)
    return float(min(math.prod(shape), round(d.density * total)))


def occupancy_pmf(d: Density, shape: tuple[int, ...], total: int) -> tuple[np.ndarray, np.ndarray]:
    """The distribution of a tile's nonzero count: (counts, probabilities)."""
    size = math.prod(shape)
    if d.distribution == "actual":
        counts, freq = np.unique(_blocks(np.asarray(d.data), shape), return_counts=True)
        return counts.astype(float), freq / freq.sum()
    if d.distribution == "fixed_structured":   # size x density nonzeros: the two whole counts around it
        x = size * d.density
        lo = math.floor(x + 1e-9)
        return (np.array([lo, lo + 1.0]), np.array([1.0 - (x - lo), x - lo])) if x - lo > 1e-9 else \
            (np.array([float(lo)]), np.array([1.0]))
    from scipy.stats import hypergeom
    k = np.arange(size + 1)
    return k.astype(float), hypergeom.pmf(k, total, round(d.density * total), size)


# Sparseloop's thresholds (tile values / block size, per block size, for mean densities 0.1 .. 1.0)
# below which a compressed tile's vector accesses follow its occupancy distribution.
_VECTOR_THRESHOLDS = {2: (251, 125, 84, 63, 51, 42, 36, 32, 28, 1), 4: (375, 188, 125, 94, 75, 63, 54, 47, 42, 1),
                      8: (438, 219, 146, 110, 88, 73, 63, 55, 49, 1), 16: (469, 235, 157, 118, 94, 79, 67, 59, 52, 1),
                      32: (485, 243, 162, 122, 97, 81, 70, 61, 52, 1)}


def vector_ratio(d: Density, shape: tuple[int, ...], total: int, block: int) -> float:
    """Factor on ``ceil(count / block)`` for a compressed tile's data accesses: a block holds the
    nonzeros of a small tile unevenly, so E[ceil(nnz / block)] / (E[nnz] / block) (Sparseloop's rule,
    used while the tile is smaller than a threshold number of blocks; 1 otherwise)."""
    size = math.prod(shape)
    mean = expected_nonzeros(d, shape, total) / size if size else 1.0
    if size == 0 or block <= 1 or mean >= 1.0:
        return 1.0
    row = _VECTOR_THRESHOLDS.get(block)
    idx = int(math.floor(mean / 0.1 + 1e-9)) - 1 if mean >= 0.1 else 0
    if row is None or row[idx] <= size // block:
        return 1.0
    counts, probs = occupancy_pmf(d, shape, total)
    real = counts >= 1
    return float(np.sum(np.ceil(counts[real] / block) * probs[real]) / (size * mean / block))
