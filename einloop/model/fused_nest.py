"""A fused mapping as one ordinary nest per Einsum: the shared loops on top, the Einsum's own loops below.

The shared loops name ranks of the last fused Einsum. Going backwards along the chain, each producer's
ranks follow from the tile of its output that its consumer reads in one shared step: a consumer rank
``p`` tiled by ``t`` that indexes the intermediate as ``p+s`` makes the producer's rank ``p`` span
``t + S - 1`` per step while the step moves it by ``t`` (``RankTiling``). Where a producer's tiles
overlap (a recomputed halo) its rank is re-indexed: ``p -> p + t * p~0`` with a new rank ``p~0`` as the
shared loop, an ordinary affine Einsum the existing model counts exactly; every MAC of the overlap is
computed again (recomputed MACs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from einloop.errors import SpecError
from einloop.spec.arch import Architecture, Storage
from einloop.spec.einsum import AffineIndex
from einloop.spec.fused import FusedMapping, SharedLoop
from einloop.spec.mapping import Loop, Mapping, NodeMapping, keeps, validate
from einloop.spec.workload import Einsum, Tensor, Workload

FIELD = "fused_mapping"


@dataclass(frozen=True)
class RankTiling:
    """One rank of one fused Einsum under the shared loops: how far each shared loop's step moves its
    tile (0: the loop does not move it) and its extent within one shared tile."""

    steps: tuple[int, ...]
    extent: int


@dataclass(frozen=True)
class Intermediate:
    """A tensor written by one fused Einsum and read by a later one: it lives at ``home`` (an arch node
    index below every shared loop), fresh in every shared step."""

    tensor: str
    producer: int
    consumer: int
    home: int


@dataclass(frozen=True)
class EinsumNest:
    """One fused Einsum as an ordinary nest: ``einsum`` (re-indexed where tiles overlap) and ``mapping``
    (shared loops first at their levels). ``shared_loops[node]``: how many leading loops there are shared."""

    name: str
    original: Einsum
    einsum: Einsum
    mapping: Mapping
    tiling: dict[str, RankTiling]
    shared_loops: dict[str, int]   # per level: how many of its leading loops are shared

    def own_loops(self, level: str) -> tuple[Loop, ...]:
        """The Einsum's own loops at a level (after the shared ones), unit factors dropped."""
        return tuple(l for l in self.mapping.for_node(level).loops[self.shared_loops.get(level, 0):] if l.factor > 1)


@dataclass(frozen=True)
class FusedPlan:
    """Everything the fused model evaluates: the nests in execution order and the intermediates."""

    nests: tuple[EinsumNest, ...]
    intermediates: tuple[Intermediate, ...]
    shared: tuple[SharedLoop, ...]
    split: int   # arch node index of the innermost level holding shared loops (-1: none)
    halo: str

    @property
    def shared_steps(self) -> int:
        """Shared tiles over the whole run: the product of the shared factors."""
        return math.prod(l.factor for l in self.shared)


def _check_shared(arch: Architecture, last: Einsum, shared: tuple[SharedLoop, ...]) -> int:
    """Shared loops sit at storage levels, outer to inner, over ranks of the last Einsum; the split index."""
    names = [n.name for n in arch.nodes]
    split = -1
    for i, l in enumerate(shared):
        fld = f"{FIELD}.shared[{i}]"
        if l.target not in names:
            raise SpecError(f"unknown level {l.target!r}; levels: {', '.join(names)}", field=fld)
        node = names.index(l.target)
        if not isinstance(arch.nodes[node], Storage):
            raise SpecError("shared loops are temporal loops of storage levels", field=fld)
        if node < split:
            raise SpecError("list shared loops outer to inner: this level is above the previous one", field=fld)
        if l.rank not in last.ranks:
            raise SpecError(f"unknown rank {l.rank!r}; shared loops name ranks of the last fused Einsum "
                            f"{last.name} ({', '.join(last.ranks)})", field=fld)
        if l.factor < 1:
            raise SpecError(f"loop factor must be >= 1, got {l.factor}", field=fld)
        split = node
    return split


