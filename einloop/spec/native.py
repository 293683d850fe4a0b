"""einloop's own YAML: ``workload:``, ``architecture:`` and ``mapping:`` sections, validated by pydantic.

Every model forbids unknown fields, so a misspelled key is an error naming the allowed ones.
"""
from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from einloop.errors import SpecError
from einloop.spec.limits import (MAX_AREA, MAX_BANDWIDTH, MAX_BOUND, MAX_BUFFERING, MAX_CYCLE_SECONDS,
                                 MAX_DEPTH_WORDS, MAX_ENERGY, MAX_FACTOR, MAX_FANOUT, shorten)
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Fanout, Storage
from einloop.spec.mapping import Mapping, NodeMapping, parse_loops
from einloop.spec.validation import Int, Real, ceiling, validated
from einloop.spec.workload import Einsum, Workload


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=False)


def _scalars(attrs: dict) -> dict:
    """Component attributes are names or finite numbers (the component library reads them)."""
    for key, value in attrs.items():
        if not isinstance(value, (str, int, float)) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"attribute {key!r} must be a name or a finite number, got {shorten(value)}")
    return attrs


Attributes = Annotated[dict[str, Any], AfterValidator(_scalars)]
Bound = Annotated[Int, Field(gt=0), ceiling(MAX_BOUND)]
Bits = Annotated[Int, Field(gt=0), ceiling(MAX_FACTOR, "bits and widths are per-access count factors")]
Energy = Annotated[Real, Field(ge=0), ceiling(MAX_ENERGY, "one action's energy in pJ (1 J)")]
Area = Annotated[Real, Field(ge=0), ceiling(MAX_AREA, "um^2 (1 m^2)")]
Bandwidth = Annotated[Real, Field(gt=0), ceiling(MAX_BANDWIDTH, "words per cycle")]
Mesh = Annotated[Int, Field(gt=0), ceiling(MAX_FANOUT, "instances below one fanout")]


# ---- workload ---------------------------------------------------------------------------------
def _known_op(op: str) -> str:
    from einloop.workloads.layers import MAC, NON_MAC_OPS
    if op not in (MAC, *NON_MAC_OPS):
        raise ValueError(f"unknown op {shorten(op)}; allowed: {MAC}, {', '.join(NON_MAC_OPS)}")
    return op


class EinsumSpec(_Spec):
    name: str | None = None
    einsum: str
    ranks: dict[str, Bound]
    bits: dict[str, Bits] = {}
    psum_bits: Bits | None = Field(None, description="bits of the output's partial sums (default: its bits)")
    op: Annotated[str, AfterValidator(_known_op)] = "mac"


class WorkloadSpec(_Spec):
    name: str = "workload"
    bits: Bits = Field(8, description="default bits per value")
    einsums: list[EinsumSpec] = Field(min_length=1)


# ---- architecture -----------------------------------------------------------------------------
class EnergySpec(_Spec):
    read: Energy | None = None
    write: Energy | None = None
    fill: Energy | None = None
    update: Energy | None = None
    leak: Energy | None = None


class StorageSpec(_Spec):
    storage: str
    component_class: str = Field("SRAM", alias="class")
    depth: Annotated[Int, Field(gt=0), ceiling(MAX_DEPTH_WORDS, "words the model counts in 64-bit integers")] | None = \
        Field(None, description="words of `width` bits; omit for unbounded (DRAM)")
    width: Bits | None = Field(None, description="bits per access")
    datawidth: Bits = Field(8, description="bits per word")
    read_bandwidth: Bandwidth | None = None
    write_bandwidth: Bandwidth | None = None
    shared_bandwidth: Bandwidth | None = None
    multiple_buffering: Annotated[Real, Field(ge=1), ceiling(MAX_BUFFERING, "copies of a tile")] = 1.0
    bits: dict[str, Bits] = Field({}, description="bits per value of these tensors here (e.g. {Z: 24} for "
                                  "24-bit partial sums); others keep the workload's bits")
    energy: EnergySpec | None = None
    area: Area | None = None
    attributes: Attributes = {}


class FanoutSpec(_Spec):
    fanout: str
    mesh_x: Mesh = 1
    mesh_y: Mesh = 1
    multicast: bool | list[str] = Field(True, description="children with equal input tiles share one read: "
                                        "true, false, or the tensors that do")
    reduction: bool | list[str] = Field(True, description="children's equal output tiles merge into one update: "
                                        "true, false, or the tensors that do")


