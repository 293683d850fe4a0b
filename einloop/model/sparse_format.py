"""Metadata of a compressed tile: per rank (outer to inner) the metadata and payload items a format
stores, from the tile's shape and the tensor's density model.

A tile's ranks are the tensor's dimensions in order; with fewer formats than dimensions the first
format covers the outer dimensions flattened, with more the extra outer ranks have size 1. With
``fibers`` the fibers of a rank and ``nonempty`` its expected non-empty coordinates (every coordinate
whose sub-tile holds a nonzero):

* U: nothing; UOP: payload fibers x (size + 1) offsets; B: metadata fibers x size bits;
* CP and RLE: metadata one coordinate (run length) per non-empty coordinate.

The next rank has ``nonempty`` fibers under a compressed rank (CP, RLE, B), every coordinate under an
uncompressed one (U, UOP).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from einloop.model.sparse_density import prob_nonempty
from einloop.spec.sparse import Density, RankFormat

COMPRESSED = ("CP", "RLE", "B")


@dataclass(frozen=True)
class RankMetadata:
    """Items one rank of a tile stores: ``metadata`` and ``payload``, each of ``bits`` bits."""

    format: str
    metadata: float
    payload: float
    bits: int

    @property
    def items(self) -> float:
        return self.metadata + self.payload


def is_compressed(formats: tuple[RankFormat, ...] | None) -> bool:
    """A tensor whose format has a compressed rank stores and moves only its nonzeros."""
    return bool(formats) and any(f.format in COMPRESSED for f in formats)


def rank_dims(n_dims: int, n_ranks: int) -> list[tuple[int, ...]]:
    """Which tensor dimensions each rank covers, outer to inner."""
    if n_ranks <= n_dims:
        first = n_dims - n_ranks + 1
        return [tuple(range(first))] + [(d,) for d in range(first, n_dims)]
    return [()] * (n_ranks - n_dims) + [(d,) for d in range(n_dims)]


def tile_metadata(formats: tuple[RankFormat, ...], shape: tuple[int, ...], density: Density, total: int,
                  default_bits: int) -> list[RankMetadata]:
    """Per rank, outer to inner, the metadata and payload items of one tile of ``shape``."""
    dims = rank_dims(len(shape), len(formats))
    sizes = [math.prod(shape[d] for d in ds) for ds in dims]
    out, fibers, above = [], 1.0, 1
    for k, (fmt, ds) in enumerate(zip(formats, dims)):
        below = {d for ds2 in dims[k + 1:] for d in ds2}
        sub = tuple(shape[d] if d in below else 1 for d in range(len(shape)))
        above *= sizes[k]
        nonempty = above * prob_nonempty(density, sub, total)
        coords = fibers * sizes[k]
        meta, payload = {"U": (0.0, 0.0), "UOP": (0.0, fibers * (sizes[k] + 1)), "B": (coords, 0.0),
                         "CP": (nonempty, 0.0), "RLE": (nonempty, 0.0)}[fmt.format]
        out.append(RankMetadata(fmt.format, meta, payload, fmt.metadata_bits or default_bits))
        fibers = nonempty if fmt.format in COMPRESSED else coords
    return out