def _last_tiling(last: Einsum, shared: tuple[SharedLoop, ...]) -> dict[str, RankTiling]:
    """The last Einsum's ranks: each shared loop steps its own rank by the product of what is inside it."""
    out = {}
    for rank, bound in last.ranks.items():
        mine = [i for i, l in enumerate(shared) if l.rank == rank]
        total = math.prod(shared[i].factor for i in mine)
        if bound % total:
            raise SpecError(f"the shared factors of rank {rank} multiply to {total}, which does not divide its "
                            f"bound {bound}", field=f"{FIELD}.shared")
        extent, steps = bound // total, [0] * len(shared)
        inner = extent
        for i in reversed(mine):
            steps[i] = inner
            inner *= shared[i].factor
        out[rank] = RankTiling(tuple(steps), extent)
    return out


def _coordinate(index: AffineIndex, tiling: dict[str, RankTiling], n: int, where: str) -> RankTiling:
    """Steps and extent of one tensor coordinate under the consumer's rank tilings."""
    moving = [(r, c) for r, c in index.terms if any(tiling[r].steps)]
    if len(moving) > 1:
        raise SpecError(f"coordinate {index} of {where} is tiled by two shared ranks "
                        f"({', '.join(r for r, _ in moving)}); at most one shared rank per coordinate", field=FIELD)
    if moving and moving[0][1] < 0:
        raise SpecError(f"coordinate {index} of {where} decreases with shared rank {moving[0][0]}", field=FIELD)
    steps = tuple(moving[0][1] * s for s in tiling[moving[0][0]].steps) if moving else (0,) * n
    extent = 1 + sum(abs(c) * (tiling[r].extent - 1) for r, c in index.terms)
    return RankTiling(steps, extent)


def _producer_tiling(producer: Einsum, consumer: Einsum, tiling: dict[str, RankTiling],
                     shared: tuple[SharedLoop, ...]) -> dict[str, RankTiling]:
    """A producer's ranks from the tile of its output its consumer reads per shared step."""
    out_t, read = producer.output, consumer.tensor(producer.output.name)
    n, result = len(shared), {}
    if len(read.indices) != len(out_t.indices):
        raise SpecError(f"{producer.name} writes {out_t.name} with {len(out_t.indices)} coordinates but "
                        f"{consumer.name} reads it with {len(read.indices)}", field=FIELD)
    for j, idx in enumerate(out_t.indices):
        if len(idx.terms) != 1 or idx.terms[0][1] != 1 or idx.offset:
            raise SpecError(f"the output {out_t.name} of fused Einsum {producer.name} must be indexed by plain "
                            f"ranks, got {idx}", field=FIELD)
        rank = idx.terms[0][0]
        c = _coordinate(read.indices[j], tiling, n, f"{read.name} in {consumer.name}")
        span = c.extent + sum(s * (l.factor - 1) for s, l in zip(c.steps, shared))
        if span != producer.ranks[rank]:
            raise SpecError(f"{consumer.name} reads {span} positions of {out_t.name}'s coordinate {j} over the "
                            f"shared loops, but {producer.name}'s rank {rank} has bound {producer.ranks[rank]}",
                            field=FIELD)
        result[rank] = c
    for rank, bound in producer.ranks.items():
        result.setdefault(rank, RankTiling((0,) * n, bound))
    for i, l in enumerate(shared):
        if l.factor > 1 and not any(t.steps[i] for t in result.values()):
            raise SpecError(f"shared loop {l.rank}{l.factor} does not tile {producer.name}: {consumer.name} reads "
                            f"the same part of {out_t.name} at every step; share only ranks that index it",
                            field=f"{FIELD}.shared[{i}]")
    return result


def _ordinary(tiling: dict[str, RankTiling], shared: tuple[SharedLoop, ...]) -> dict[int, str]:
    """Shared loops that are ordinary loops of one rank (its tiles abut exactly): loop index -> rank.
    A rank is ordinary when each loop moving it moves nothing else by the extent of what is inside."""
    out = {}
    for rank, t in tiling.items():
        loops = [i for i, s in enumerate(t.steps) if s]
        alone = all(sum(1 for u in tiling.values() if u.steps[i]) == 1 for i in loops)
        abut = all(t.steps[i] == t.extent * math.prod(shared[k].factor for k in loops if k > i) for i in loops)
        if alone and abut:
            out.update({i: rank for i in loops})
    return out


