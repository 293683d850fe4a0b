"""The `cim:` section: a compute-in-memory macro inside an einloop architecture.

The macro is an existing fanout (its mesh is the crossbar: X = rows, the reduction ranks; Y = weight
columns, the output ranks) with a storage level right under it holding the stationary weights (the cells).
The section says how values enter and leave the array and what each converter costs:

    cim:
      array: Macro            # fanout: mesh_x = rows, mesh_y = logical (weight) columns
      cells: Cells            # storage under it: keeps the weights only
      input_bits: 4           # bits per input value; dac_resolution bits enter per activation
      dac_resolution: 4       # 1 = bit-serial inputs
      weight_bits: 4
      bits_per_cell: 1        # a weight spans weight_bits / bits_per_cell physical columns
      weight_combine: analog  # analog: slices summed before the ADC; digital: ADC per slice + shift-add
      adc_resolution: 4
      voltage: 0.8            # supply the components run at
      components:             # per part: library attributes, or energy (pJ) measured at_voltage (V)
        cell: {energy: 1.0e-5, at_voltage: 0.8}
        dac: {energy: 0.0687, at_voltage: 0.8}
        adc: {resolution: 4}
        shift_add: {width: 16}
        detector: {class: photodetector}            # optional, per ADC conversion
      periphery: {energy: 0.0, at_voltage: 0.8}     # per activation (control; or {class: laser, ...})
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from einloop.components import estimate, supply_voltage
from einloop.components.analog import ANALOG_ATTRIBUTES, off_fraction
from einloop.components.photonic import PHOTONIC_ATTRIBUTES
from einloop.components.superconducting import SUPERCONDUCTING_ATTRIBUTES
from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints, read_constraints
from einloop.spec import native
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.mapping import Mapping
from einloop.spec.workload import Workload
from einloop.spec.yamlio import load_merged

FIELDS = ("array", "cells", "input_bits", "dac_resolution", "weight_bits", "bits_per_cell", "weight_combine",
          "adc_resolution", "columns_per_adc", "voltage", "components", "periphery")
# Parts and their default component class; `class:` picks another (e.g. mzm for the dac, mrr for the
# cell, photodetector for the detector, laser for the periphery). detector / periphery: none unless given.
PARTS = {"cell": "crossbar", "dac": "dac", "adc": "adc", "shift_add": "shift_add", "detector": None,
         "periphery": None}
COMBINE = ("analog", "digital")


@dataclass(frozen=True)
class PartCost:
    """One CiM part at the macro's supply: energy per action (pJ, full-scale values), area (um^2)."""

    energy: float
    area: float
    source: str
    off_fraction: float = 0.0    # cells: energy at a stored 0, as a fraction of the full-scale energy


@dataclass(frozen=True)
class CimMacro:
    """A CiM macro: where it sits in the architecture, its value slicing and its parts' costs."""

    array: str
    cells: str
    rows: int
    columns: int                 # logical (weight) columns = the array fanout's mesh_y
    input_bits: int
    dac_resolution: int
    weight_bits: int
    bits_per_cell: int
    weight_combine: str
    adc_resolution: int
    columns_per_adc: int
    voltage: float
    cell: PartCost
    dac: PartCost
    adc: PartCost
    shift_add: PartCost
    detector: PartCost           # per ADC conversion, ahead of the ADC (photodetector + TIA); often none
    periphery: PartCost          # per activation (control, timing; a laser's light for one cycle)
    notes: tuple[str, ...] = ()  # attributes the reader ignored

    @property
    def input_slices(self) -> int:
        """Activations per input value: ceil(input bits / DAC bits)."""
        return math.ceil(self.input_bits / self.dac_resolution)

    @property
    def weight_slices(self) -> int:
        """Physical columns per weight: ceil(weight bits / bits per cell)."""
        return math.ceil(self.weight_bits / self.bits_per_cell)

    @property
    def adc_slices(self) -> int:
        """ADC conversions per output value: input slices x (weight slices if combined digitally)."""
        return self.input_slices * (self.weight_slices if self.weight_combine == "digital" else 1)

    @property
    def physical_columns(self) -> int:
        """Cell columns: logical columns x weight slices."""
        return self.columns * self.weight_slices


