"""The loop nest as arrays: one structure (ranks, order, spatial axes, keep) and a batch of factors.

The mapper varies factors over a fixed structure, so everything downstream is vectorized over the batch.
"""
from __future__ import annotations

from dataclasses import dataclass

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


def rank_extents(s: NestStructure, factors: np.ndarray) -> np.ndarray:
    """[L+1, B, R]: extent of each rank spanned by loops[b:], for every boundary b."""
    B, L = factors.shape
    ext = np.ones((L + 1, B, len(s.ranks)), np.int64)
    for l in range(L - 1, -1, -1):
        ext[l] = ext[l + 1]
        ext[l, :, s.loop_rank[l]] *= factors[:, l]
    return ext


def box_extents(coef: np.ndarray, rank_ext: np.ndarray) -> np.ndarray:
    """Per tensor coordinate extent of a box of rank extents (halos and strides included)."""
    return (rank_ext - 1) @ np.abs(coef).T + 1


def translations(s: NestStructure, coef: np.ndarray, ext: np.ndarray, loops: np.ndarray) -> np.ndarray:
    """[B, len(loops), J]: how far one step of each loop moves the tensor's tile."""
    if len(loops) == 0:
        return np.zeros((ext.shape[1], 0, coef.shape[0]), np.int64)
    ranks = s.loop_rank[loops]
    stride = np.stack([ext[l + 1][:, r] for l, r in zip(loops, ranks)], axis=1)  # [B, n]
    return stride[:, :, None] * coef[:, ranks].T[None, :, :]