def _reindexed(e: Einsum, tiling: dict[str, RankTiling], shared: tuple[SharedLoop, ...],
               ordinary: dict[int, str]) -> tuple[Einsum, dict[int, str]]:
    """The Einsum over one rank per non-ordinary shared loop (``rank~i``) plus each rank's tile extent."""
    loop_rank = dict(ordinary)
    new = {i: f"{l.rank}~{i}" for i, l in enumerate(shared) if i not in ordinary and l.factor > 1}
    loop_rank.update(new)
    ranks = {}
    for r, t in tiling.items():
        keep_whole = all(t.steps[i] == 0 or i in ordinary for i in range(len(shared)))
        ranks[r] = e.ranks[r] if keep_whole else t.extent
    ranks.update({name: shared[i].factor for i, name in new.items()})

    def coord(idx: AffineIndex) -> AffineIndex:
        """The coordinate with every overlapping shared loop's rank added."""
        terms = dict(idx.terms)
        for r, c in idx.terms:
            for i, name in new.items():
                if tiling[r].steps[i]:
                    terms[name] = terms.get(name, 0) + c * tiling[r].steps[i]
        return AffineIndex(tuple(sorted((r, c) for r, c in terms.items() if c)), idx.offset)
    tensors = tuple(Tensor(t.name, tuple(coord(i) for i in t.indices), t.bits, t.is_output) for t in e.tensors)
    return Einsum(e.name, ranks, tensors, e.text, e.op), loop_rank


def _nest(e: Einsum, arch: Architecture, own: Mapping, tiling: dict[str, RankTiling],
          shared: tuple[SharedLoop, ...], split: int) -> EinsumNest:
    """Einsum e's ordinary nest: shared loops first at their levels, then e's own loops."""
    fld = f"{FIELD}.nests.{e.name}"
    names = [n.name for n in arch.nodes]
    for nm in own.nodes:
        for loop in nm.loops:
            if loop.rank not in e.ranks:
                raise SpecError(f"unknown rank {loop.rank!r}; ranks of {e.name}: {', '.join(e.ranks)}", field=fld)
        if nm.loops and nm.target in names and names.index(nm.target) < split:
            raise SpecError(f"level {nm.target} is above the split (shared loops end at {names[split]}); an "
                            "Einsum's own loops go at or below it", field=fld)
    for rank, t in tiling.items():
        got = math.prod(l.factor for nm in own.nodes for l in nm.loops if l.rank == rank)
        if got != t.extent:
            raise SpecError(f"the loops of rank {rank} multiply to {got}, but one shared tile of {e.name} spans "
                            f"{t.extent} of it", field=fld)
    einsum, loop_rank = _reindexed(e, tiling, shared, _ordinary(tiling, shared))
    nodes, counts = [], {}
    for node in arch.nodes:
        mine = [Loop(loop_rank[i], l.factor) for i, l in enumerate(shared) if l.target == node.name and i in loop_rank]
        counts[node.name] = len(mine)
        nm = own.for_node(node.name)
        nodes.append(NodeMapping(node.name, tuple(mine) + nm.loops, nm.keep, nm.bypass))
    mapping = Mapping(tuple(nodes))
    try:
        validate(mapping, einsum, arch)
    except SpecError as err:
        raise SpecError(err.message, field=fld) from None
    return EinsumNest(e.name, e, einsum, mapping, tiling, counts)


