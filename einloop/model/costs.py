"""Energy, cycles and validity from access counts: vectorized over a batch of mappings.

* vector accesses = ceil(words / block size) per action; energy = vectors x energy per action x
  utilized instances (`timeloop-semantics.md` 6.2), or utilized clusters where instances share
  accesses (``cluster_size``);
* compute cycles = temporal iterations; a level whose bandwidth cannot feed that rate stretches it:
  cycles = ceil(compute cycles / min(1, bandwidth / demand)) (7); total = max over levels;
* leakage = leak per cycle x total cycles x utilized instances, for every level, kept tensors or not;
* invalid: a level whose kept tiles exceed its capacity, a fanout whose loops exceed its mesh.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from einloop.model.accesses import NestCounts
from einloop.model.nest import NestStructure
from einloop.spec.arch import Fanout, Storage


@dataclass
class BatchCosts:
    energy: np.ndarray           # [B] pJ, total
    cycles: np.ndarray           # [B]
    valid: np.ndarray            # [B] bool
    tensor_energy: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)  # dynamic energy, all instances
    action_energy: dict[tuple[int, str, str], np.ndarray] = field(default_factory=dict)  # (level, tensor, action)
    leak_energy: dict[int, np.ndarray] = field(default_factory=dict)
    level_cycles: dict[int, np.ndarray] = field(default_factory=dict)
    occupancy: dict[int, np.ndarray] = field(default_factory=dict)   # words used per instance
    compute_energy: np.ndarray | None = None


def words_per_value(s: NestStructure, node: Storage, tensor: str, psum: bool = False) -> float:
    """A tensor of `bits` per value occupies bits/datawidth words of a level; an output's partial sums
    (``psum``) its ``psum_bits`` when given; a level's own width for the tensor (``Storage.tensor_bits``)
    overrides both there."""
    own = node.bits_of(tensor)
    if own is not None:
        return own / node.datawidth
    t = s.einsum.tensor(tensor)
    return (t.psum_bits if psum and t.psum_bits else t.bits) / node.datawidth


@dataclass
class Moved:
    """One (level, tensor) per instance: vector accesses and words by action at their widths, and the
    words its tile occupies. An output's reads, fills and non-final updates move partial sums
    (``psum_bits``); its final updates, one per word of the partition, move output values."""

    vectors: dict[str, np.ndarray]
    words: dict[str, np.ndarray]
    occupancy: np.ndarray

    @staticmethod
    def of(s: NestStructure, node: Storage, tensor: str, c) -> "Moved":
        w, p = words_per_value(s, node, tensor), words_per_value(s, node, tensor, psum=True)
        final = c.final_updates if c.final_updates is not None and p != w else 0.0
        partial = c.updates - final
        block = node.block_size
        vec = {"read": vectors(c.reads, p, block), "fill": vectors(c.fills, p, block),
               "update": vectors(partial, p, block) + vectors(final, w, block)}
        words = {"read": np.ceil(c.reads * p - 1e-9), "fill": np.ceil(c.fills * p - 1e-9),
                 "update": np.ceil(partial * p + final * w - 1e-9)}
        holds_psums = np.asarray(c.reads + c.fills + partial) > 0   # a level only final values reach: w
        return Moved(vec, words, c.tile * (np.where(holds_psums, p, w) if p != w else w))


def vectors(count: np.ndarray, words: float, block: int) -> np.ndarray:
    return np.ceil(count * words / block - 1e-9)


def priced(s: NestStructure, node: Storage, tensor: str, action: str, count: np.ndarray,
           instances: np.ndarray) -> np.ndarray:
    """Energy of ``count`` words of one action per instance, over ``instances`` instances: whole vector
    accesses times the energy per access."""
    return vectors(count, words_per_value(s, node, tensor), node.block_size) * getattr(node.energy, action) * instances


def charged_instances(s: NestStructure, node: Storage, used: np.ndarray) -> np.ndarray:
    """Instances whose accesses are paid: every utilized one, or with clusters (``cluster_size`` > 1
    instances share one access) the utilized clusters, min(utilized instances, clusters), as
    Timeloop assumes the utilized instances spread over all clusters."""
    if node.cluster_size <= 1:
        return used
    return np.minimum(used, s.arch.instances(node.name) // node.cluster_size)


def costs(s: NestStructure, nc: NestCounts) -> BatchCosts:
    arch, B = s.arch, nc.temporal_iterations.shape[0]
    compute_cycles = nc.temporal_iterations.astype(float)
    out = BatchCosts(np.zeros(B), compute_cycles.copy(), np.ones(B, bool))
    for i, node in enumerate(arch.nodes):
        if isinstance(node, Fanout):
            out.valid &= (nc.spatial_x[i] <= node.mesh_x) & (nc.spatial_y[i] <= node.mesh_y)
        if not isinstance(node, Storage):
            continue
        charged = charged_instances(s, node, nc.instances[:, i])
        used = np.zeros(B)
        reads = np.zeros(B)
        writes = np.zeros(B)
        for t in s.einsum.tensors:
            c = nc.counts.get((i, t.name))
            if c is None:
                continue
            moved = Moved.of(s, node, t.name, c)
            used += moved.occupancy
            total = 0.0
            for action in ("read", "fill", "update"):
                energy = moved.vectors[action] * getattr(node.energy, action) * charged
                out.action_energy[(i, t.name, action)] = energy
                total = total + energy
            out.tensor_energy[(i, t.name)] = total
            reads += moved.words["read"]
            writes += moved.words["fill"] + moved.words["update"]
        out.occupancy[i] = used
        out.valid &= used <= node.effective_size
        slowdown = np.ones(B)
        for bw, demand in ((node.read_bandwidth, reads), (node.write_bandwidth, writes),
                           (node.shared_bandwidth, reads + writes)):
            if bw is not None:
                rate = demand / compute_cycles
                slowdown = np.minimum(slowdown, np.where(rate > 0, bw / np.maximum(rate, 1e-300), 1.0))
        out.level_cycles[i] = np.ceil(compute_cycles / slowdown - 1e-9)
        out.cycles = np.maximum(out.cycles, out.level_cycles[i])
    compute = arch.compute
    out.compute_energy = np.full(B, float(s.einsum.macs) * compute.energy)
    total = out.compute_energy + sum(out.tensor_energy.values(), np.zeros(B))
    for i, node in enumerate(arch.nodes):
        leak = node.energy.leak if isinstance(node, Storage) else getattr(node, "leak", 0.0)
        if leak and not isinstance(node, Fanout):
            out.leak_energy[i] = leak * out.cycles * np.maximum(1, nc.instances[:, i])
            total = total + out.leak_energy[i]
    out.energy = total
    return out
