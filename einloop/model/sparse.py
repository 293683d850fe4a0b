"""evaluate_sparse: Sparseloop's sparse-modelling step over einloop's dense counts.

1. the dense model gives every level's algorithmic reads, fills and updates (unchanged);
2. a tensor compressed at a level (a CP, RLE or B rank) stores and moves only its nonzeros: its
   counts scale by the tile's expected nonzero fraction (whole values for exact densities: ceil);
3. an SAF (gating or skipping ``target`` on ``condition_on``) at a level splits the target's reads
   and updates there: effectual = present x P(every condition tile is non-empty), the condition tile
   being the condition tensor's footprint over the loops of the level that receives the target
   (one value when that is the compute unit); exact densities round the effectual count up, except
   the output's reads (read-modify-write), rounded down (as every Sparseloop reference does);
4. a compute is issued only when each operand is delivered: algorithmic x the product of the
   densities of the tensors whose zeros stop an operand at its innermost level (the rest are
   Sparseloop's "nonexistent" computes); a compute optimization (gating / skipping at the MAC) turns
   the issued ones with a zero operand (all but algorithmic x the product of the operand densities)
   into gated (their cycle kept, ``gated_compute`` energy, 0 if absent) or skipped computes;
5. energy: random actions at the ERT energy, gated ones at gated_* (0 if absent), skipped free;
   metadata per item bits in vectors of the level's metadata width; cycles: computes / instances,
   stretched by each level's bandwidth for random + gated data and metadata words; leakage x cycles.
"""
from __future__ import annotations

import math

from einloop.model.evaluate import evaluate
from einloop.model.result import TensorStats
from einloop.spec.semantics import Semantics
from einloop.model.sparse_density import expected_nonzeros, max_nonzeros, prob_nonempty, vector_ratio
from einloop.model.sparse_format import is_compressed, tile_metadata
from einloop.model.sparse_result import SparseAction, SparseComputes, SparseResult, SparseTensor
from einloop.spec.arch import Architecture, Compute, Storage
from einloop.spec.mapping import Mapping
from einloop.spec.sparse import SparseSpec
from einloop.spec.workload import Einsum

ACTIONS = ("read", "fill", "update")


class _Nest:
    """Per node, the tile shape (per tensor dimension) a tensor has over the loops from that node in."""

    def __init__(self, einsum: Einsum, arch: Architecture, mapping: Mapping):
        self.einsum, self.arch, self.mapping = einsum, arch, mapping
        self.names = [n.name for n in arch.nodes]
        self._shapes: dict[tuple[str, int], tuple[int, ...]] = {}
        self._totals = {t.name: einsum.tensor_size(t.name) for t in einsum.tensors}
        self.memo: dict[tuple, float] = {}     # per evaluation: vector ratios of compressed tiles

    def shape(self, tensor: str, node: int) -> tuple[int, ...]:
        """Per tensor dimension, the extent of ``tensor``'s tile over the loops from ``node`` inward."""
        if (tensor, node) not in self._shapes:
            self._shapes[tensor, node] = self._shape(tensor, node)
        return self._shapes[tensor, node]

    def _shape(self, tensor: str, node: int) -> tuple[int, ...]:
        ext = {r: 1 for r in self.einsum.ranks}
        for name in self.names[node:]:
            for loop in self.mapping.for_node(name).loops:
                ext[loop.rank] = ext.get(loop.rank, 1) * loop.factor
        return self.einsum.tensor(tensor).extents(ext)

    def loops(self, tensor: str, node: int) -> list[tuple[str, int]]:
        """The loops from ``node`` inward that index ``tensor`` (factor > 1), outer to inner."""
        ranks = self.einsum.tensor(tensor).ranks
        return [(lp.rank, lp.factor) for name in self.names[node:] for lp in self.mapping.for_node(name).loops
                if lp.rank in ranks and lp.factor > 1]

    def own_loops(self, tensor: str, node: int) -> int:
        """How many of ``loops(tensor, node)`` belong to ``node`` itself (with the fanouts just below it)."""
        end = node + 1
        while end < len(self.names) and not isinstance(self.arch.nodes[end], (Storage, Compute)):
            end += 1
        ranks = self.einsum.tensor(tensor).ranks
        return sum(1 for name in self.names[node:end] for lp in self.mapping.for_node(name).loops
                   if lp.rank in ranks and lp.factor > 1)

    def receiver(self, tensor: str, node: int) -> int:
        """The node that receives ``tensor`` from storage ``node``: the next level keeping it, else compute."""
        for j in range(node + 1, len(self.names)):
            n = self.arch.nodes[j]
            if isinstance(n, Compute) or (isinstance(n, Storage) and self.mapping.for_node(n.name).keeps(tensor)):
                return j
        return len(self.names) - 1

    def keeper(self, tensor: str, node: int) -> int | None:
        """The innermost storage at or above ``node`` that keeps ``tensor``."""
        for j in range(node, -1, -1):
            n = self.arch.nodes[j]
            if isinstance(n, Storage) and self.mapping.for_node(n.name).keeps(tensor):
                return j
        return None

    def safs_at(self, sp: SparseSpec, level: int) -> list:
        """SAFs acting on the accesses of storage ``level``: its own on tensors it keeps, and those of
        inner levels that bypass an input target (they act on the reads passing through them; an
        output's bypassed SAF does nothing, as sparse_07's BackingStorage Outputs show)."""
        out = []
        for j in range(level, len(self.names)):
            for saf in sp.level(self.names[j]).safs:
                passing = j > level and not self.einsum.tensor(saf.target).is_output \
                    and self.receiver(saf.target, level) > j
                if self.keeper(saf.target, j) == level and (j == level or passing):
                    out.append(saf)
        return out

    def total(self, tensor: str) -> int:
        """The whole tensor's size in values (the population of its density model)."""
        return self._totals[tensor]


