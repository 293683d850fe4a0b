"""Per storage level and tensor: tile, partition, reads, fills, updates (per instance).

For each tensor, the storage levels that keep it form a chain, outer to inner, ending at the compute
unit. Each link (parent, child) moves the child's deltas: the child is filled with them, the parent
reads them once per distinct child tile (multicast), and for the output the same words flow back up
as updates (spatial reduction merges children holding the same tile). The first update of every output
word needs no read and the first fill of a partial sum carries nothing: the partition is subtracted
("first-read elision", `timeloop-semantics.md` section 3).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from einloop.model.nest import TEMPORAL, NestStructure, box_extents, rank_extents, translations
from einloop.model.reuse import delta_sum
from einloop.model.spatial import distinct_offsets


@dataclass
class TensorLevelCounts:
    """Arrays over the batch, per instance of the level."""

    tile: np.ndarray
    partition: np.ndarray
    reads: np.ndarray
    fills: np.ndarray
    updates: np.ndarray
    multicast: np.ndarray   # average children served per parent access (1 = none)
    final_updates: np.ndarray | None = None   # outputs: updates carrying a word's final value (one per
    # word of the partition); the others carry partial sums


@dataclass
class NestCounts:
    counts: dict[tuple[int, str], TensorLevelCounts]   # (arch node index, tensor) -> counts
    instances: np.ndarray          # [B, N] utilized instances of every arch node
    temporal_iterations: np.ndarray  # [B] compute cycles at full throughput (product of temporal factors)
    spatial_x: dict[int, np.ndarray]  # fanout node -> [B] product of X factors
    spatial_y: dict[int, np.ndarray]


@dataclass(frozen=True)
class Link:
    """One hop of a tensor's chain: the loops that decide what moves between parent and child."""

    parent: int
    child: int
    outer: np.ndarray      # temporal loops outside the child, inner to outer
    between: np.ndarray    # spatial loops between parent and child
    independent: bool      # spatial loops move the tile along separate dimensions (no coincidences)
    moving: np.ndarray     # the subset of `between` whose rank indexes the tensor
    relevant: np.ndarray   # [len(outer)] bool: the loop's rank indexes the tensor
    fanouts: tuple[np.ndarray, ...]   # `moving` split by fanout node, outer first (per-level grouping)
    private: np.ndarray    # the subset of `between` at fanouts that neither multicast nor reduce the
    # tensor: every child instance under them is served separately (not in `moving`)


@dataclass(frozen=True)
class Plan:
    """Everything about a structure that does not depend on the factors."""

    coef: dict[str, np.ndarray]
    chains: dict[str, tuple[int, ...]]
    links: dict[str, tuple[Link, ...]]
    window_free: dict[str, bool]   # no coordinate slides over two ranks (see _stationary_fetches)
    point_ranks: dict[str, np.ndarray | None]   # window-free, each rank in one coordinate: a box's points
    # are the product of these ranks' extents (None: count them, spatial.distinct_offsets)


def window_free(einsum, tensor) -> bool:
    """No coordinate of the tensor slides over two ranks (``p+r`` with both bounds above 1)."""
    return all(sum(einsum.ranks[r] > 1 for r in idx.ranks) <= 1 for idx in tensor.indices)


@lru_cache(maxsize=8192)
def plan(s: NestStructure) -> Plan:
    temporal = s.loop_axis == TEMPORAL
    compute = len(s.arch.nodes) - 1
    coef, chains, links, free, points = {}, {}, {}, {}, {}
    for t in s.einsum.tensors:
        c = s.coefficients(t.name)
        free[t.name] = window_free(s.einsum, t)
        used = (c != 0).sum(axis=0)
        points[t.name] = np.nonzero(used)[0] if free[t.name] and np.all(used <= 1) else None
        chain = tuple(s.kept[t.name]) + (compute,)
        hops = []
        for p, ch in zip(chain, chain[1:]):
            bp, bc = s.boundary[p], s.boundary[ch]
            outer = np.array([l for l in range(bc - 1, -1, -1) if temporal[l]], np.int64)
            between = np.array([l for l in range(bp, bc) if not temporal[l]], np.int64)
            private = np.array([l for l in between if not s.arch.nodes[s.loop_node[l]].shares(t.name, t.is_output)],
                               np.int64)
            moving = np.array([l for l in between if np.any(c[:, s.loop_rank[l]]) and l not in private], np.int64)
            ranks_by_dim = [{int(s.loop_rank[l]) for l in moving if c[j, s.loop_rank[l]]} for j in range(c.shape[0])]
            relevant = np.array([bool(np.any(c[:, s.loop_rank[l]])) for l in outer], bool)
            fanouts = tuple(moving[s.loop_node[moving] == n] for n in sorted(set(s.loop_node[moving].tolist())))
            hops.append(Link(p, ch, outer, between, all(len(r) <= 1 for r in ranks_by_dim), moving, relevant,
                             fanouts, private))
        coef[t.name], chains[t.name], links[t.name] = c, chain, tuple(hops)
    return Plan(coef, chains, links, free, points)