class ComputeSpec(_Spec):
    compute: str
    component_class: str = Field("intmac", alias="class")
    datawidth: Bits = 8
    energy: Energy | None = None
    leak: Energy | None = None
    area: Area | None = None
    attributes: Attributes = {}


def _node_kind(node: Any) -> str | None:
    if isinstance(node, dict):
        for key in ("storage", "fanout", "compute"):
            if key in node:
                return f"{key.capitalize()}Spec"
    return None


NodeSpec = Annotated[Union[Annotated[StorageSpec, Tag("StorageSpec")], Annotated[FanoutSpec, Tag("FanoutSpec")],
                           Annotated[ComputeSpec, Tag("ComputeSpec")]], Discriminator(_node_kind)]


class ArchitectureSpec(_Spec):
    name: str = "architecture"
    technology: str | Real = "45nm"
    cycle_seconds: Annotated[Real, Field(gt=0), ceiling(MAX_CYCLE_SECONDS, "seconds per cycle")] = 1e-9
    nodes: list[NodeSpec]

    @field_validator("nodes", mode="before")
    @classmethod
    def _kinds(cls, nodes):
        if not isinstance(nodes, list):
            raise ValueError(f"nodes must be a list, got {shorten(nodes)}")
        for i, n in enumerate(nodes):
            if not isinstance(n, dict):
                raise ValueError(f"node {i} must be a mapping with one of 'storage', 'fanout', 'compute', "
                                 f"got {shorten(n)}")
            kinds = [k for k in ("storage", "fanout", "compute") if k in n]
            if len(kinds) != 1:
                raise ValueError(f"node {i} must have exactly one of 'storage', 'fanout', 'compute' (its name)")
        return nodes


# ---- mapping ----------------------------------------------------------------------------------
class NodeMappingSpec(_Spec):
    target: str
    temporal: str | list[str] | None = None
    spatial: dict[Literal["X", "Y"], str | list[str]] | None = None
    keep: list[str] | None = None
    bypass: list[str] | None = None


# ---- conversion -------------------------------------------------------------------------------
def read_workload(data: Any, file: str = "") -> Workload:
    """einloop's ``workload:`` section as a Workload; any wrong value is a SpecError naming file and field."""
    spec = validated(WorkloadSpec, data, file, "workload")
    einsums = []
    for i, e in enumerate(spec.einsums):
        try:
            einsum = Einsum.parse(e.einsum, e.ranks, name=e.name or "", bits=e.bits, default_bits=spec.bits,
                                  psum_bits=e.psum_bits)
            if e.op != "mac":
                einsum = Einsum(einsum.name, einsum.ranks, einsum.tensors, einsum.text, e.op)
        except SpecError as err:
            raise err.within(file=file, field=f"workload.einsums[{i}]") from None
        einsums.append(einsum)
    try:
        return Workload(spec.name, tuple(einsums))
    except SpecError as err:
        raise err.within(file=file, field="workload") from None


def technology_nm(tech: str | float, file: str = "") -> float:
    """The technology node in nm from ``45nm``, ``"45 nm"`` or ``45``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(nm)?\s*", str(tech))
    if not m:
        raise SpecError(f"technology must look like '45nm', got {shorten(tech)}", file=file or None,
                        field="architecture.technology")
    return float(m.group(1))


def read_architecture(data: Any, file: str = "") -> Architecture:
    """einloop's ``architecture:`` section, energies and areas not given estimated by the component library."""
    from einloop.components import estimate

    spec = validated(ArchitectureSpec, data, file, "architecture")
    tech = technology_nm(spec.technology, file)
    _check_instances(spec, file)
    nodes = []
    for i, n in enumerate(spec.nodes):
        fld = f"architecture.nodes[{i}]"
        try:
            if isinstance(n, FanoutSpec):
                nodes.append(Fanout(n.fanout, n.mesh_x, n.mesh_y, *(v if isinstance(v, bool) else frozenset(v)
                                                                    for v in (n.multicast, n.reduction))))
            elif isinstance(n, StorageSpec):
                nodes.append(_storage(n, tech, spec.cycle_seconds, estimate))
            else:
                attrs = {"datawidth": n.datawidth, **n.attributes}
                est = estimate(n.component_class, attrs, tech, spec.cycle_seconds) if (
                    n.energy is None or n.area is None or n.leak is None) else None
                nodes.append(Compute(n.compute, n.energy if n.energy is not None else est.compute,
                                     n.leak if n.leak is not None else est.leak,
                                     n.area if n.area is not None else est.area, n.component_class,
                                     "given" if n.energy is not None else est.source))
        except SpecError as err:
            raise err.within(file=file, field=fld) from None
    try:
        return Architecture(spec.name, tuple(nodes), spec.cycle_seconds)
    except SpecError as err:
        raise err.within(file=file, field="architecture") from None


