"""Mappings: per node, a loop nest (temporal at storage levels, spatial at fanouts) and keep/bypass."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from einloop.errors import SpecError
from einloop.spec.limits import MAX_BOUND, shorten
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.workload import Einsum


@dataclass(frozen=True)
class Loop:
    """``for rank in [0:factor)``; ``spatial`` is "X", "Y" or None (temporal)."""

    rank: str
    factor: int
    spatial: str | None = None
    #: the older ``RANKFACTOR`` text when it could split another way (``n14``: n x 14 or n1 x 4); see resolve()
    written: str = field(default="", compare=False)


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
    """A loop nest per node; nodes not listed have no loops and keep every tensor."""

    nodes: tuple[NodeMapping, ...] = field(default_factory=tuple)

    def for_node(self, name: str) -> NodeMapping:
        for n in self.nodes:
            if n.target == name:
                return n
        return NodeMapping(name)


_EXPLICIT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\d+)\s*$")
_LEGACY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*?)(\d+)\s*$")
_MAX_DIGITS = len(str(MAX_BOUND))


def loops_text(loops) -> str:
    """Loops as einloop's unambiguous mapping text, ``"n1=4 k=16"`` (outer to inner)."""
    return " ".join(f"{l.rank}={l.factor}" for l in loops)


def parse_loops(text: str | list, spatial: str | None = None, *, field_name: str = "") -> tuple[Loop, ...]:
    """Loops from ``"M=2 Q=8"``, ``"M=2, Q=8"``, ``["M=2", "Q=8"]`` or the older ``"M2 Q8"``, outer to inner.

    ``RANK=FACTOR`` is unambiguous; in the older ``RANKFACTOR`` form a rank name ending in digits is
    split by :func:`resolve` once the Einsum's ranks are known.
    """
    items = text if isinstance(text, list) else re.split(r"[,\s]+(?=[A-Za-z_])", str(text).strip())
    loops = []
    for item in items:
        if item in ("", None):
            continue
        m = _EXPLICIT.match(str(item)) or _LEGACY.match(str(item))
        if not m:
            raise SpecError(f"cannot read loop {shorten(item)}; write RANK=FACTOR, e.g. 'm=2' or 'n1=4'",
                            field=field_name)
        digits = m.group(2)
        if len(digits) > _MAX_DIGITS or int(digits) > MAX_BOUND:
            raise SpecError(f"loop factor {shorten(digits)} is above einloop's ceiling 2**31 for a rank bound",
                            field=field_name)
        legacy = "=" not in str(item) and len(digits) > 1
        loops.append(Loop(m.group(1), int(digits), spatial, str(item).strip() if legacy else ""))
    return tuple(loops)


def _splits(written: str, ranks) -> list[tuple[str, int]]:
    """Every (rank, factor >= 1) reading of the older ``RANKFACTOR`` text with a rank of the Einsum."""
    out = []
    for i in range(1, len(written)):
        name, digits = written[:i], written[i:]
        if name in ranks and digits.isdigit() and int(digits) >= 1:
            out.append((name, int(digits)))
    return out


def resolve(mapping: Mapping, einsum: Einsum) -> Mapping:
    """The mapping with each older ``RANKFACTOR`` loop read against the Einsum's ranks.

    ``n14`` is rank n1 x 4 when only n1 is a rank, n x 14 when only n is; with both it is refused.
    """
    nodes = []
    for nm in mapping.nodes:
        loops = []
        for loop in nm.loops:
            options = _splits(loop.written, einsum.ranks) if loop.written else []
            if len(options) > 1:
                alts = " or ".join(f"'{r}={f}'" for r, f in options)
                raise SpecError(f"loop {loop.written!r} is ambiguous with ranks "
                                f"{', '.join(r for r, _ in options)}; write {alts}",
                                field=f"mapping[{nm.target}]")
            loops.append(replace(loop, rank=options[0][0], factor=options[0][1]) if options else loop)
        nodes.append(replace(nm, loops=tuple(loops)))
    return Mapping(tuple(nodes))


def validate(mapping: Mapping, einsum: Einsum, arch: Architecture) -> None:
    """Raise SpecError if the mapping does not fit the Einsum and architecture's structure.

    (Capacity and fanout overflows are not spec errors: the model reports them as invalid.)
    """
    names = {n.name for n in arch.nodes}
    targets = [nm.target for nm in mapping.nodes]
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise SpecError(f"level(s) {shorten(', '.join(twice))} listed twice; give each level's loops and "
                        "keep/bypass in one entry", field=f"mapping[{twice[0]}]")
    for nm in mapping.nodes:
        if nm.target not in names:
            raise SpecError(f"unknown level {shorten(nm.target)}; levels: {', '.join(n.name for n in arch.nodes)}",
                            field="mapping")
        _validate_node(nm, arch.node(nm.target), einsum)
    for rank, bound in einsum.ranks.items():
        parts = [(nm.target, l.factor) for nm in mapping.nodes for l in nm.loops if l.rank == rank]
        prod = math.prod(f for _, f in parts)
        if prod != bound:
            shown = " x ".join(f"{t} {f}" for t, f in parts) or "no loops"
            raise SpecError(f"the factors of rank {rank} multiply to {prod:,} ({shown}), but its bound is "
                            f"{bound:,}; they must multiply to the bound", field="mapping")
    for t in einsum.tensors:
        if not any(keeps(mapping, s.name, t.name) for s in arch.storages):
            raise SpecError(f"tensor {t.name} is bypassed at every storage level; at least one level must keep it",
                            field="mapping")


def _validate_node(nm: NodeMapping, node, einsum: Einsum) -> None:
    """One node's loops and keep/bypass lists against its level kind and the Einsum's ranks and tensors."""
    f = f"mapping[{nm.target}]"
    for loop in nm.loops:
        where = f"{f}.spatial.{loop.spatial}" if loop.spatial else f"{f}.temporal"
        if loop.rank not in einsum.ranks:
            hint = ""
            if loop.written:
                hint = (f" (read from {loop.written!r}; write RANK=FACTOR, "
                        f"e.g. '{loop.written[:-1]}={loop.written[-1]}')")
            raise SpecError(f"unknown rank {shorten(loop.rank)}{hint}; ranks: {', '.join(einsum.ranks)}",
                            field=where)
        if loop.factor < 1:
            raise SpecError(f"loop factor must be >= 1, got {loop.factor}", field=where)
        if isinstance(node, Storage) and loop.spatial:
            raise SpecError("spatial loops belong to a fanout node, not a storage level", field=where)
        if isinstance(node, Fanout) and not loop.spatial:
            raise SpecError("a fanout node has only spatial loops (X or Y)", field=where)
        if not isinstance(node, (Storage, Fanout)):
            raise SpecError("the compute unit has no loops", field=f)
    for key, listed in (("keep", nm.keep), ("bypass", nm.bypass)):
        if not listed:
            continue
        if not isinstance(node, Storage):
            raise SpecError("keep/bypass applies to storage levels only", field=f"{f}.{key}")
        unknown = sorted(listed - {t.name for t in einsum.tensors})
        if unknown:
            raise SpecError(f"unknown tensor(s) {shorten(', '.join(unknown))}; tensors: "
                            f"{', '.join(t.name for t in einsum.tensors)}", field=f"{f}.{key}")


def keeps(mapping: Mapping, level: str, tensor: str) -> bool:
    """Whether ``level`` keeps ``tensor`` under ``mapping``."""
    return mapping.for_node(level).keeps(tensor)
