"""Mappings: per node, a loop nest (temporal at storage levels, spatial at fanouts) and keep/bypass."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from einloop.errors import SpecError
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.workload import Einsum


@dataclass(frozen=True)
class Loop:
    """``for rank in [0:factor)``; ``spatial`` is "X", "Y" or None (temporal)."""

    rank: str
    factor: int
    spatial: str | None = None


@dataclass(frozen=True)
class NodeMapping:
    """Loops of one node, outer to inner; a storage level holds ``keep`` (None = every tensor not in ``bypass``)."""

    target: str
    loops: tuple[Loop, ...] = ()
    keep: frozenset[str] | None = None
    bypass: frozenset[str] = frozenset()

    def keeps(self, tensor: str) -> bool:
        return tensor in self.keep if self.keep is not None else tensor not in self.bypass


@dataclass(frozen=True)
class Mapping:
    nodes: tuple[NodeMapping, ...] = field(default_factory=tuple)

    def for_node(self, name: str) -> NodeMapping:
        for n in self.nodes:
            if n.target == name:
                return n
        return NodeMapping(name)


_FACTOR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*?)\s*=?\s*(\d+)\s*$")


def parse_loops(text: str | list, spatial: str | None = None, *, field_name: str = "") -> tuple[Loop, ...]:
    """Loops from ``"M2 Q8 P2"``, ``"M=2, Q=8"`` or ``["M=2", "Q=8"]``, outer to inner."""
    items = text if isinstance(text, list) else re.split(r"[,\s]+(?=[A-Za-z_])", str(text).strip())
    loops = []
    for item in items:
        if item in ("", None):
            continue
        m = _FACTOR.match(str(item))
        if not m:
            raise SpecError(f"cannot read loop {item!r}; write RANK=FACTOR or RANKFACTOR, e.g. 'M=2' or 'M2'",
                            field=field_name)
        loops.append(Loop(m.group(1), int(m.group(2)), spatial))
    return tuple(loops)


def validate(mapping: Mapping, einsum: Einsum, arch: Architecture) -> None:
    """Raise SpecError if the mapping does not fit the Einsum and architecture's structure.

    (Capacity and fanout overflows are not spec errors: the model reports them as invalid.)
    """
    names = {n.name for n in arch.nodes}
    for nm in mapping.nodes:
        if nm.target not in names:
            raise SpecError(f"unknown level {nm.target!r}; levels: {', '.join(n.name for n in arch.nodes)}",
                            field="mapping")
        node = arch.node(nm.target)
        f = f"mapping.{nm.target}"
        for loop in nm.loops:
            if loop.rank not in einsum.ranks:
                raise SpecError(f"unknown rank {loop.rank!r}; ranks: {', '.join(einsum.ranks)}", field=f)
            if loop.factor < 1:
                raise SpecError(f"loop factor must be >= 1, got {loop.factor}", field=f)
            if isinstance(node, Storage) and loop.spatial:
                raise SpecError("spatial loops belong to a fanout node, not a storage level", field=f)
            if isinstance(node, Fanout) and not loop.spatial:
                raise SpecError("a fanout node has only spatial loops (X or Y)", field=f)
            if not isinstance(node, (Storage, Fanout)):
                raise SpecError("the compute unit has no loops", field=f)
        for key, listed in (("keep", nm.keep), ("bypass", nm.bypass)):
            if not listed:
                continue
            if not isinstance(node, Storage):
                raise SpecError("keep/bypass applies to storage levels only", field=f)
            unknown = sorted(listed - {t.name for t in einsum.tensors})
            if unknown:
                raise SpecError(f"unknown tensor(s) {', '.join(unknown)}; tensors: "
                                f"{', '.join(t.name for t in einsum.tensors)}", field=f"{f}.{key}")
    for rank, bound in einsum.ranks.items():
        prod = math.prod(l.factor for nm in mapping.nodes for l in nm.loops if l.rank == rank)
        if prod != bound:
            raise SpecError(f"the factors of rank {rank} multiply to {prod}, but its bound is {bound}",
                            field="mapping")
    for t in einsum.tensors:
        if not any(keeps(mapping, s.name, t.name) for s in arch.storages):
            raise SpecError(f"tensor {t.name} is bypassed at every storage level; at least one level must keep it",
                            field="mapping")


def keeps(mapping: Mapping, level: str, tensor: str) -> bool:
    return mapping.for_node(level).keeps(tensor)