def _intermediates(nests: list[EinsumNest], arch: Architecture, split: int) -> tuple[Intermediate, ...]:
    """Every fused Einsum's output read by a later one; it must live below the split, at one home."""
    out = []
    for p, prod in enumerate(nests):
        name = prod.einsum.output.name
        readers = [c for c in range(p + 1, len(nests)) if any(t.name == name for t in nests[c].einsum.inputs)]
        if not readers:
            continue
        homes = {}
        for k in (p, readers[0]):
            homes[k] = next(i for i, n in enumerate(arch.nodes)
                            if isinstance(n, Storage) and keeps(nests[k].mapping, n.name, name))
        if len(set(homes.values())) != 1:
            raise SpecError(f"intermediate {name} must live at the same outermost level for {prod.name} and "
                            f"{nests[readers[0]].name} (got {', '.join(arch.nodes[h].name for h in homes.values())})",
                            field=f"{FIELD}.nests")
        home = homes[p]
        if home <= split:
            raise SpecError(f"intermediate {name} is kept at {arch.nodes[home].name}, at or above the shared loops; "
                            f"fused, it lives below {arch.nodes[split].name} (bypass it there)", field=f"{FIELD}.nests")
        if len(readers) > 1:
            raise SpecError(f"intermediate {name} is read by {len(readers)} fused Einsums; fusing a tensor with "
                            "several readers is not modeled yet", field=f"{FIELD}.nests")
        for k in (p, readers[0]):
            _whole_at_home(nests[k], arch, name, home)
        out.append(Intermediate(name, p, readers[-1], home))
    return tuple(out)


def _whole_at_home(nest: EinsumNest, arch: Architecture, tensor: str, home: int) -> None:
    """A shared step's whole intermediate stays at its home: no own loop above it may move its tile."""
    indexing = set(nest.original.tensor(tensor).ranks)
    for node in arch.nodes[:home]:
        bad = [l for l in nest.own_loops(node.name) if l.rank in indexing]
        if bad:
            raise SpecError(f"{nest.name}'s loop {bad[0].rank}{bad[0].factor} at {node.name} is above "
                            f"{arch.nodes[home].name}, where intermediate {tensor} lives, and moves its tile; "
                            f"a shared step's {tensor} must stay whole there (move the loop below "
                            f"{arch.nodes[home].name} or make it shared)", field=f"{FIELD}.nests.{nest.name}")


def chain_tilings(einsums: list[Einsum], shared: tuple[SharedLoop, ...]) -> list[dict[str, RankTiling]]:
    """Every fused Einsum's rank tilings under the shared loops, derived backwards from the last one."""
    tilings = [_last_tiling(einsums[-1], shared)]
    for k in range(len(einsums) - 2, -1, -1):
        producer, out = einsums[k], einsums[k].output.name
        consumer = next((c for c in range(k + 1, len(einsums)) if any(t.name == out for t in einsums[c].inputs)), None)
        if consumer is None:
            raise SpecError(f"{producer.name}'s output {out} is read by no later fused Einsum; fuse a chain "
                            "(each Einsum's output read by a later one)", field=f"{FIELD}.einsums")
        tilings.insert(0, _producer_tiling(producer, einsums[consumer], tilings[consumer - k - 1], shared))
    return tilings


def einsum_nest(e: Einsum, arch: Architecture, own: Mapping, tiling: dict[str, RankTiling],
                shared: tuple[SharedLoop, ...], split: int) -> EinsumNest:
    """One fused Einsum's checked nest from its own mapping (a mapper builds candidates one at a time)."""
    return _nest(e, arch, own, tiling, shared, split)


def reindexed_einsum(e: Einsum, tiling: dict[str, RankTiling], shared: tuple[SharedLoop, ...]):
    """The Einsum an own nest maps (overlapping shared loops as new ranks) and, per shared loop, its rank."""
    return _reindexed(e, tiling, shared, _ordinary(tiling, shared))


def check_intermediates(nests: list[EinsumNest], arch: Architecture, split: int) -> tuple[Intermediate, ...]:
    """The intermediates of a chain of nests, checked (home below the split, whole there, one reader)."""
    return _intermediates(nests, arch, split)


def plan_fused(workload: Workload, arch: Architecture, fm: FusedMapping) -> FusedPlan:
    """Check a fused mapping against the workload and architecture and build its per-Einsum nests."""
    einsums = []
    for name in fm.einsums:
        try:
            einsums.append(workload.einsum(name))
        except SpecError as err:
            raise SpecError(err.message, field=f"{FIELD}.einsums") from None
    split = _check_shared(arch, einsums[-1], fm.shared)
    tilings = chain_tilings(einsums, fm.shared)
    nests = [_nest(e, arch, fm.nests[e.name], t, fm.shared, split) for e, t in zip(einsums, tilings)]
    return FusedPlan(tuple(nests), _intermediates(nests, arch, split), fm.shared, split, fm.halo)