def _whole(x: float, exact: bool, up: bool) -> float:
    if not exact:
        return x
    # no tolerance: Sparseloop rounds the float products as they come (230400 x 0.275 -> 63361)
    return float(math.ceil(x) if up else math.floor(x))


def _kept(total: float, p: float, exact: bool, up: bool = True) -> float:
    """``total`` x ``p`` in whole accesses as Sparseloop counts them: the removed part total x (1 - p)
    rounded down (up when ``up`` is False), the rest kept."""
    if not exact:
        return total * p
    removed = total * (1.0 - p)
    return total - float(math.floor(removed) if up else math.ceil(removed))


def _effectual(sp: SparseSpec, nest: _Nest, level: int, tensor: str) -> tuple[float, str, bool]:
    """P(an access of ``tensor`` at ``level`` is effectual), the SAF kind, and whether it is exact."""
    p, kind, exact = 1.0, "", True
    for saf in nest.safs_at(sp, level):
        if saf.target != tensor:
            continue
        j = nest.receiver(tensor, level)
        for c in saf.condition_on:
            d = sp.density(c)
            p *= prob_nonempty(d, nest.shape(c, j), nest.total(c))
            exact &= d.exact
        kind = "skipping" if "skipping" in (kind, saf.kind) else "gating"
    return p, kind, exact


def _actions(sp: SparseSpec, nest: _Nest, level: int, t: TensorStats, node: Storage) -> list[SparseAction]:
    fmt = sp.level(node.name).formats.get(t.tensor)
    dens = sp.density(t.tensor)
    shape, total = nest.shape(t.tensor, level), nest.total(t.tensor)
    keep = 1.0
    if is_compressed(fmt):   # the nonzero fraction: the density itself unless counted from data
        keep = dens.density if dens.distribution == "fixed_structured" else \
            expected_nonzeros(dens, shape, total) / t.utilized_capacity
    md_bits = sp.level(node.name).metadata.datawidth or node.datawidth
    ranks = tile_metadata(fmt, nest.loops(t.tensor, level), nest.einsum.tensor(t.tensor), dens, total, md_bits,
                          nest.own_loops(t.tensor, level)) if fmt else []
    meta = sum(r.items for r in ranks)
    item_bits = sum(r.total_bits for r in ranks) / meta if meta else None
    p, kind, exact = _effectual(sp, nest, level, t.tensor)
    exact &= dens.exact or keep == 1.0
    out = []
    for action in ACTIONS:
        alg = float(getattr(t, action + "s"))
        present = _kept(alg, keep, exact)
        applies = action != "fill" and kind
        # Sparseloop rounds effectual counts up, but the output's reads (read-modify-write) down
        rmw_read = action == "read" and nest.einsum.tensor(t.tensor).is_output
        eff = _kept(present, p, exact, up=not rmw_read) if applies else present
        m_all = _whole(alg / t.utilized_capacity * meta, exact, up=True)
        m_eff = m_all * (eff / present) if present else 0.0
        gated = present - eff if kind == "gating" else 0.0
        skipped = present - eff if kind == "skipping" else 0.0
        m_gated = m_all - m_eff if kind == "gating" else 0.0
        m_skipped = m_all - m_eff if kind == "skipping" else 0.0
        out.append(SparseAction(node.name, t.tensor, action, alg, eff, gated, skipped, m_eff, m_gated, m_skipped,
                                0.0, item_bits))
    return out