def _stationary_fetches(bounds: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """How many times a tile without sliding windows is fetched: once, times every loop from the
    innermost stepping loop that indexes the tensor outward. Inside it only loops that do not index the
    tensor step, and the tile stays. This is reuse.delta_sum for such tensors under every rule: a step
    that moves the tile moves it by at least its own extent, so it re-fetches all of it."""
    B, n = bounds.shape
    if n == 0:
        return np.ones(B, np.int64)
    moves = (bounds > 1) & relevant[None, :]
    first = np.argmax(moves, axis=1)
    inner = np.concatenate([np.ones((B, 1), np.int64), np.cumprod(bounds, axis=1)], axis=1)
    return np.where(moves.any(axis=1), inner[:, -1] // inner[np.arange(B), first], 1)


def _operand_held(s: NestStructure, link: Link) -> bool:
    """Timeloop (semantics.operand_reuse_at_compute): compute units below a fanout keep their operand
    while the temporal loops that do not move it run, as a one-word tile; with no fanout between the
    last storage level and the compute unit (no spatial loop above 1) every compute reads its operands
    (tl01_*_ws). Structural test here; count_accesses applies it per row."""
    return s.arch.semantics.operand_reuse_at_compute and len(link.between) > 0


def _prod(factors: np.ndarray, loops: np.ndarray) -> np.ndarray:
    return np.prod(factors[:, loops], axis=1) if len(loops) else np.ones(factors.shape[0], np.int64)


def _groups(s: NestStructure, coef: np.ndarray, ext, factors: np.ndarray, link: Link) -> np.ndarray:
    """[B] distinct child tiles a parent serves (one multicast read, or one reduced update, each).
    Exact model: distinct tiles over all the spatial loops between parent and child, as one array.
    Timeloop (semantics.per_level_fanouts): the product over the fanouts of each one's distinct
    tiles, so overlapping but unequal tiles of two outer children are never merged. Loops at a
    fanout that does not share the tensor (``link.private``) multiply the count by their factors:
    children differing in them never share an access, whatever their tiles."""
    own = _prod(factors, link.private)
    if link.independent:
        return own * _prod(factors, link.moving)
    if s.arch.semantics.per_level_fanouts and len(link.fanouts) > 1:
        out = np.ones(factors.shape[0], np.int64)
        for loops in link.fanouts:
            out = out * distinct_offsets(translations(s, coef, ext, loops), factors[:, loops])
        return own * out
    return own * distinct_offsets(translations(s, coef, ext, link.moving), factors[:, link.moving])


def count_accesses(s: NestStructure, factors: np.ndarray, rule: str = "2025", *,
                   optimistic: bool = False, tensors: tuple[str, ...] | None = None) -> NestCounts:
    """Counts of every kept (level, tensor) for a batch of factors.

    ``optimistic``: replace every child's fetched words by the number of distinct words it ever holds
    (each fetched exactly once). No loop order can do better, so costs computed from these counts are
    lower bounds for every order of the same loops: the mapper prunes with them.
    ``tensors``: count only these (the mapper's bounds need one tensor at a time).
    """
    B, L = factors.shape
    n_nodes = len(s.arch.nodes)
    pl = plan(s)
    ext = rank_extents(s, factors)
    temporal = s.loop_axis == TEMPORAL
    spatial_loops = np.nonzero(~temporal)[0]
    # utilized instances of node i: product of spatial factors of the loops above it
    cum = np.concatenate([np.ones((B, 1), np.int64), np.cumprod(factors[:, spatial_loops], axis=1)], axis=1)
    instances = cum[:, np.searchsorted(spatial_loops, list(s.boundary))]
    iterations = _prod(factors, np.nonzero(temporal)[0])
    counts: dict[tuple[int, str], TensorLevelCounts] = {}
    compute_node = n_nodes - 1
    spans: dict[int, np.ndarray] = {}

    def used_by_instance(b):   # [B, R]: each rank's extent one instance of the node at boundary b spans
        if b not in spans:
            out = ext[0].copy()
            for l in spatial_loops[spatial_loops < b]:
                out[:, s.loop_rank[l]] //= factors[:, l]
            spans[b] = out
        return spans[b]
    for t in s.einsum.tensors:
        if tensors is not None and t.name not in tensors:
            continue
        coef, chain = pl.coef[t.name], pl.chains[t.name]
        zero = np.zeros(B, np.int64)
        extents = {i: box_extents(coef, ext[s.boundary[i]]) for i in chain[:-1]}
        tiles = {i: np.prod(e, axis=-1) for i, e in extents.items()}
        parts = {chain[0]: tiles[chain[0]].astype(float)}
        per = {i: TensorLevelCounts(tiles[i], zero, zero, zero, zero, np.ones(B)) for i in chain[:-1]}
        for link in pl.links[t.name]:
            p, c = link.parent, link.child
            held = c == compute_node and _operand_held(s, link)
            if c == compute_node and not held:   # every compute reads its operands: no temporal reuse
                deltas = iterations
            elif optimistic:   # every point the child instance ever uses, fetched once; not "at least one
                # tile": a strided tile's box holds gaps, and the mapper's partial tilings put the rest
                # of every rank in the innermost level, a tile no other completion shares
                span = used_by_instance(s.boundary[c])
                if pl.point_ranks[t.name] is not None:
                    deltas = _prod(span, pl.point_ranks[t.name])
                else:
                    deltas = distinct_offsets(np.broadcast_to(coef.T[None], (B,) + coef.T.shape), span)
            elif pl.window_free[t.name]:
                deltas = (1 if held else tiles[c]) * _stationary_fetches(factors[:, link.outer], link.relevant)
            else:
                box = np.ones((B, coef.shape[0]), np.int64) if held else extents[c]
                deltas = delta_sum(box, translations(s, coef, ext, link.outer), factors[:, link.outer], rule,
                                   extrapolate=s.arch.semantics.extrapolate)
            if held:   # rows whose spatial loops here are all 1 have no fanout: every compute reads
                deltas = np.where(_prod(factors, link.between) > 1, deltas, iterations)
            groups = _groups(s, coef, ext, factors, link)
            sent = deltas * groups
            per[p].multicast = _prod(factors, link.between) / groups
            if c != compute_node:
                span = ext[s.boundary[c]]
                if len(link.between):
                    span = span.copy()
                    for l in link.between:
                        span[:, s.loop_rank[l]] *= factors[:, l]
                parts[c] = parts[p] * tiles[c] / np.prod(box_extents(coef, span), axis=-1)
            if t.is_output:
                per[p].updates = sent
                per[p].final_updates = np.minimum(parts[p], sent)
                per[p].reads = sent - parts[p]
                if c != compute_node:
                    per[c].fills = deltas - parts[c]
            else:
                per[p].reads = sent
                if c != compute_node:
                    per[c].fills = deltas
        for i in chain[:-1]:
            per[i].partition = np.floor(parts[i] + 1e-9) if s.arch.semantics.floor_partitions else parts[i]
            counts[(i, t.name)] = per[i]
    sx, sy = {}, {}
    for i, node in enumerate(s.arch.nodes):
        mine = s.loop_node == i
        sx[i] = _prod(factors, np.nonzero(mine & (s.loop_axis == 1))[0])
        sy[i] = _prod(factors, np.nonzero(mine & (s.loop_axis == 2))[0])
    return NestCounts(counts, instances, iterations, sx, sy)
