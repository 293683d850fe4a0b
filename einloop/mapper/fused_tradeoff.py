"""The memory-size vs off-chip-traffic trade-off (Orojenesis): for each on-chip buffer size, the least
DRAM traffic of a cascade, fused (map_fused) and layer by layer.

Traffic is counted as energy on a DRAM -> buffer -> MAC architecture whose only cost is one unit per
DRAM word read or written, so the fused mapper's minimum energy is the minimum traffic (within its
mapspace, docs/fusion.md; proven where the groups are searched exhaustively).
"""
from __future__ import annotations

from dataclasses import dataclass

from einloop.mapper.fused import map_fused
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Storage
from einloop.spec.workload import Workload


@dataclass(frozen=True)
class TradeoffPoint:
    """The least DRAM words (values) moved with a buffer of ``buffer_words`` values, fused and unfused."""

    buffer_words: int
    fused_words: float
    unfused_words: float
    groups: tuple[tuple[str, ...], ...]
    proven_optimal: bool


def traffic_arch(words: int, bits: int) -> Architecture:
    """DRAM -> Buffer(words) -> MAC where only DRAM accesses cost (1 per word)."""
    return Architecture(f"traffic-{words}", (Storage("DRAM", None, bits, energy=ActionEnergy(1.0, 1.0, 1.0)),
                                             Storage("Buffer", words, bits), Compute("MAC")))


def buffer_sizes(workload: Workload, smallest: int = 16, ratio: int = 4) -> list[int]:
    """Buffer sizes from ``smallest`` by ``ratio`` up to the first one holding every tensor of the workload."""
    total = sum(e.tensor_size(t.name) for e in workload.einsums for t in e.tensors)
    out = [smallest]
    while out[-1] < total:
        out.append(out[-1] * ratio)
    return out


def tradeoff(workload: Workload, sizes: list[int] | None = None, *, max_fused_loops: int = 1) -> list[TradeoffPoint]:
    """One point per buffer size: the minimum DRAM traffic fused and layer by layer."""
    bits = max(t.bits for e in workload.einsums for t in e.tensors)
    out = []
    for words in sizes or buffer_sizes(workload):
        net = map_fused(workload, traffic_arch(words, bits), max_fused_loops=max_fused_loops)
        out.append(TradeoffPoint(words, net.total("energy"), net.total("energy", True),
                                 tuple(g.einsums for g in net.groups), net.proven_optimal))
    return out
