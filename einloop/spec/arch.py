"""Architectures: storage levels (outer to inner), spatial fanouts between them, one compute unit.

Every number here is resolved (pJ, um^2, words): component models and ERTs are applied when a spec is
loaded, so the model only multiplies counts by energies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from einloop.errors import SpecError
from einloop.spec.semantics import EXACT, Semantics


@dataclass(frozen=True)
class ActionEnergy:
    """Energy per vector access (pJ) of each storage action, and leakage per cycle per instance."""

    read: float = 0.0
    fill: float = 0.0
    update: float = 0.0
    leak: float = 0.0


@dataclass(frozen=True)
class Storage:
    """A buffer level. ``size`` in words of ``datawidth`` bits (None = unbounded, e.g. DRAM)."""

    name: str
    size: int | None = None
    datawidth: int = 8
    block_size: int = 1                  # words per vector access (width / datawidth)
    read_bandwidth: float | None = None  # words per cycle per instance
    write_bandwidth: float | None = None
    shared_bandwidth: float | None = None
    multiple_buffering: float = 1.0
    energy: ActionEnergy = field(default_factory=ActionEnergy)
    area: float = 0.0                    # um^2 per instance
    component_class: str = "storage"
    energy_source: str = ""
    cluster_size: int = 1                # instances sharing one access (Timeloop's cluster_size)
    tensor_bits: tuple[tuple[str, int], ...] = ()   # (tensor, bits per value here): overrides the tensor's
    # bits and partial-sum bits at this level only (e.g. 24-bit partial sums in an accumulator)

    def bits_of(self, tensor: str) -> int | None:
        """Bits per value of ``tensor`` at this level when the level sets its own, else None."""
        return next((b for t, b in self.tensor_bits if t == tensor), None)

    @property
    def effective_size(self) -> float:
        return math.inf if self.size is None else math.floor(self.size / self.multiple_buffering)


Sharing = bool | frozenset   # every tensor (True), none (False), or the tensors named


@dataclass(frozen=True)
class Fanout:
    """A spatial fanout: every child of this node is replicated mesh_x x mesh_y times.

    ``multicast``: whether children holding the same tile of an input share one parent read;
    ``reduction``: whether they merge an output's updates into one (and share its reads back). Each
    is True (every tensor), False (none: each child's words move separately, AccelForge's
    ``may_reuse: Nothing``, Timeloop's ``no_multicast_no_reduction``) or a set of tensor names."""

    name: str
    mesh_x: int = 1
    mesh_y: int = 1
    multicast: Sharing = True
    reduction: Sharing = True

    @property
    def size(self) -> int:
        return self.mesh_x * self.mesh_y

    def shares(self, tensor: str, is_output: bool) -> bool:
        """Whether children with equal tiles of ``tensor`` share the parent's accesses here."""
        rule = self.reduction if is_output else self.multicast
        return rule if isinstance(rule, bool) else tensor in rule


@dataclass(frozen=True)
class Compute:
    """The arithmetic unit at the leaves; ``energy`` is pJ per MAC."""

    name: str
    energy: float = 0.0
    leak: float = 0.0
    area: float = 0.0
    component_class: str = "intmac"
    energy_source: str = ""


Node = Storage | Fanout | Compute


@dataclass(frozen=True)
class Architecture:
    """Nodes outer to inner; the last node is the compute unit. ``semantics``: the counting conventions
    its evaluations follow (Timeloop's for Timeloop inputs, see einloop.spec.semantics)."""

    name: str
    nodes: tuple[Node, ...]
    cycle_seconds: float = 1e-9
    semantics: Semantics = EXACT
    notes: tuple[str, ...] = ()          # what reading the specs estimated or ignored; every result repeats it

    def __post_init__(self):
        if not self.nodes or not isinstance(self.nodes[-1], Compute):
            raise SpecError("the innermost node must be a compute unit", field="nodes")
        if sum(isinstance(n, Compute) for n in self.nodes) != 1:
            raise SpecError("an architecture has exactly one compute unit", field="nodes")
        if not any(isinstance(n, Storage) for n in self.nodes):
            raise SpecError("an architecture needs at least one storage level", field="nodes")
        if isinstance(self.nodes[0], Fanout):
            raise SpecError("the outermost node must be a storage level, not a fanout", field="nodes")
        names = [n.name for n in self.nodes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"node name(s) {', '.join(dup)} used twice", field="nodes")

    @property
    def storages(self) -> tuple[Storage, ...]:
        return tuple(n for n in self.nodes if isinstance(n, Storage))

    @property
    def fanouts(self) -> tuple[Fanout, ...]:
        return tuple(n for n in self.nodes if isinstance(n, Fanout))

    @property
    def names_tensors(self) -> bool:
        """Whether some node sets something per tensor name (multicast, reduction or bits per value)."""
        return any(isinstance(n, Fanout) and not (isinstance(n.multicast, bool) and isinstance(n.reduction, bool))
                   or isinstance(n, Storage) and n.tensor_bits for n in self.nodes)

    def named_tensors(self) -> dict[str, frozenset[str]]:
        """Per node, the tensor names its per-tensor settings mention (multicast, reduction, bits)."""
        out = {}
        for n in self.nodes:
            names = frozenset(t for t, _ in n.tensor_bits) if isinstance(n, Storage) else frozenset().union(
                *(v for v in (n.multicast, n.reduction) if not isinstance(v, bool))) if isinstance(n, Fanout) \
                else frozenset()
            if names:
                out[n.name] = names
        return out

    @property
    def compute(self) -> Compute:
        return self.nodes[-1]  # type: ignore[return-value]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise SpecError(f"no level named {name!r}; levels: {', '.join(n.name for n in self.nodes)}")

    def instances(self, name: str) -> int:
        """How many copies of a node exist: the product of the fanouts above it."""
        count = 1
        for n in self.nodes:
            if n.name == name:
                return count
            if isinstance(n, Fanout):
                count *= n.size
        raise SpecError(f"no level named {name!r}")

    @property
    def compute_instances(self) -> int:
        return self.instances(self.compute.name)

    def area(self) -> dict[str, float]:
        """Total area (um^2) per node: per-instance area times instances."""
        return {n.name: n.area * self.instances(n.name) for n in self.nodes if not isinstance(n, Fanout)}
