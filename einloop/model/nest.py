"""The loop nest as arrays: one structure (ranks, order, spatial axes, keep) and a batch of factors.

The mapper varies factors over a fixed structure, so everything downstream is vectorized over the batch.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from functools import lru_cache

import numpy as np

from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.mapping import Loop, Mapping, keeps
from einloop.spec.workload import Einsum

TEMPORAL, SPATIAL_X, SPATIAL_Y = 0, 1, 2
_AXIS = {None: TEMPORAL, "X": SPATIAL_X, "Y": SPATIAL_Y}


@dataclass(frozen=True, eq=False)  # hashed by identity: plans are cached per structure
class NestStructure:
    """Loops outer to inner (rank index, axis, owning node) and which storage levels keep which tensor."""

    einsum: Einsum
    arch: Architecture
    ranks: tuple[str, ...]
    loop_rank: np.ndarray   # [L] index into ranks
    loop_axis: np.ndarray   # [L] TEMPORAL / SPATIAL_X / SPATIAL_Y
    loop_node: np.ndarray   # [L] index into arch.nodes
    boundary: tuple[int, ...]  # per arch node: index of its first loop (its tile = loops[boundary:])
    kept: dict[str, tuple[int, ...]]  # tensor -> arch node indices of storage levels keeping it, outer first

    @property
    def n_loops(self) -> int:
        return len(self.loop_rank)

    def coefficients(self, tensor: str) -> np.ndarray:
        """[J, R] integer coefficient of each rank in each tensor coordinate."""
        t = self.einsum.tensor(tensor)
        return np.array([[idx.coefficient(r) for r in self.ranks] for idx in t.indices], np.int64).reshape(
            len(t.indices), len(self.ranks))


def build_structure(einsum: Einsum, arch: Architecture, loops: list[tuple[int, str, str | None]],
                    keep: dict[str, tuple[int, ...]]) -> NestStructure:
    """A structure from loops (arch node index, rank, spatial axis) listed outer to inner, node by node."""
    ranks = tuple(einsum.ranks)
    boundary, pos = [], 0
    for i in range(len(arch.nodes)):
        boundary.append(pos)
        pos += sum(1 for n, _, _ in loops if n == i)
    return NestStructure(einsum, arch, ranks,
                         np.array([ranks.index(r) for _, r, _ in loops], np.int64).reshape(-1),
                         np.array([_AXIS[a] for _, _, a in loops], np.int64).reshape(-1),
                         np.array([n for n, _, _ in loops], np.int64).reshape(-1),
                         tuple(boundary), keep)


def structure_of(einsum: Einsum, arch: Architecture, mapping: Mapping) -> tuple[NestStructure, np.ndarray]:
    """The structure and the [1, L] factors of one mapping (unit-factor loops dropped)."""
    loops: list[tuple[Loop, int]] = [(l, i) for i, node in enumerate(arch.nodes) if isinstance(node, (Storage, Fanout))
                                     for l in mapping.for_node(node.name).loops if l.factor > 1]
    kept = {t.name: tuple(i for i, n in enumerate(arch.nodes) if isinstance(n, Storage) and keeps(mapping, n.name, t.name))
            for t in einsum.tensors}
    s = build_structure(einsum, arch, [(i, l.rank, l.spatial) for l, i in loops], kept)
    return s, np.array([[l.factor for l, _ in loops]], np.int64).reshape(1, len(loops))


class RankExtents:
    """Each rank's extent spanned by loops[b:] for any boundary b, as ``ext[b]`` ([B, R]). Kept as
    running products of each rank's own loops (a [L+1, B, R] array would be mostly copies: the
    mapper's bound batches hold 10^5 rows)."""

    def __init__(self, s: NestStructure, factors: np.ndarray):
        mine, starts, self.column = _extent_plan(s)
        self.products = np.ones((factors.shape[0], factors.shape[1] + len(s.ranks)), np.int64)
        for loops, start in zip(mine, starts):   # per rank: its loops' suffix products, then 1
            if len(loops):
                self.products[:, start:start + len(loops)] = np.cumprod(factors[:, loops[::-1]], axis=1)[:, ::-1]
        self._at: dict[int, np.ndarray] = {}   # boundaries asked for (read only: shared)

    def __getitem__(self, b) -> np.ndarray:
        b = int(b)
        if b not in self._at:
            self._at[b] = self.products[:, self.column[b]]
        return self._at[b]

    def of_loops(self, loops: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        """[B, n] extent of rank ``ranks[i]`` spanned by the loops inside loop ``loops[i]``."""
        return self.products[:, self.column[loops + 1, ranks]]


@lru_cache(maxsize=8192)
def _extent_plan(s: NestStructure):
    """Per rank its loops and first column in RankExtents.products, and the [L+1, R] column of every
    (boundary, rank): what does not depend on the factors."""
    L, R = s.n_loops, len(s.ranks)
    mine = [np.nonzero(s.loop_rank == r)[0] for r in range(R)]
    starts = np.cumsum([0] + [len(m) + 1 for m in mine[:-1]])
    column = np.stack([start + np.searchsorted(m, np.arange(L + 1)) for m, start in zip(mine, starts)], axis=1)
    return mine, starts, column.reshape(L + 1, R)


def rank_extents(s: NestStructure, factors: np.ndarray) -> RankExtents:
    """Extent of each rank spanned by loops[b:], for every boundary b (``ext[b]``: [B, R])."""
    return RankExtents(s, factors)


def box_extents(coef: np.ndarray, rank_ext: np.ndarray) -> np.ndarray:
    """[B, J] per tensor coordinate extent of a box of rank extents [B, R] (halos and strides
    included): 1 + sum of |coefficient| * (extent - 1) over the coordinate's ranks. Small batches: one
    integer matrix product; big ones (the mapper's bounds): a sum over the few nonzero coefficients,
    twice faster there."""
    if rank_ext.shape[0] < 2048:
        return (rank_ext - 1) @ np.abs(coef).T + 1
    out = np.ones((rank_ext.shape[0], coef.shape[0]), np.int64)
    for j, terms in enumerate(_terms(coef.tobytes(), coef.shape)):
        for r, c in terms:
            out[:, j] += (rank_ext[:, r] - 1) * c
    return out


@lru_cache(maxsize=1024)
def _terms(key: bytes, shape: tuple[int, int]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per coordinate, the (rank, |coefficient|) pairs that are nonzero."""
    coef = np.abs(np.frombuffer(key, np.int64).reshape(shape))
    return tuple(tuple((r, int(coef[j, r])) for r in range(shape[1]) if coef[j, r]) for j in range(shape[0]))


def translations(s: NestStructure, coef: np.ndarray, ext: RankExtents, loops: np.ndarray) -> np.ndarray:
    """[B, len(loops), J]: how far one step of each loop moves the tensor's tile."""
    if len(loops) == 0:
        return np.zeros((ext.products.shape[0], 0, coef.shape[0]), np.int64)
    ranks = s.loop_rank[loops]
    stride = ext.of_loops(loops, ranks)  # [B, n]
    return stride[:, :, None] * coef[:, ranks].T[None, :, :]


def take_rows(batch, rows):
    """A batch result (NestCounts, BatchCosts: dataclasses of [B, ...] arrays, dicts of them and nested
    such dataclasses) restricted to ``rows`` (a mask or indices)."""
    if isinstance(batch, np.ndarray):
        return batch[rows] if batch.ndim else batch
    if isinstance(batch, dict):
        return {k: take_rows(v, rows) for k, v in batch.items()}
    if is_dataclass(batch):
        return replace(batch, **{f.name: take_rows(getattr(batch, f.name), rows) for f in fields(batch)})
    return batch
