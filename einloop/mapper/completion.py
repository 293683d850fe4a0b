"""Bounds for the hops a partial tiling has not decided yet, from the ways the rest can still be split.

When tilings are built outermost level first (space.tilings_outer_first) and every level down to
``level`` is complete, what is left of every rank must be split over the temporal slots of the levels
below. Inside a PE those levels are tiny, so the splits that fit every buffer are few: they are listed
once per (dataplacement, first incomplete level, spatial factors), and a partial tiling none of which
divides what it has left is dropped.

For a tensor without sliding windows, a hop into a level ``c`` fetches every word the child instance
uses ``M`` times, ``M`` being the product of the loops not indexing the tensor that sit outside the
innermost loop indexing it (model/accesses.py: _stationary_fetches). Split into what is decided and
what a split of the rest adds, the lowest ``M`` over every loop order is

* if the split loops the tensor's ranks somewhere between ``level`` and ``c``: every loop not indexing
  it in the complete levels, times those of the split's levels above the innermost one that indexes it;
* otherwise: the loops not indexing it in the complete levels above the innermost complete level that
  indexes it (refetch_floor).

Cheaper (the first pass, per partial tiling, no splits listed): each hop at its refetch floor, raised
to every loop not indexing the tensor in the complete levels when what is left of the tensor's ranks
overflows the child (_overflow_floor: every split then loops it in between).

The hops' energies are affine in ``M`` (the output's first-write elision subtracts a constant), so the
bound of a partial tiling is the lowest, over the splits, of the sum of its hops' energies at those
``M``, jointly over which rank loops innermost in the last complete level (undecided_energy).

A tensor with sliding windows (an input ``I[p+r]``) is fetched at least once per sweep: for every
boundary between levels above the hop's child, each iteration of the loops above it sweeps the region
the loops under it span, and the child holds at most its capacity of that region from before
(window_fetches).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from einloop.mapper.orders import link_energy
from einloop.mapper.space import _tiles_fit, divisors
from einloop.model.accesses import NestCounts, window_free
from einloop.model.costs import BatchCosts, charged_instances, words_per_value
from einloop.model.nest import NestStructure
from einloop.model.spatial import distinct_offsets, unique_rows
from einloop.spec.arch import Storage

MAX_SPLITS = 200_000   # more splits than this below one level: fall back to the refetch floor
CELLS = 2_000_000      # (partial tiling, split) pairs evaluated at once


@lru_cache(maxsize=4096)
def _splits(n: int, slots: int) -> tuple[tuple[int, ...], ...]:
    """Every way of choosing ``slots`` factors whose product divides n."""
    if slots == 0:
        return ((),)
    return tuple((d,) + rest for d in divisors(n) for rest in _splits(n // d, slots - 1))


def left_of(ctx, F: np.ndarray) -> np.ndarray:
    """[B, ranks] what is left of each rank's bound once the chosen factors of F are taken."""
    return np.stack([b // np.prod(F[:, ctx.rank_slots[r]], axis=1) for r, b in ctx.einsum.ranks.items()], axis=1)


def windowed_operand(einsum, tensor) -> bool:
    """An operand (not the output) with sliding windows: its fetches get window_fetches floors."""
    return not window_free(einsum, tensor) and not tensor.is_output


def _walk(levels, seen, product):
    """Levels (``on``, ``off``: product of the loops indexing / not indexing a tensor), inner to outer,
    after a state (``seen``: a loop indexing it already looped further in; ``product``: the loops not
    indexing it outside that loop so far): the loops not indexing it at a level count once a level
    further in looped the tensor (within its own level they may go inside)."""
    for on, off in levels:
        product = np.where(seen, product * off, product)
        seen = seen | (on > 1)
    return seen, product


def _on_off(F: np.ndarray, cols: list[int], slots, ranks) -> tuple[np.ndarray, np.ndarray]:
    """Products of the columns ``cols`` of F whose slot's rank is / is not in ``ranks``."""
    return (np.prod(F[:, [k for k in cols if slots[k].rank in ranks]], axis=1),
            np.prod(F[:, [k for k in cols if slots[k].rank not in ranks]], axis=1))


def _extra(exact, a, slope, m):
    """A hop's energy at refetch factor ``m`` (at least its exact energy at 1) minus that at 1."""
    return np.maximum(exact, a + (m - 1) * slope) - exact


def refetch_floor(ctx, dp: int, F: np.ndarray, level: int, below: int) -> dict:
    """For hops into levels under ``below`` of tensors without sliding windows: how many times at least
    each word is fetched, whatever the loops still to choose and whatever the orders.

    Such a hop fetches the child's tile once per step of every temporal loop outside it from the
    innermost one indexing the tensor outward (model/accesses.py: _stationary_fetches), i.e. every
    word once per step of the loops not indexing it that sit outside that loop. Of the complete levels
    (down to ``level``), take the innermost one with a loop indexing the tensor: the loops not indexing
    it in every complete level above it are outside that loop in every completion and every order (in
    its own level they may go inside it, and below it they add nothing to this floor)."""
    cols = [[k for k, sl in enumerate(ctx.slots) if sl.node == i and sl.axis is None]
            for i in reversed(ctx.storages) if i <= level]
    per_tensor = {t: _walk([_on_off(F, ks, ctx.slots, ctx.einsum.tensor(t).ranks) for ks in cols],
                           np.zeros(len(F), bool), np.ones(len(F), np.int64))[1]
                  for t in {t for _, _, t in _hops(ctx, dp, below)}}   # the same for every hop of a tensor
    return {(c, t): per_tensor[t] for _, c, t in _hops(ctx, dp, below)}


def _hops(ctx, dp: int, below: int, windowed: bool = False) -> list[tuple[int, int, str]]:
    """The hops into storage levels under ``below`` of tensors without sliding windows (``windowed``:
    of the operands with them)."""
    compute = len(ctx.arch.nodes) - 1
    wanted = windowed_operand if windowed else window_free
    return [(p, c, t) for t, levels in ctx.dps[dp].items() if wanted(ctx.einsum, ctx.einsum.tensor(t))
            for p, c in zip(levels, levels[1:]) if c > below and c != compute]


def window_fetches(ctx, F: np.ndarray, level: int, below: int, s: NestStructure, hop) -> np.ndarray:
    """[B] fewest words a child instance of ``hop`` fetches, whatever the rest and the orders.

    Take a boundary ``j`` among the complete levels and ``below``: for each of the ``S`` iterations of
    the temporal loops above it (all decided), the loops under it sweep a region of ``U`` points per
    child instance (their rank extents are decided: the complete levels' factors and what is left),
    every one of which the child must hold at some step of that sweep; it starts the sweep with at most
    ``C = min(U, capacity)`` of them, so the sweep fetches at least ``U - C`` (all ``U`` the first
    time). Every fetch counted this way is one the model counts (each step fetches what is new to the
    tile), so the largest ``S * (U - C) + C`` over the boundaries is a floor."""
    _, c, t = hop
    ranks = list(ctx.einsum.ranks)
    offsets = np.broadcast_to(s.coefficients(t).T[None], (len(F),) + s.coefficients(t).T.shape)

    def factors_of(r, keep):   # [B] product of rank r's factors in the slots ``keep`` accepts
        return np.prod(F[:, [k for k in ctx.rank_slots[r] if keep(ctx.slots[k])]], axis=1)
    per_instance = left_of(ctx, F) * _spatial_under(ctx, c, F)
    capacity = _capacity_words(ctx, s, hop)
    floor = np.zeros(len(F))
    for j in [i for i in ctx.storages if i <= level] + [below]:
        sweeps = np.prod(F[:, [k for k, sl in enumerate(ctx.slots) if sl.axis is None and sl.node < j]], axis=1)
        ext = per_instance * np.stack([factors_of(r, lambda sl: sl.axis is None and sl.node >= j) for r in ranks],
                                      axis=1)
        region = distinct_offsets(offsets, ext)   # points, not the bounding box: strides leave gaps
        floor = np.maximum(floor, _swept(sweeps, region, capacity))
    return floor


def _spatial_under(ctx, c: int, F: np.ndarray) -> np.ndarray:
    """[B, ranks] product of each rank's spatial factors under node ``c`` (they share a child instance)."""
    return np.stack([np.prod(F[:, [k for k in ctx.rank_slots[r] if ctx.slots[k].axis is not None
                                   and ctx.slots[k].node > c]], axis=1) for r in ctx.einsum.ranks], axis=1)


def _capacity_words(ctx, s: NestStructure, hop) -> float:
    """How many of the hop's tensor's words its child holds at most."""
    node = ctx.arch.nodes[hop[1]]
    return np.inf if node.effective_size is None else node.effective_size / words_per_value(s, node, hop[2])


def _swept(sweeps, region, capacity):
    """Fewest words fetched when each of ``sweeps`` sweeps spans ``region`` points and the child holds at
    most ``capacity`` of them from before (all of them the first time): window_fetches' floor."""
    held = np.minimum(region, capacity)
    return sweeps * (region - held) + held


def window_energy(ctx, dp: int, F: np.ndarray, level: int, below: int, s: NestStructure, nc: NestCounts,
                  bc: BatchCosts, hops=None) -> np.ndarray:
    """[B] energy to add to the optimistic energy ``bc`` for hops of operands with sliding windows
    (default: the undecided ones), each at its window_fetches floor (its energy grows in proportion to
    the child's fetches). The floor holds for decided hops too: nothing in it depends on the orders."""
    extra = np.zeros(len(F))
    for hop in _hops(ctx, dp, below, windowed=True) if hops is None else hops:
        exact, a, slope = _linear_energy(s, nc, bc, hop, False)
        fetched = nc.counts[hop[1:]].fills   # optimistic: every point the child instance uses, once
        extra += _extra(exact, a, slope, np.maximum(1.0, window_fetches(ctx, F, level, below, s, hop) / fetched))
    return extra


def splits_by_row(ctx, dp: int, below: int, spatial: np.ndarray) -> tuple[list, np.ndarray]:
    """What the splits of the levels under ``below`` (the first incomplete level, which takes what is
    left over them) can do under each row's spatial factors (``spatial`` [G, slots]; other columns
    ignored), among those that fit their buffers: (the distinct results, index of each row's). A
    result is ([W, ranks] product of each rank's factors there, [W, hops] whether they loop a rank of
    the hop's tensor above the hop's child, [W, hops] the product of the loops not indexing it above
    the innermost such level), or None when there are more than MAX_SPLITS. Splits with the same
    products that are no better for any hop are dropped. Cached per search: listed once per spatial
    factors under ``below`` for the whole rank bounds (most spatial choices share them), then kept
    where they divide what the spatial loops leave."""
    inside, limits = _split_keys(ctx, dp, below, spatial)
    first, which = unique_rows(np.concatenate([inside, limits], axis=1))
    found = [_splits_for(ctx, dp, below, tuple(int(x) for x in inside[i]), tuple(int(x) for x in limits[i]))
             for i in first]
    return found, which


def _split_keys(ctx, dp: int, below: int, spatial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What splits_by_row depends on per row: [G, slots] the spatial factors that reach the split
    levels' tiles (those under the first sized level), [G, ranks] what the spatial loops leave of each
    rank."""
    first = min(_sized(ctx, dp, below), default=len(ctx.arch.nodes))
    reach = np.array([sl.axis is not None and sl.node > first for sl in ctx.slots])
    inside = np.where(reach[None, :], spatial, 1)
    limits = np.stack([bound // np.prod(spatial[:, [k for k in ctx.rank_slots[r] if ctx.slots[k].axis is not None]],
                                        axis=1) for r, bound in ctx.einsum.ranks.items()], axis=1)
    return inside, limits


def _splits_for(ctx, dp: int, below: int, inside: tuple[int, ...], limits: tuple[int, ...]):
    """splits_by_row for the spatial factors ``inside`` and what is left ``limits`` (_split_keys)."""
    key = (_placement_under(ctx, dp, below), below, inside, limits)
    if key not in ctx.splits:
        every = _listed_splits(ctx, dp, below, inside, tuple(ctx.einsum.ranks.values()))
        if every is None:   # too many for the whole bounds: list those dividing these limits only
            every = _listed_splits(ctx, dp, below, inside, limits)
        if len(ctx.splits) > 20_000:
            ctx.splits.clear()
        if every is not None:
            per_rank, rel, inner = every
            ok = np.nonzero(np.all(np.array(limits)[None, :] % per_rank == 0, axis=1))[0]
            every = (per_rank[ok], rel[ok], inner[ok], (every, ok))   # and which of the listed ones
        ctx.splits[key] = every
    return ctx.splits[key]


def _placement_under(ctx, dp: int, below: int) -> tuple:
    """What the splits under ``below`` depend on: which of those levels keep which tensor (dataplacements
    differing only above share their splits)."""
    return tuple((t, tuple(i for i in levels if i > below)) for t, levels in ctx.dps[dp].items())


def _sized(ctx, dp: int, below: int) -> list[int]:
    """The levels under ``below`` with a capacity that keep some tensor."""
    return [j for j, n in enumerate(ctx.arch.nodes) if j > below and isinstance(n, Storage) and n.size is not None
            and any(j in levels for levels in ctx.dps[dp].values())]


def _listed_splits(ctx, dp: int, below: int, inside: tuple[int, ...], limits: tuple[int, ...]):
    """splits_by_row for spatial factors ``inside`` (those under ``below``) and per-rank products
    dividing ``limits``; None when there are more than MAX_SPLITS. Cached per search."""
    key = ("listed", _placement_under(ctx, dp, below), below, inside, limits)
    if key in ctx.splits:
        return ctx.splits[key]
    slots = [k for k, sl in enumerate(ctx.slots) if sl.axis is None and sl.node > below]
    tile_cols = {j: {q: [k for k in ctx.rank_slots[q] if ctx.slots[k].node >= j and
                         (ctx.slots[k].axis is None or ctx.slots[k].node > j)] for q in ctx.einsum.ranks}
                 for j in _sized(ctx, dp, below)}   # a level's tile: the loops at and under it, the spatial ones under it

    def fitting(rows):
        for j, cols in tile_cols.items():
            ext = {q: np.prod(rows[:, c], axis=1) for q, c in cols.items()}
            rows = rows[_tiles_fit(ctx.einsum, ctx.arch.nodes[j], ctx.dps[dp], j, ext)]
        return rows
    full = np.array([inside], np.int64)
    for r, limit in zip(ctx.einsum.ranks, limits):   # rank by rank; tiles only grow, so overflows go at once
        mine = [k for k in slots if ctx.slots[k].rank == r]
        listed = _splits(limit, len(mine))
        options = np.array(listed, np.int64).reshape(len(listed), len(mine))
        step = max(1, MAX_SPLITS // len(options))   # a block of rows times every option at a time
        blocks, total = [], 0
        for start in range(0, len(full), step):
            block = np.repeat(full[start:start + step], len(options), axis=0)
            block[:, mine] = np.tile(options, (len(block) // len(options), 1))
            blocks.append(fitting(block))
            total += len(blocks[-1])
            if total > MAX_SPLITS:
                ctx.splits[key] = None
                return None
        full = np.concatenate(blocks) if blocks else full   # none left: nothing fits
    per_rank = np.stack([np.prod(full[:, ctx.rank_slots[r]][:, [ctx.slots[k].axis is None and ctx.slots[k].node > below
                                                               for k in ctx.rank_slots[r]]], axis=1)
                         for r in ctx.einsum.ranks], axis=1)
    hops = _hops(ctx, dp, below)
    rel = np.zeros((len(full), len(hops)), bool)
    inner = np.ones((len(full), len(hops)), np.int64)
    for h, (_, c, t) in enumerate(hops):
        levels = sorted({ctx.slots[k].node for k in slots if ctx.slots[k].node < c}, reverse=True)
        rel[:, h], inner[:, h] = _walk([_on_off(full, [k for k in slots if ctx.slots[k].node == node], ctx.slots,
                                                ctx.einsum.tensor(t).ranks) for node in levels],
                                       rel[:, h], inner[:, h])
    badness = np.where(rel, inner, 0)   # per hop: no loop of its tensor above the child beats any
    keep = _least(per_rank, badness)
    ctx.splits[key] = out = (per_rank[keep], rel[keep], inner[keep])
    return out


def _least(per_rank: np.ndarray, badness: np.ndarray) -> np.ndarray:
    """Indices of the splits not dominated by another with the same per-rank products: one per
    distinct least badness vector."""
    rows = unique_rows(np.concatenate([per_rank, badness], axis=1))[0]
    groups: dict[bytes, list[int]] = {}
    for i in rows:
        groups.setdefault(per_rank[i].tobytes(), []).append(int(i))
    keep = []
    for members in groups.values():
        b = badness[members]
        for j, i in enumerate(members):
            if not np.any(np.all(b <= b[j], axis=1) & np.any(b < b[j], axis=1)):
                keep.append(i)
    return np.array(sorted(keep), np.int64)


def _linear_energy(s: NestStructure, nc: NestCounts, bc: BatchCosts, hop, is_output: bool):
    """A hop's energy at refetch factor 1 (exact, vector accesses rounded up) and its affine lower
    bound ``a + (M - 1) * slope`` (rounding dropped) for refetch factor ``M``."""
    p, c, t = hop
    exact = link_energy(bc, [hop])

    def per_word(node_index, action):
        node = s.arch.nodes[node_index]
        return getattr(node.energy, action) * words_per_value(s, node, t) / node.block_size * \
            charged_instances(s, node, nc.instances[:, node_index])
    par, child = nc.counts[(p, t)], nc.counts[(c, t)]
    a = par.reads * per_word(p, "read") + par.updates * per_word(p, "update") + child.fills * per_word(c, "fill")
    if is_output:
        slope = par.updates * (per_word(p, "read") + per_word(p, "update")) + \
            (child.fills + child.partition) * per_word(c, "fill")
    else:
        slope = a
    return exact, a, slope


def undecided_energy(ctx, dp: int, F: np.ndarray, level: int, below: int, s: NestStructure, nc: NestCounts,
                     bc: BatchCosts, splits: bool = True) -> np.ndarray:
    """[B] energy to add to the optimistic energy ``bc`` (counts ``nc`` of a completion of ``F``, whose
    levels down to ``level`` are complete; ``below`` is the next storage level) for the undecided hops
    of tensors without sliding windows; inf where no split of the rest fits.

    The order of ``level`` is shared by every tensor. One of its looping ranks is innermost: a tensor
    that rank indexes has every loop not indexing it at ``level`` outside its innermost loop there,
    so its floor grows by their product; the others keep theirs. The lowest over that choice is a
    bound (per-tensor best orders conflict). Operands with sliding windows add window_energy.
    Without ``splits`` every hop is charged at its floor (cheaper, lower)."""
    floor = refetch_floor(ctx, dp, F, level, below)
    here = {ctx.slots[k].rank: k for k in range(len(ctx.slots))
            if ctx.slots[k].node == level and ctx.slots[k].axis is None}
    irrelevant = {t: np.prod(F[:, [k for r, k in here.items() if r not in ctx.einsum.tensor(t).ranks]], axis=1)
                  for _, t in floor}
    variants = [floor] + [{(c, t): f * irrelevant[t] if r in ctx.einsum.tensor(t).ranks else f
                           for (c, t), f in floor.items()} for r in here]
    charge = _charge(ctx, dp, F, level, below, s, nc, bc, variants, splits)
    looping = np.stack([F[:, k] > 1 for k in here.values()], axis=1) if here else np.zeros((len(F), 0), bool)
    window = window_energy(ctx, dp, F, level, below, s, nc, bc)
    return window + _innermost_choice(charge[0], charge[1:].T, looping)


def _innermost_choice(plain: np.ndarray, per_rank: np.ndarray, looping: np.ndarray) -> np.ndarray:
    """The lowest charge over which looping rank of a level is innermost (``per_rank[..., j]``: rank j
    innermost; ``looping[..., j]``: rank j loops there), ``plain`` (no rank innermost) where none loops.
    One order is shared by every tensor, so the per-tensor best orders conflict there."""
    joint = np.where(looping, per_rank, np.inf).min(axis=-1, initial=np.inf)
    return np.where(looping.any(axis=-1), np.maximum(joint, plain), plain)


def _charge(ctx, dp: int, F: np.ndarray, level: int, below: int, s: NestStructure,
            nc: NestCounts, bc: BatchCosts, floors: list[dict], splits: bool = True) -> np.ndarray:
    """[len(floors), B] energy to add to the optimistic energy ``bc`` (counts ``nc`` of a completion of
    ``F``) for the undecided hops of tensors without sliding windows, once per refetch floor in
    ``floors`` (refetch_floor and variants of it); inf where no split of the rest fits the buffers.
    Where the splits are too many to list (or without ``splits``), each hop is charged at its floor."""
    hops = _hops(ctx, dp, below)
    B = len(F)
    energy = [_linear_energy(s, nc, bc, h, ctx.einsum.tensor(h[2]).is_output) for h in hops]
    if not splits:   # raised where no split that fits leaves the hop's tensor unlooped above its child
        overflow = _overflow_floor(ctx, dp, F, level, hops)
        floors = [{key: np.maximum(f, overflow[key]) for key, f in floor.items()} for floor in floors]
    at_floor = np.zeros((len(floors), len(hops), B))   # each hop's extra energy at each floor
    for v, floor in enumerate(floors):
        for h, (exact, a, slope) in enumerate(energy):
            at_floor[v, h] = _extra(exact, a, slope, floor[hops[h][1:]])
    if splits:
        lowest = _lowest_by_pattern(ctx, dp, F, level, below, hops, energy)   # [B, 2^hops]
    else:   # the empty pattern only: every hop at its floor
        lowest = np.where(np.arange(1 << len(hops))[None, :] == 0, 0.0, np.full((B, 1 << len(hops)), np.inf))
    out = np.full((len(floors), B), np.inf)
    for pattern in range(lowest.shape[1]):   # the hops in ``pattern`` loop their tensor in the split
        rest = sum((at_floor[:, h] for h in range(len(hops)) if not pattern >> h & 1), np.zeros((len(floors), B)))
        out = np.minimum(out, lowest[None, :, pattern] + rest)
    return out


def _overflow_floor(ctx, dp: int, F: np.ndarray, level: int, hops) -> dict:
    """Per hop (child, tensor): [B] a refetch floor from the child's capacity. If what is left of the
    tensor's ranks overflows the child when it all goes under it (the spatial factors under it are
    chosen), every completion loops one of those ranks between the complete levels and the child, so
    every loop not indexing the tensor in the complete levels is outside that loop: the refetch factor
    is at least their product. Else 1."""
    left = dict(zip(ctx.einsum.ranks, left_of(ctx, F).T))
    out = {}
    for _, c, t in hops:
        node, tensor = ctx.arch.nodes[c], ctx.einsum.tensor(t)
        out[(c, t)] = np.ones(len(F), np.int64)
        if node.size is None:
            continue
        over, ext = np.zeros(len(F), bool), {}
        for r in tensor.ranks:
            inside = [k for k in ctx.rank_slots[r] if ctx.slots[k].node > c and ctx.slots[k].axis is not None]
            room = any(ctx.slots[k].node >= c and ctx.slots[k].axis is None for k in ctx.rank_slots[r])
            ext[r] = (left[r] if room else 1) * np.prod(F[:, inside], axis=1)
            if not room:   # no loop under the child can take it
                over |= left[r] > 1
        alone = {u.name: (c,) if u.name == t else () for u in ctx.einsum.tensors}
        over |= ~_tiles_fit(ctx.einsum, node, alone, c, ext)
        out[(c, t)] = np.where(over, _irrelevant_product(ctx, F, level, t), 1)
    return out


def _irrelevant_product(ctx, F: np.ndarray, level: int, tensor: str) -> np.ndarray:
    """[B] product of the temporal loops not indexing ``tensor`` in the complete levels (down to
    ``level``): a hop's refetch factor once a loop of the tensor sits under them."""
    ranks = ctx.einsum.tensor(tensor).ranks
    return np.prod(F[:, [k for k, sl in enumerate(ctx.slots) if sl.axis is None and sl.node <= level
                         and sl.rank not in ranks]], axis=1)


def _lowest_by_pattern(ctx, dp: int, F: np.ndarray, level: int, below: int, hops, energy) -> np.ndarray:
    """[B, 2^hops]: per partial tiling and set of hops whose tensor the split loops between the
    complete levels and the hop's child, the lowest extra energy of those hops over the splits that fit
    and make exactly that set (inf where none; 0 for the empty set where the splits are not listed)."""
    ranks = list(ctx.einsum.ranks)
    B, n_patterns = len(F), 1 << len(hops)
    out = np.full((B, n_patterns), np.inf)
    left = left_of(ctx, F)
    has_slot = np.array([any(ctx.slots[k].node == below and ctx.slots[k].axis is None for k in ctx.rank_slots[r])
                         for r in ranks])
    irrelevant_all = [_irrelevant_product(ctx, F, level, t) for _, _, t in hops]
    relevant = np.array([[r in ctx.einsum.tensor(t).ranks for r in ranks] for _, _, t in hops], bool).reshape(
        len(hops), len(ranks))
    weights = 1 << np.arange(len(hops))
    found_all, inverse = splits_by_row(ctx, dp, below, F)
    for g, found in enumerate(found_all):
        group = np.nonzero(inverse == g)[0]
        if found is None:
            out[group, 0] = 0.0
            continue
        per_rank, rel_deep, inner_deep, _ = found
        first, which = unique_rows(left[group])   # the splits see only these
        lefts = left[group][first]
        ok = np.ones((len(lefts), len(per_rank)), bool)               # [lefts, W]: the split divides what is left
        for r, (values, index) in enumerate(_distinct_factors(ctx, per_rank)):   # each distinct factor once
            fits = lefts[:, r, None] % values[None, :] == 0
            if not has_slot[r]:   # ``below`` cannot loop it: the split takes all of it
                fits &= lefts[:, r, None] == values[None, :]
            ok &= fits[:, index.reshape(-1)]
        rel, inner = [], []
        for h in range(len(hops)):   # ``below`` takes the quotient: one more level of the walk (the products
            # of what is left over those of the split, exact where the split divides it)
            on = np.prod(lefts[:, relevant[h]], axis=1)[:, None] > np.prod(per_rank[:, relevant[h]], axis=1)[None, :]
            off = np.prod(lefts[:, ~relevant[h]], axis=1)[:, None] // \
                np.prod(per_rank[:, ~relevant[h]], axis=1)[None, :]
            deep = rel_deep[None, :, h]
            rel.append(deep | on)
            inner.append(np.where(deep, inner_deep[None, :, h] * off, inner_deep[None, :, h]))
        pattern = sum((r * int(w) for r, w in zip(rel, weights)), np.zeros(ok.shape, np.int64))
        for p in range(n_patterns):   # per pattern only the splits on its hops' front can be lowest
            bits = [h for h in range(len(hops)) if p >> h & 1]
            cand, valid = _front(ok & (pattern == p), [inner[h] for h in bits])   # [lefts, K]
            values = [np.take_along_axis(inner[h], cand, axis=1) for h in bits]
            step = max(1, CELLS // cand.shape[1])
            for start in range(0, len(group), step):
                rows, u = group[start:start + step], which[start:start + step]
                extra = np.zeros((len(rows), cand.shape[1]))
                for h, v in zip(bits, values):
                    exact, a, slope = energy[h]
                    m = irrelevant_all[h][rows, None] * v[u]
                    extra += _extra(exact[rows, None], a[rows, None], slope[rows, None], m)
                out[rows, p] = np.where(valid[u], extra, np.inf).min(axis=1)
    return out


def _distinct_factors(ctx, per_rank: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per rank, the distinct factors of the splits ``per_rank`` [W, R] and which each split has
    (cached per search, like the splits)."""
    key = ("factors", id(per_rank))
    if key not in ctx.splits:
        ctx.splits[key] = (per_rank, [np.unique(per_rank[:, r], return_inverse=True) for r in range(per_rank.shape[1])])
    return ctx.splits[key][1]


def _front(mask: np.ndarray, values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``mask`` [L, W], the columns it allows that no other allowed column beats in every
    one of ``values`` (each [L, W]): ([L, K] column indices, [L, K] which are real). A sum of
    nondecreasing functions of the values is lowest on these. Exact for up to two values; with more,
    every allowed column."""
    L, W = mask.shape
    if len(values) > 2:
        return np.broadcast_to(np.arange(W), (L, W)), mask
    if len(values) < 2:
        key = np.where(mask, values[0], np.iinfo(np.int64).max) if values else ~mask
        return key.argmin(axis=1)[:, None], mask.any(axis=1)[:, None]
    top = np.iinfo(np.int64).max
    a, b = (np.where(mask, v, top) for v in values)
    order = np.lexsort((b, a), axis=1)                   # by the first value, ties by the second
    b_sorted = np.take_along_axis(b, order, axis=1)
    before = np.concatenate([np.full((L, 1), top), np.minimum.accumulate(b_sorted, axis=1)[:, :-1]], axis=1)
    front = np.take_along_axis(mask, order, axis=1) & (b_sorted < before)   # the staircase
    k = max(1, int(front.sum(axis=1).max(initial=0)))
    first = np.argsort(~front, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(order, first, axis=1), np.take_along_axis(front, first, axis=1)


def merged_energy(ctx, dp: int, F: np.ndarray, below: int, s: NestStructure, nc: NestCounts,
                  bc: BatchCosts, pairs: bool = True) -> np.ndarray:
    """[G] energy to add to the optimistic energy ``bc`` (counts ``nc`` of a completion of ``F``, whose
    temporal factors are all 1: spatial choices) for the hops into the levels under ``below``, whatever
    the temporal factors; inf where no split fits.

    The levels from the outermost down to ``below`` are merged into one level with a free loop order:
    merging the loops of a rank into its innermost one never raises any tensor's refetch factor (a loop
    not indexing a tensor only moves inward), and one order of the merged level is the flattened order
    of the real levels, so the lowest over merged orders is a floor for every tiling. Per split of the
    levels under ``below`` that fits their buffers (splits_by_row), the merged level takes what is left,
    one of its looping ranks is innermost (the tensors without sliding windows it indexes refetch once
    per step of the merged loops not indexing them; an operand with sliding windows it indexes pays
    _window_sweeps), and the lowest over both choices is the floor (see undecided_energy). With
    ``pairs`` the second innermost rank is chosen too (_merged_choice: higher, ~4x the cost)."""
    hops = _hops(ctx, dp, below)
    windowed = _hops(ctx, dp, below, windowed=True)
    out = np.zeros(len(F))
    if not hops and not windowed:
        return out
    ranks = list(ctx.einsum.ranks)
    energy = [_linear_energy(s, nc, bc, h, ctx.einsum.tensor(h[2]).is_output) for h in hops]
    indexes = np.array([[r in ctx.einsum.tensor(t).ranks for r in ranks] for _, _, t in hops], bool).reshape(
        len(hops), len(ranks))
    limits = left_of(ctx, F)
    found_all, which = splits_by_row(ctx, dp, below, F)   # spatial choices with the same splits and what
    # is left share the work
    for u, found in enumerate(found_all):
        if found is None:
            continue
        rows = np.nonzero(which == u)[0]
        per_rank, rel, inner, listed = found
        if len(per_rank) == 0:
            out[rows] = np.inf
            continue
        q = limits[rows[0]][None, :] // per_rank                          # [W, R] the merged level's factors
        out[rows] = _merged_choice(ctx, s, nc, bc, F[rows[0]], rows, energy, indexes, windowed, found, q, pairs)
    return out


def _merged_choice(ctx, s: NestStructure, nc: NestCounts, bc: BatchCosts, spatial: np.ndarray, rows: np.ndarray,
                   energy: list, indexes: np.ndarray, windowed: list, found, q: np.ndarray,
                   pairs: bool = True) -> np.ndarray:
    """[rows] merged_energy's floor for the groups ``rows`` sharing splits ``found`` and merged factors
    ``q`` [W, R]: the lowest over the splits and over which two looping ranks are the merged level's
    innermost (j1) and second (j2), of the hops' extra energy.

    A tensor without sliding windows indexed by j1 refetches once per step of every merged loop not
    indexing it; one indexed by j2 but not j1, once per step of those but j1's (inside its innermost
    loop); others keep their floor. An operand with sliding windows pays _window_sweeps. With a single
    looping rank it is innermost alone; with none, every tensor keeps its floor. Without ``pairs``
    j1 is innermost alone whatever else loops (lower, cheaper: the second rank's charges are left out,
    and the choices have no j2 axis)."""
    per_rank, rel, inner, listed = found
    n_ranks = q.shape[1]
    seconds = n_ranks if pairs else 1
    loops = q > 1
    plain_total = np.zeros((len(rows), len(per_rank)))
    choice = np.zeros((len(rows), len(per_rank), n_ranks, seconds))      # [.., j1, j2]
    for h, (exact, a, slope) in enumerate(energy):
        off = np.prod(np.where(indexes[h][None, :], 1, q), axis=1)
        e, aa, sl = exact[rows, None], a[rows, None], slope[rows, None]
        plain = _extra(e, aa, sl, inner[None, :, h] * np.where(rel[:, h], off, 1)[None, :])
        refetched = _extra(e, aa, sl, inner[None, :, h] * off[None, :])
        plain_total += plain
        for j1 in range(n_ranks):
            if indexes[h][j1]:
                choice[:, :, j1, :] += refetched[:, :, None]
            elif not pairs:
                choice[:, :, j1, 0] += plain
            else:
                second = _extra(e, aa, sl, inner[None, :, h] * np.where(rel[:, h], off, off // q[:, j1])[None, :])
                for j2 in range(n_ranks):
                    choice[:, :, j1, j2] += second if indexes[h][j2] else plain
    for hop in windowed:
        exact, a, slope = _linear_energy(s, nc, bc, hop, False)
        fetched = nc.counts[hop[1:]].fills[rows, None, None]   # optimistic: every point the instance uses, once
        for j1, fetches in _window_sweeps(ctx, s, hop, spatial, listed, q, pairs).items():   # [W, seconds]
            choice[:, :, j1, :] += _extra(exact[rows, None, None], a[rows, None, None], slope[rows, None, None],
                                          np.maximum(1.0, fetches[None] / fetched))
    if pairs:
        both = loops[:, :, None] & loops[:, None, :] & ~np.eye(n_ranks, dtype=bool)[None]   # [W, j1, j2]
        joint = np.where(both[None], choice, np.inf).min(axis=(2, 3), initial=np.inf)
        single = np.where(loops[None], np.diagonal(choice, axis1=2, axis2=3), np.inf).min(axis=2, initial=np.inf)
        value = np.where((loops.sum(axis=1) == 1)[None], single, joint)   # one looping rank: innermost alone
    else:
        value = np.where(loops[None], choice[..., 0], np.inf).min(axis=2, initial=np.inf)
    return np.where(loops.any(axis=1)[None], np.maximum(value, plain_total), plain_total).min(axis=1)


def _window_sweeps(ctx, s: NestStructure, hop, spatial: np.ndarray, listed, q: np.ndarray,
                   pairs: bool = True) -> dict:
    """{rank j1: [W, R] fewest words a child instance of ``hop`` (an operand with sliding windows)
    fetches when j1 is the merged level's innermost rank and each rank j2 the second ([W, 1] without
    ``pairs``: the innermost boundary alone)}, for the ranks j1 indexing the operand; ``listed``: (the
    splits listed for the whole bounds, which of them are these W), ``q``: the merged factors.

    The innermost real loop above the PE array is one of j1's, of some factor g1 dividing q[j1]; the
    second is another of j1's (factor g2 dividing q[j1] / g1) or j2's innermost (g2 dividing q[j2]).
    For each iteration of the loops outside such a boundary (the product of ``q`` over the factors
    under it), the loops under it sweep a region of U points per child instance, and the child starts
    each sweep holding at most C of them (_swept): prod(q) / (factors under it) * (U - C) + C words at
    least. The floor is the larger of the two boundaries', at the lowest over the factors."""
    capacity = _capacity_words(ctx, s, hop)
    every, which = listed
    ranks, g, region1, above = _window_table(ctx, s, hop, spatial, every[0])
    sweeps = np.prod(q, axis=1).astype(float)                              # [W]
    fits = (g > 0)[:, :, None] & (q[:, ranks].T[:, None, :] % np.maximum(g, 1)[:, :, None] == 0)   # [K, n, W]
    g = np.maximum(g, 1)   # padding: masked by ``fits``
    inner = np.where(fits, _swept(sweeps / g[:, :, None], region1[:, :, which], capacity), np.inf)   # [K, n, W]
    alone = inner.min(axis=1)                                                           # [K, W]
    looping = [(a, j1) for a, j1 in enumerate(ranks) if np.any(q[:, j1] > 1)]
    if not pairs:
        return {j1: np.where(q[:, j1] > 1, alone[a], 0.0)[:, None] for a, j1 in looping}
    again = np.where(above[:, :, :, None], inner[:, None, :, :], np.inf).min(axis=2)    # [K, n, W]: j1 again
    fit = fits.reshape(-1, len(q))                    # (rank, divisor) pairs, rank-major: only those
    used = np.nonzero(fit.any(axis=1))[0]             # dividing some split's merged factor can count
    by_rank = np.nonzero(np.r_[True, used[1:] // g.shape[1] != used[:-1] // g.shape[1]])[0]
    present = used[by_rank] // g.shape[1]
    inner_u, again_u, g_u = inner.reshape(-1, len(q))[used], again.reshape(-1, len(q))[used], g.reshape(-1)[used]
    pair = np.full((len(ranks), len(ranks), len(q)), np.inf)
    if len(used):
        region2 = _pair_table(ctx, s, hop, spatial, every[0])[np.ix_(used, used)][:, :, which]   # [U, U, W]
        second = np.where(fit[used][None], _swept(sweeps / (g_u[:, None] * g_u[None, :])[:, :, None], region2,
                                                  capacity), np.inf)
        second = np.minimum.reduceat(second, by_rank, axis=1)                             # [U, present, W]
        alone_j1 = np.minimum.reduceat(np.maximum(inner_u, again_u), by_rank, axis=0)     # j2 never loops
        pair[present] = alone_j1[:, None, :]
        pair[np.ix_(present, present)] = np.minimum.reduceat(
            np.maximum(inner_u[:, None], np.minimum(again_u[:, None], second)), by_rank, axis=0)
    out = {}
    for a, j1 in looping:
        result = np.repeat(alone[a][:, None], q.shape[1], axis=1)   # j2 not moving the operand (or j1)
        for b, j2 in enumerate(ranks):
            if b != a:
                result[:, j2] = pair[a, b]
        out[j1] = np.where(q[:, j1:j1 + 1] > 1, result, 0.0)
    return out


def _window_table(ctx, s: NestStructure, hop, spatial: np.ndarray, per_rank: np.ndarray):
    """For _window_sweeps, per listing of splits ``per_rank`` [W, R] (cached per search): the ranks
    indexing the operand (K of them), [K, n] their divisors above 1 (padded with 0), [K, n, W] points
    per child instance spanned by the splits with one more loop of one rank, [K, n, n] whether divisor
    b is a proper multiple of divisor a."""
    key = ("windows", id(per_rank), hop, _under_key(ctx, hop, spatial))
    if key not in ctx.splits:
        names = list(ctx.einsum.ranks)
        coef = s.coefficients(hop[2])
        ranks = [j for j, r in enumerate(names) if np.any(coef[:, j]) and ctx.einsum.ranks[r] > 1]
        lists = [divisors(ctx.einsum.ranks[names[j]])[1:] for j in ranks]
        n = max((len(x) for x in lists), default=0)
        g = np.array([x + [0] * (n - len(x)) for x in lists], np.int64).reshape(len(ranks), n)   # 0: padding
        one = np.ones((len(ranks), n, len(names)), np.int64)
        for a, j in enumerate(ranks):
            one[a, :, j] = g[a]
        region1 = _points(ctx, s, hop, spatial, per_rank, one)
        above = (g[:, None, :] > g[:, :, None]) & (g[:, None, :] % np.maximum(g[:, :, None], 1) == 0) & \
            (g[:, :, None] > 0)
        ctx.splits[key] = (per_rank, (ranks, g, region1, above))   # per_rank kept alive: its id stays unique
    return ctx.splits[key][1]


def _pair_table(ctx, s: NestStructure, hop, spatial: np.ndarray, per_rank: np.ndarray) -> np.ndarray:
    """[K n, K n, W] points per child instance spanned by the splits with one more loop of each of two
    different ranks indexing the operand (_window_table's ranks and divisors, rank-major: row a n + b
    is rank a's divisor b; the same rank twice is its single table's, at the product of the factors).
    Cached per search, built only when asked."""
    key = ("window pairs", id(per_rank), hop, _under_key(ctx, hop, spatial))
    if key not in ctx.splits:
        ranks, g, _, _ = _window_table(ctx, s, hop, spatial, per_rank)
        two = np.ones((len(ranks), g.shape[1], len(ranks), g.shape[1], len(ctx.einsum.ranks)), np.int64)
        for a, j1 in enumerate(ranks):
            for b, j2 in enumerate(ranks):
                if a != b:
                    two[a, :, b, :, j1] = g[a][:, None]
                    two[a, :, b, :, j2] = g[b][None, :]
        n = len(ranks) * g.shape[1]
        ctx.splits[key] = (per_rank, _points(ctx, s, hop, spatial, per_rank, two).reshape(n, n, len(per_rank)))
    return ctx.splits[key][1]


def _under_key(ctx, hop, spatial: np.ndarray) -> tuple[int, ...]:
    return tuple(int(x) for x in _spatial_under(ctx, hop[1], spatial[None])[0])


def _points(ctx, s: NestStructure, hop, spatial: np.ndarray, per_rank: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """[factors' leading shape, W] points of the operand per child instance of ``hop`` spanned by each
    split's extents times ``factors`` [..., R] (padding 0 read as 1)."""
    coef = s.coefficients(hop[2])
    base = per_rank * _spatial_under(ctx, hop[1], spatial[None])
    flat = np.maximum(factors.reshape(-1, factors.shape[-1]), 1)
    ext = (base[None, :, :] * flat[:, None, :]).reshape(-1, base.shape[1])
    region = distinct_offsets(np.broadcast_to(coef.T[None], (len(ext),) + coef.T.shape), ext)
    return region.reshape(factors.shape[:-1] + (len(per_rank),))