@dataclass(frozen=True)
class CimSpec:
    """Workload, architecture, mapping and the macro read from one or more files."""

    workload: Workload | None
    arch: Architecture
    mapping: Mapping | None
    macro: CimMacro
    files: dict[str, str]
    constraints: Constraints | None = None


def _int(data: dict, name: str, default: int | None, upper: int = 64) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise SpecError(f"'{name}' must be an integer 1..{upper}, got {value!r}", field=f"cim.{name}")
    return value


def _voltage(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SpecError(f"'{name}' must be a positive number of volts, got {value!r}", field=name)
    return float(value)


def ignored(name: str, attrs: dict) -> list[str]:
    """Notes naming the attributes of part `name` that its (given or estimated) cost does not read."""
    if "energy" in attrs:
        used = {"energy", "at_voltage", "area", "class"}
    else:
        cls = str(attrs.get("class", PARTS.get(name) or "")).lower()
        used = {"class"} | {**ANALOG_ATTRIBUTES, **PHOTONIC_ATTRIBUTES, **SUPERCONDUCTING_ATTRIBUTES}.get(cls, set(attrs))
    extra = sorted(map(str, set(attrs) - used))
    return [f"cim.components.{name}: attribute(s) {', '.join(extra)} ignored"] if extra else []


def _part(name: str, attrs, voltage: float, tech: float, cycle: float, extra: dict) -> PartCost:
    """A part's cost at `voltage`: a given energy measured at `at_voltage` moved by (V / V_at)^2, else the
    component library's estimate at the macro's node and supply."""
    if attrs is None:
        attrs = {}
    if not isinstance(attrs, dict):
        raise SpecError(f"cim.components.{name} must be a mapping of attributes", field=f"cim.components.{name}")
    area = attrs.get("area", 0.0)
    if isinstance(area, bool) or not isinstance(area, (int, float)) or not math.isfinite(area) or area < 0:
        raise SpecError(f"area must be a number >= 0 (um^2), got {area!r}", field=f"cim.components.{name}.area")
    if "energy" in attrs:
        energy = attrs["energy"]
        if isinstance(energy, bool) or not isinstance(energy, (int, float)) or not math.isfinite(energy) \
                or energy < 0:
            raise SpecError(f"energy must be a number >= 0 (pJ), got {energy!r}", field=f"cim.components.{name}.energy")
        at = _voltage(attrs.get("at_voltage", voltage), f"cim.components.{name}.at_voltage")
        return PartCost(float(energy) * (voltage / at) ** 2, float(area),
                        f"{name}: given {energy:g} pJ at {at:g} V, x(V/{at:g})^2 at {voltage:g} V")
    cls = attrs.get("class", PARTS.get(name))
    if cls is None:
        return PartCost(0.0, 0.0, f"{name}: none given")
    try:
        given = {k: v for k, v in attrs.items() if k != "class"}
        est = estimate(cls, {**extra, **given, "voltage": voltage}, tech, cycle)
    except SpecError as err:
        raise err.within(field=f"cim.components.{name}") from None
    off = off_fraction(given) if cls == "crossbar" else 0.0
    return PartCost(est.compute, est.area, est.source, off)


def _levels(data: dict, arch: Architecture) -> tuple[Fanout, Storage]:
    names = [n.name for n in arch.nodes]
    for key in ("array", "cells"):
        if data.get(key) not in names:
            raise SpecError(f"'{key}' must name a node of the architecture ({', '.join(names)}), "
                            f"got {data.get(key)!r}", field=f"cim.{key}")
    fan, cells = arch.node(data["array"]), arch.node(data["cells"])
    i = names.index(fan.name)
    if not isinstance(fan, Fanout):
        raise SpecError(f"'array' must name a fanout (the crossbar), {fan.name} is not one", field="cim.array")
    if i + 1 >= len(names) or arch.nodes[i + 1] is not cells or not isinstance(cells, Storage):
        raise SpecError(f"'cells' must be the storage level right under the array {fan.name}",
                        field="cim.cells")
    return fan, cells


def read_cim(data, arch: Architecture, tech_nm: float, file: str = "") -> CimMacro:
    """The `cim:` section, checked against the architecture it belongs to."""
    try:
        if not isinstance(data, dict):
            raise SpecError("cim must be a mapping with the fields " + ", ".join(FIELDS), field="cim")
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise SpecError(f"unknown field(s) {', '.join(map(str, unknown))}; allowed: {', '.join(FIELDS)}",
                            field="cim")
        fan, _ = _levels(data, arch)
        comps = data.get("components") or {}
        allowed = [p for p in PARTS if p != "periphery"]   # periphery is a field of its own
        bad = sorted(map(str, set(comps) - set(allowed))) if isinstance(comps, dict) else ["(not a mapping)"]
        if bad:
            raise SpecError(f"unknown part(s) {', '.join(bad)}; allowed: {', '.join(allowed)}",
                            field="cim.components")
        combine = data.get("weight_combine", "digital")
        if combine not in COMBINE:
            raise SpecError(f"weight_combine must be one of {', '.join(COMBINE)}, got {combine!r}",
                            field="cim.weight_combine")
        v = _voltage(data["voltage"], "cim.voltage") if "voltage" in data else supply_voltage(tech_nm)
        bits = {k: _int(data, k, d) for k, d in (("input_bits", 8), ("weight_bits", 8), ("adc_resolution", 8),
                                                   ("bits_per_cell", 1), ("columns_per_adc", 1))}
        bits["dac_resolution"] = _int(data, "dac_resolution", 1, upper=bits["input_bits"])
        cyc = arch.cycle_seconds
        rows = fan.mesh_x
        parts = {"cell": _part("cell", comps.get("cell"), v, tech_nm, cyc, {"bits_per_cell": bits["bits_per_cell"]}),
                 "dac": _part("dac", comps.get("dac"), v, tech_nm, cyc,
                              {"resolution": bits["dac_resolution"],   # a row line crosses every cell column
                               "row_cells": fan.mesh_y * -(-bits["weight_bits"] // bits["bits_per_cell"])}),
                 "adc": _part("adc", comps.get("adc"), v, tech_nm, cyc, {"resolution": bits["adc_resolution"]}),
                 "shift_add": _part("shift_add", comps.get("shift_add"), v, tech_nm, cyc,
                                    {"width": bits["adc_resolution"] + bits["input_bits"] + bits["weight_bits"]}),
                 "detector": _part("detector", comps.get("detector"), v, tech_nm, cyc, {}),
                 "periphery": _part("periphery", data.get("periphery"), v, tech_nm, cyc, {})}
        notes = [n for part in PARTS if part != "periphery" for n in ignored(part, comps.get(part) or {})]
        notes += [n.replace("components.periphery", "periphery")
                  for n in ignored("periphery", data.get("periphery") or {})]
        macro = CimMacro(fan.name, data["cells"], rows, fan.mesh_y, bits["input_bits"], bits["dac_resolution"],
                         bits["weight_bits"], bits["bits_per_cell"], combine, bits["adc_resolution"],
                         bits["columns_per_adc"], v, **parts, notes=tuple(notes))
        if macro.columns_per_adc > macro.physical_columns:
            raise SpecError(f"columns_per_adc ({macro.columns_per_adc}) exceeds the array's "
                            f"{macro.physical_columns} columns", field="cim.columns_per_adc")
        return macro
    except SpecError as err:
        raise err.within(file=file) from None


def load_cim(paths: list[str | Path] | str | Path) -> CimSpec:
    """Read einloop YAML files holding an architecture and a `cim:` section, and optionally a workload, a
    mapping and mapper constraints."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    doc, origin = load_merged(paths)
    known = {"workload", "architecture", "mapping", "cim", "constraints"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise SpecError(f"unknown top-level section(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}",
                        file=origin.get(unknown[0]))
    for need in ("architecture", "cim"):
        if need not in doc:
            raise SpecError(f"a CiM spec needs a '{need}' section", file=str(paths[0]), field=need)
    wl = native.read_workload(doc["workload"], origin["workload"]) if "workload" in doc else None
    arch = native.read_architecture(doc["architecture"], origin["architecture"])
    tech = native.technology_nm(doc["architecture"].get("technology", "45nm"))
    mapping = native.read_mapping(doc["mapping"], origin["mapping"]) if "mapping" in doc else None
    macro = read_cim(doc["cim"], arch, tech, origin["cim"])
    cons = read_constraints(doc["constraints"], origin["constraints"]) if "constraints" in doc else None
    return CimSpec(wl, arch, mapping, macro, origin, cons)