def _price(sp: SparseSpec, nest: _Nest, level: int, a: SparseAction, instances: int) -> tuple[float, float]:
    """Energy (pJ, all instances) and bandwidth words per instance of one action."""
    node = nest.arch.nodes[level]
    ls = sp.level(node.name)
    words = nest.einsum.tensor(a.tensor).bits / node.datawidth
    vec = lambda n, w, block: math.ceil(n * w / block - 1e-9)   # noqa: E731 - whole vector accesses
    ratio = 1.0
    if is_compressed(ls.formats.get(a.tensor)):
        key = ("ratio", a.tensor, level)
        if key not in nest.memo:
            nest.memo[key] = vector_ratio(sp.density(a.tensor), nest.shape(a.tensor, level), nest.total(a.tensor),
                                          node.block_size)
        ratio = nest.memo[key]
    energy = vec(a.random, words, node.block_size) * ratio * getattr(node.energy, a.action)
    energy += vec(a.gated, words, node.block_size) * ratio * ls.gated_energy.get(a.action, 0.0)
    md = ls.metadata
    bits = a.metadata_item_bits if a.metadata_item_bits is not None else md.datawidth or node.datawidth
    if md.width:
        energy += vec(a.metadata_random, bits, md.width) * md.energy.get(a.action, 0.0)
        energy += vec(a.metadata_gated, bits, md.width) * md.energy.get(f"gated_{a.action}", 0.0)
    demand = math.ceil((a.random + a.gated) * words - 1e-9) \
        + (a.metadata_random + a.metadata_gated) * bits / node.datawidth
    return energy * instances, demand


def _codec(sp: SparseSpec, nest: _Nest, level: int, tensor: str, actions: list[SparseAction],
           instances: int) -> list[SparseAction]:
    """An uncompressed tile filled from a compressed parent decompresses every value it receives and
    compresses every nonzero it sends back (the parent's random updates), each at the level's
    ``decompression_count`` / ``compression_count`` energy per value."""
    node = nest.arch.nodes[level]
    parent = nest.keeper(tensor, level - 1) if level > 0 else None
    if parent is None or is_compressed(sp.level(node.name).formats.get(tensor)) or \
            not is_compressed(sp.level(nest.names[parent]).formats.get(tensor)):
        return []
    mine = {a.action: a for a in actions if (a.level, a.tensor) == (node.name, tensor)}
    up = next(a for a in actions if (a.level, a.tensor, a.action) == (nest.names[parent], tensor, "update"))
    codec = sp.level(node.name).codec_energy
    out = []
    for action, count in (("decompression", mine["fill"].random), ("compression", up.random)):
        if count:
            out.append(SparseAction(node.name, tensor, action, count, count, 0.0, 0.0, 0.0, 0.0, 0.0,
                                    count * codec.get(action, 0.0) * instances))
    return out


def _computes(sp: SparseSpec, nest: _Nest, einsum: Einsum) -> SparseComputes:
    """Computes performed: algorithmic x P(every tensor whose zeros stop an operand is nonzero)."""
    stoppers: set[str] = set()
    for t in einsum.inputs:
        level = next((i for i in range(len(nest.names) - 1, -1, -1) if isinstance(nest.arch.nodes[i], Storage)
                      and nest.mapping.for_node(nest.names[i]).keeps(t.name)), None)
        if level is None:
            continue
        ls = sp.level(nest.names[level])
        if is_compressed(ls.formats.get(t.name)):
            stoppers.add(t.name)
        for saf in nest.safs_at(sp, level):
            if saf.target == t.name:
                stoppers.update(saf.condition_on)
    p = math.prod(sp.density(s).density for s in stoppers)
    exact = all(sp.density(s).exact for s in stoppers)
    issued = _kept(einsum.macs, p, exact)
    if not sp.compute:
        return SparseComputes(einsum.macs, issued, 0.0, 0.0)
    operands = [t.name for t in einsum.inputs]
    exact = all(sp.density(t).exact for t in operands)
    effectual = min(issued, _kept(einsum.macs, math.prod(sp.density(t).density for t in operands), exact))
    idle = issued - effectual
    return SparseComputes(einsum.macs, effectual, idle if sp.compute == "gating" else 0.0,
                          idle if sp.compute == "skipping" else 0.0)


