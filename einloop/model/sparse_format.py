"""Metadata of a compressed tile: per rank (outer to inner) the metadata and payload items a format
stores, from the tile's shape and the tensor's density model.

A tile's ranks are the loops of the mapping from its level inward that index the tensor (factor > 1),
outer to inner, as Sparseloop splits a tile by the loop nest; with fewer formats than ranks the first
format covers the outer ranks flattened, with more the extra outer ranks have size 1. A format with
``flattened_rankIDs`` takes the run of inner loops over those problem ranks instead (within the level's
own loops or within its child's tile). With
``fibers`` the fibers of a rank and ``nonempty`` its expected non-empty coordinates (every coordinate
whose sub-tile holds a nonzero):

* U: nothing; UOP: payload fibers x (size + 1) offsets; B: metadata fibers x size bits (1 bit each
  unless metadata_word_bits says otherwise);
* CP and RLE: metadata one coordinate (run length) per non-empty coordinate.

The next rank has ``nonempty`` fibers under a compressed rank (CP, RLE, B), every coordinate under an
uncompressed one (U, UOP).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from einloop.model.sparse_density import expected_nonzeros, prob_nonempty
from einloop.spec.sparse import Density, RankFormat
from einloop.spec.workload import Tensor

COMPRESSED = ("CP", "RLE", "B")


@dataclass(frozen=True)
class RankMetadata:
    """Items one rank of a tile stores: ``metadata`` and ``payload``, each of ``bits`` bits."""

    format: str
    metadata: float
    payload: float
    bits: int                    # per metadata item
    payload_bits: int | None = None   # per payload item (None: ``bits``)

    @property
    def items(self) -> float:
        """Metadata plus payload items."""
        return self.metadata + self.payload

    @property
    def total_bits(self) -> float:
        """Bits the rank stores: metadata and payload items at their widths."""
        return self.metadata * self.bits + self.payload * (self.bits if self.payload_bits is None else self.payload_bits)


def is_compressed(formats: tuple[RankFormat, ...] | None) -> bool:
    """A tensor whose format has a compressed rank stores and moves only its nonzeros."""
    return bool(formats) and any(f.format in COMPRESSED for f in formats)


def _flattened_groups(loops: list[tuple[str, int]], formats: tuple[RankFormat, ...],
                      own: int) -> list[list[tuple[str, int]]]:
    """With flattened_rankIDs: from the innermost format out, each rank takes the longest run of inner
    loops over its problem ranks (one loop if it names none), never across the boundary between the
    level's own loops (the first ``own``) and its child's tile; loops left over join the outermost."""
    groups: list[list[tuple[str, int]]] = [[] for _ in formats]
    end = len(loops)
    for k in range(len(formats) - 1, -1, -1):
        allowed, lower = formats[k].flattened, (own if end > own else 0)
        start = end
        if allowed is None:
            start = max(lower, end - 1)
        while allowed is not None and start > lower and loops[start - 1][0] in allowed:
            start -= 1
        groups[k] = loops[start:end]
        end = start
    groups[0] = loops[:end] + groups[0]
    return groups


def rank_groups(loops: list[tuple[str, int]], formats: tuple[RankFormat, ...], own: int = 0) \
        -> list[list[tuple[str, int]]]:
    """The loops each format rank covers, outer to inner."""
    n_ranks = len(formats)
    if any(f.flattened for f in formats):
        return _flattened_groups(loops, formats, own)
    if n_ranks <= len(loops):
        first = len(loops) - n_ranks + 1
        return [loops[:first]] + [[lp] for lp in loops[first:]]
    return [[] for _ in range(n_ranks - len(loops))] + [[lp] for lp in loops]


def tile_metadata(formats: tuple[RankFormat, ...], loops: list[tuple[str, int]], tensor: Tensor,
                  density: Density, total: int, default_bits: int, own: int = 0) -> list[RankMetadata]:
    """Per rank, outer to inner, the metadata and payload items of one tile spanned by ``loops``
    ((rank, factor), outer to inner, only those indexing ``tensor``; the first ``own`` at its level)."""
    groups = rank_groups(loops, formats, own)
    out, fibers, above = [], 1.0, 1.0
    for k, (fmt, group) in enumerate(zip(formats, groups)):
        size = math.prod(f for _, f in group)
        ext: dict[str, int] = {}
        for r, f in (lp for g in groups[k + 1:] for lp in g):
            ext[r] = ext.get(r, 1) * f
        above *= size
        if k == len(formats) - 1:   # the innermost rank's coordinates are the tile's nonzeros
            whole: dict[str, int] = {}
            for r, f in loops:
                whole[r] = whole.get(r, 1) * f
            nonempty = expected_nonzeros(density, tensor.extents(whole), total)
        else:
            nonempty = above * prob_nonempty(density, tensor.extents(ext), total)
        coords = fibers * size
        meta, payload = {"U": (0.0, 0.0), "UOP": (0.0, fibers * (size + 1)), "B": (coords, 0.0),
                         "CP": (nonempty, 0.0), "RLE": (nonempty, 0.0)}[fmt.format]
        # a bitmask's metadata is one bit per coordinate unless its width is given
        bits = fmt.metadata_bits if fmt.metadata_bits is not None else 1 if fmt.format == "B" else default_bits
        out.append(RankMetadata(fmt.format, meta, payload, bits, fmt.payload_bits))
        fibers = nonempty if fmt.format in COMPRESSED else coords
    return out