def _check_instances(spec: ArchitectureSpec, file: str) -> None:
    """The product of all fanouts (instances of the compute unit) stays below MAX_FANOUT."""
    count = 1
    for i, n in enumerate(spec.nodes):
        if isinstance(n, FanoutSpec):
            count *= n.mesh_x * n.mesh_y
            if count > MAX_FANOUT:
                raise SpecError(f"the fanouts down to this one make {count:,} instances; at most 2**24 "
                                f"(instances multiply every per-instance count)", file=file,
                                field=f"architecture.nodes[{i}]")


def _storage(n: StorageSpec, tech: float, cycle: float, estimate) -> Storage:
    width = n.width or n.datawidth
    if width % n.datawidth:
        raise SpecError(f"width ({width}) must be a multiple of datawidth ({n.datawidth})", field="width")
    block = width // n.datawidth
    if n.depth is not None and n.depth * block > MAX_DEPTH_WORDS:
        raise SpecError(f"depth x (width / datawidth) = {n.depth * block:,} words; at most 2**47 words (the model "
                        "counts words in 64-bit integers)", field="depth")
    attrs = {"width": width, "datawidth": n.datawidth, **({"depth": n.depth} if n.depth else {}), **n.attributes}
    given = n.energy or EnergySpec()
    need = [given.read, given.fill if given.fill is not None else given.write,
            given.update if given.update is not None else given.write, given.leak, n.area]
    est = estimate(n.component_class, attrs, tech, cycle) if any(v is None for v in need) else None

    def pick(value, fallback):
        return value if value is not None else fallback

    write = pick(given.write, est.write if est else 0.0)
    energy = ActionEnergy(pick(given.read, est.read if est else 0.0), pick(given.fill, write),
                          pick(given.update, pick(given.write, est.update if est else 0.0)),
                          pick(given.leak, est.leak if est else 0.0))
    bad = sorted(t for t, b in n.bits.items() if b <= 0)
    if bad:
        raise SpecError(f"bits must be positive, got {', '.join(f'{t}: {n.bits[t]}' for t in bad)}", field="bits")
    return Storage(n.storage, None if n.depth is None else n.depth * block, n.datawidth, block, n.read_bandwidth,
                   n.write_bandwidth, n.shared_bandwidth, n.multiple_buffering, energy,
                   pick(n.area, est.area if est else 0.0), n.component_class,
                   "given" if est is None else est.source, tensor_bits=tuple(sorted(n.bits.items())))


def read_mapping(data: Any, file: str = "") -> Mapping:
    """einloop's ``mapping:`` section: per target, temporal/spatial loops and keep/bypass."""
    if not isinstance(data, list):
        raise SpecError(f"mapping must be a list of {{target: LEVEL, temporal/spatial/keep/bypass}}, "
                        f"got {shorten(data)}", file=file, field="mapping")
    nodes = []
    for i, item in enumerate(data):
        spec = validated(NodeMappingSpec, item, file, f"mapping[{i}]")
        fld = f"mapping[{spec.target}]"
        try:
            loops = parse_loops(spec.temporal, field_name=f"{fld}.temporal") if spec.temporal else ()
            for axis, text in (spec.spatial or {}).items():
                loops += parse_loops(text, axis, field_name=f"{fld}.spatial.{axis}")
        except SpecError as err:
            raise err.within(file=file) from None
        if spec.keep is not None and spec.bypass is not None:
            raise SpecError("give either keep or bypass, not both", file=file, field=fld)
        nodes.append(NodeMapping(spec.target, loops, None if spec.keep is None else frozenset(spec.keep),
                                 frozenset(spec.bypass or ())))
    return Mapping(tuple(nodes))


SpecModel = _Spec                  # the base of every einloop spec model (unknown fields forbidden)
_validated = validated             # the older name, still imported by mapper/constraints.py