def evaluate_sparse(einsum: Einsum, arch: Architecture, mapping: Mapping, sparsity: SparseSpec, *,
                    reuse_rule: str = "2025", semantics: Semantics | None = None) -> SparseResult:
    """The dense evaluation (``reuse_rule`` and ``semantics`` as ``evaluate``), then the sparse-modelling
    step (module docstring); SpecError as evaluate."""
    dense = evaluate(einsum, arch, mapping, reuse_rule=reuse_rule, semantics=semantics)
    nest = _Nest(einsum, arch, mapping)
    comp = _computes(sparsity, nest, einsum)
    compute_node = arch.compute
    used = max(1, dense.level(compute_node.name).utilized_instances)
    compute_cycles = math.ceil((comp.random + comp.gated) / used - 1e-9)
    actions, tiles, level_energy, level_cycles, reasons = [], [], {}, {}, []
    demand: dict[str, list[float]] = {}
    for i, node in enumerate(arch.nodes):
        if not isinstance(node, Storage):
            continue
        energy, reads, writes = 0.0, 0.0, 0.0
        for t in (x for x in dense.tensors if x.level == node.name):
            for a in _actions(sparsity, nest, i, t, node):
                a.energy, words = _price(sparsity, nest, i, a, t.instances)
                energy += a.energy
                reads, writes = (reads + words, writes) if a.action == "read" else (reads, writes + words)
                actions.append(a)
            for a in _codec(sparsity, nest, i, t.tensor, actions, t.instances):
                energy += a.energy
                actions.append(a)
            tiles.append(_tile(sparsity, nest, i, t, node))
        level_energy[node.name], demand[node.name] = energy, [reads, writes]
        _check_capacity(node, sparsity, [x for x in tiles if x.level == node.name], reasons)
    for node in arch.storages:
        level_cycles[node.name] = _level_cycles(node, *demand[node.name], compute_cycles)
    cycles = max([compute_cycles, *level_cycles.values()])
    for i, node in enumerate(arch.nodes):
        if isinstance(node, Storage) and node.energy.leak:
            level_energy[node.name] += node.energy.leak * cycles * max(1, dense.levels[_index(dense, node.name)]
                                                                        .utilized_instances)
    level_energy[compute_node.name] = comp.random * compute_node.energy + comp.gated * sparsity.compute_gated_energy
    level_cycles[compute_node.name] = compute_cycles
    return SparseResult(dense, comp, cycles, compute_cycles, sum(level_energy.values()), level_energy,
                        level_cycles, actions, tiles, not reasons and dense.valid, dense.reasons + reasons)


def _index(dense, name: str) -> int:
    return next(k for k, l in enumerate(dense.levels) if l.name == name)


def _tile(sp: SparseSpec, nest: _Nest, level: int, t: TensorStats, node: Storage) -> SparseTensor:
    fmt = sp.level(node.name).formats.get(t.tensor)
    dens, shape, total = sp.density(t.tensor), nest.shape(t.tensor, level), nest.total(t.tensor)
    md = sp.level(node.name).metadata
    ranks = tile_metadata(fmt, nest.loops(t.tensor, level), nest.einsum.tensor(t.tensor), dens, total,
                          md.datawidth or node.datawidth, nest.own_loops(t.tensor, level)) if fmt else []
    data = max_nonzeros(dens, shape, total) if is_compressed(fmt) else float(t.utilized_capacity)
    mean = expected_nonzeros(dens, shape, total) if is_compressed(fmt) else float(t.utilized_capacity)
    per_rank = [_whole(r.metadata, dens.exact, True) + _whole(r.payload, dens.exact, True) for r in ranks]
    return SparseTensor(node.name, t.tensor, " ".join(r.format for r in ranks), t.utilized_capacity, data, mean,
                        sum(per_rank), sum(_whole(r.metadata, dens.exact, True) * r.bits + _whole(r.payload, dens.exact, True)
                                        * (r.bits if r.payload_bits is None else r.payload_bits) for r in ranks),
                        t.instances)


def _check_capacity(node: Storage, sp: SparseSpec, tiles: list[SparseTensor], reasons: list[str]) -> None:
    md = sp.level(node.name).metadata
    bits = sum(t.metadata_bits for t in tiles)
    if md.depth is not None and md.width and bits > md.depth * md.width:
        reasons.append(f"level {node.name}: metadata needs {bits:g} bits but the metadata store holds "
                       f"{md.depth * md.width}")


def _level_cycles(node: Storage, reads: float, writes: float, compute_cycles: int) -> int:
    slowdown = 1.0
    for bw, need in ((node.read_bandwidth, reads), (node.write_bandwidth, writes),
                     (node.shared_bandwidth, reads + writes)):
        if bw is not None and need > 0 and compute_cycles:
            slowdown = min(slowdown, bw / (need / compute_cycles))
    return math.ceil(compute_cycles / slowdown)   # no tolerance: Timeloop rounds the float quotient
