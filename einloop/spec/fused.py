"""Fused mappings: several Einsums of a cascade under shared loops, each with its own nest below.

YAML (a top-level ``fused_mapping:`` key)::

    fused_mapping:
      einsums: [T, Z]          # the fused Einsums, in execution order (producer before consumer)
      halo: recompute          # how an intermediate's overlap between neighbouring tiles is handled
      shared:                  # loops above the split, in the LAST Einsum's rank names, outer to inner
        - {target: DRAM, temporal: m4}
      nests:                   # per Einsum: an ordinary mapping (loops, keep, bypass) below the split
        T: [{target: GlobalBuffer, temporal: k64 n64 m32, keep: [A, B, T]}, {target: DRAM, keep: [A, B]}]
        Z: [...]

Read here into plain records; checked against the workload and architecture in model/fused_nest.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from einloop.errors import SpecError
from einloop.spec.mapping import Loop, Mapping, parse_loops
from einloop.spec.native import read_mapping

HALOS = ("recompute",)


@dataclass(frozen=True)
class SharedLoop:
    """One loop above the split: ``for rank in [0:factor)`` at storage level ``target``."""

    target: str
    rank: str
    factor: int


@dataclass(frozen=True)
class FusedMapping:
    """Einsums run in turn for every tile of the shared loops; ``nests[e]`` is Einsum e's own mapping."""

    einsums: tuple[str, ...]
    shared: tuple[SharedLoop, ...]
    nests: dict[str, Mapping]
    halo: str = "recompute"

    @staticmethod
    def single(einsum: str, mapping: Mapping) -> "FusedMapping":
        """One Einsum, no shared loops: the ordinary mapping as a fused mapping."""
        return FusedMapping((einsum,), (), {einsum: mapping})


class _SharedSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str
    temporal: str | list[str]


class _FusedSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    einsums: list[str]
    halo: Literal["recompute", "retain"] = "recompute"
    shared: list[_SharedSpec] = []
    nests: dict[str, Any]


def _validated(data: Any, file: str) -> _FusedSpec:
    """The section through pydantic; the first problem as one SpecError naming the field."""
    try:
        return _FusedSpec.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(["fused_mapping"] + [str(x) for x in e["loc"]])
        if e["type"] == "extra_forbidden":
            owner = _SharedSpec if "shared" in e["loc"] else _FusedSpec
            raise SpecError(f"unknown field {e['loc'][-1]!r}; allowed fields: {', '.join(owner.model_fields)}",
                            file=file, field=loc) from None
        raise SpecError(e["msg"], file=file, field=loc) from None


def read_fused_mapping(data: Any, file: str = "") -> FusedMapping:
    """The ``fused_mapping:`` section as a FusedMapping (structure only; see model/fused_nest.py)."""
    if not isinstance(data, dict):
        raise SpecError("fused_mapping must be a mapping with einsums, shared, nests (and halo)", file=file,
                        field="fused_mapping")
    spec = _validated(data, file)
    if spec.halo == "retain":
        raise SpecError("halo 'retain' is not modeled yet; allowed: recompute", file=file, field="fused_mapping.halo")
    if not spec.einsums:
        raise SpecError("list at least one Einsum", file=file, field="fused_mapping.einsums")
    dup = sorted({e for e in spec.einsums if spec.einsums.count(e) > 1})
    if dup:
        raise SpecError(f"Einsum(s) {', '.join(dup)} listed twice", file=file, field="fused_mapping.einsums")
    missing = [e for e in spec.einsums if e not in spec.nests]
    extra = sorted(set(spec.nests) - set(spec.einsums))
    if missing or extra:
        what = f"no nest for {', '.join(missing)}" if missing else f"nest(s) for unlisted Einsum(s) {', '.join(extra)}"
        raise SpecError(f"{what}; nests must name exactly the fused Einsums ({', '.join(spec.einsums)})",
                        file=file, field="fused_mapping.nests")
    shared = []
    for i, s in enumerate(spec.shared):
        fld = f"fused_mapping.shared[{i}].temporal"
        try:
            loops: tuple[Loop, ...] = parse_loops(s.temporal, field_name=fld)
        except SpecError as err:
            raise err.within(file=file) from None
        shared += [SharedLoop(s.target, l.rank, l.factor) for l in loops]
    nests = {}
    for name in spec.einsums:
        try:
            nests[name] = read_mapping(spec.nests[name], file)
        except SpecError as err:
            inner = (err.field or "").removeprefix("mapping")
            raise SpecError(err.message, file=file, field=f"fused_mapping.nests.{name}{inner}") from None
    return FusedMapping(tuple(spec.einsums), tuple(shared), nests, spec.halo)
