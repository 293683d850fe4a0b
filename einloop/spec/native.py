"""einloop's own YAML: ``workload:``, ``architecture:`` and ``mapping:`` sections, validated by pydantic.

Every model forbids unknown fields, so a misspelled key is an error naming the allowed ones.
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from einloop.errors import SpecError
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Fanout, Storage
from einloop.spec.mapping import Mapping, NodeMapping, parse_loops
from einloop.spec.workload import Einsum, Workload


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=False)


PositiveInt = Field(gt=0)


# ---- workload ---------------------------------------------------------------------------------
class EinsumSpec(_Spec):
    name: str | None = None
    einsum: str
    ranks: dict[str, int]
    bits: dict[str, int] = {}
    psum_bits: int | None = Field(None, gt=0, description="bits of the output's partial sums (default: its bits)")
    op: str = "mac"


class WorkloadSpec(_Spec):
    name: str = "workload"
    bits: int = Field(8, gt=0, description="default bits per value")
    einsums: list[EinsumSpec]


# ---- architecture -----------------------------------------------------------------------------
class EnergySpec(_Spec):
    read: float | None = Field(None, ge=0)
    write: float | None = Field(None, ge=0)
    fill: float | None = Field(None, ge=0)
    update: float | None = Field(None, ge=0)
    leak: float | None = Field(None, ge=0)


class StorageSpec(_Spec):
    storage: str
    component_class: str = Field("SRAM", alias="class")
    depth: int | None = Field(None, gt=0, description="words of `width` bits; omit for unbounded (DRAM)")
    width: int | None = Field(None, gt=0, description="bits per access")
    datawidth: int = Field(8, gt=0, description="bits per word")
    read_bandwidth: float | None = Field(None, gt=0)
    write_bandwidth: float | None = Field(None, gt=0)
    shared_bandwidth: float | None = Field(None, gt=0)
    multiple_buffering: float = Field(1.0, ge=1)
    bits: dict[str, int] = Field({}, description="bits per value of these tensors here (e.g. {Z: 24} for "
                                 "24-bit partial sums); others keep the workload's bits")
    energy: EnergySpec | None = None
    area: float | None = Field(None, ge=0)
    attributes: dict[str, Any] = {}


class FanoutSpec(_Spec):
    fanout: str
    mesh_x: int = Field(1, gt=0)
    mesh_y: int = Field(1, gt=0)
    multicast: bool | list[str] = Field(True, description="children with equal input tiles share one read: "
                                        "true, false, or the tensors that do")
    reduction: bool | list[str] = Field(True, description="children's equal output tiles merge into one update: "
                                        "true, false, or the tensors that do")


class ComputeSpec(_Spec):
    compute: str
    component_class: str = Field("intmac", alias="class")
    datawidth: int = Field(8, gt=0)
    energy: float | None = Field(None, ge=0)
    leak: float | None = Field(None, ge=0)
    area: float | None = Field(None, ge=0)
    attributes: dict[str, Any] = {}


class ArchitectureSpec(_Spec):
    name: str = "architecture"
    technology: str | float = "45nm"
    cycle_seconds: float = Field(1e-9, gt=0)
    nodes: list[StorageSpec | FanoutSpec | ComputeSpec]

    @field_validator("nodes", mode="before")
    @classmethod
    def _kinds(cls, nodes):
        if not isinstance(nodes, list):
            raise ValueError("nodes must be a list")
        for i, n in enumerate(nodes):
            kinds = [k for k in ("storage", "fanout", "compute") if isinstance(n, dict) and k in n]
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
def _validated(model: type[_Spec], data: Any, file: str, section: str):
    try:
        return model.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join([section] + [str(x) for x in e["loc"] if not str(x).endswith("Spec")])
        if e["type"] == "extra_forbidden":
            owner = _owner(model, e["loc"][:-1])
            allowed = ", ".join(f.alias or name for name, f in owner.model_fields.items()) if owner else "see docs"
            raise SpecError(f"unknown field {e['loc'][-1]!r}; allowed fields: {allowed}", file=file, field=loc) from None
        raise SpecError(e["msg"], file=file, field=loc) from None


def _owner(model, loc):
    """The pydantic model at a location (to list its allowed fields)."""
    cur = model
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(cur, type) and issubclass(cur, BaseModel):
            if part in ("StorageSpec", "FanoutSpec", "ComputeSpec"):
                cur = globals()[part]
                continue
            f = cur.model_fields.get(part) or next((f for f in cur.model_fields.values() if f.alias == part), None)
            if f is None:
                return cur
            ann = f.annotation
            args = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
            inner = [a for a in getattr(ann, "__args__", ()) for a in getattr(a, "__args__", ()) if
                     isinstance(a, type) and issubclass(a, BaseModel)]
            cur = (args or inner or [ann])[0]
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def read_workload(data: Any, file: str = "") -> Workload:
    spec = _validated(WorkloadSpec, data, file, "workload")
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


def technology_nm(tech: str | float) -> float:
    m = re.fullmatch(r"\s*([\d.]+)\s*(nm)?\s*", str(tech))
    if not m:
        raise SpecError(f"technology must look like '45nm', got {tech!r}", field="architecture.technology")
    return float(m.group(1))


def read_architecture(data: Any, file: str = "") -> Architecture:
    from einloop.components import estimate

    spec = _validated(ArchitectureSpec, data, file, "architecture")
    tech = technology_nm(spec.technology)
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


def _storage(n: StorageSpec, tech: float, cycle: float, estimate) -> Storage:
    width = n.width or n.datawidth
    if width % n.datawidth:
        raise SpecError(f"width ({width}) must be a multiple of datawidth ({n.datawidth})", field="width")
    block = width // n.datawidth
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
    if not isinstance(data, list):
        raise SpecError("mapping must be a list of {target: LEVEL, temporal/spatial/keep/bypass}", file=file,
                        field="mapping")
    nodes = []
    for i, item in enumerate(data):
        fld = f"mapping[{i}]"
        spec = _validated(NodeMappingSpec, item, file, fld)
        loops = parse_loops(spec.temporal, field_name=f"{fld}.temporal") if spec.temporal else ()
        for axis, text in (spec.spatial or {}).items():
            loops += parse_loops(text, axis, field_name=f"{fld}.spatial.{axis}")
        if spec.keep is not None and spec.bypass is not None:
            raise SpecError("give either keep or bypass, not both", file=file, field=fld)
        nodes.append(NodeMapping(spec.target, loops, None if spec.keep is None else frozenset(spec.keep),
                                 frozenset(spec.bypass or ())))
    return Mapping(tuple(nodes))
