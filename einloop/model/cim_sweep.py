"""A Lab-5-style design study of one CiM macro built from the component library: energy per MAC and area
by part across array sizes, ADC resolutions and supplies.

The macro: `rows` x `columns` 1-bit SRAM cells at `technology_nm`, 8-bit inputs entering bit-serially
(1-bit row drivers), 8-bit weights over 8 columns combined digitally (an ADC per column, shift-and-add),
running one matrix-vector product per input vector (m = 64 vectors, k = rows, n = columns / 8) at
100 MHz (the ADCs sample once per cycle). Every
part is the library's estimate (einloop/components/analog.py); no published calibration.
"""
from __future__ import annotations

from dataclasses import dataclass

from einloop.model.cim import CimResult, evaluate_cim
from einloop.spec import native
from einloop.spec.cim import CimSpec, read_cim


@dataclass(frozen=True)
class SweepPoint:
    """One design point: its parameters and what it costs."""

    rows: int
    columns: int
    adc_bits: int
    voltage: float
    pj_per_mac: float
    fractions: dict
    area_um2: float


def macro_spec(rows: int, columns: int, adc_bits: int = 8, voltage: float | None = None,
               technology_nm: float = 22.0, vectors: int = 64, cycle_seconds: float = 10e-9) -> CimSpec:
    """The study's macro and workload (module docstring) at one design point."""
    if columns % 8:
        raise ValueError("columns must be a multiple of 8 (8-bit weights in 1-bit cells)")
    wl = native.read_workload({"name": "mv", "bits": 8, "einsums": [
        {"name": "mv", "einsum": "Z[m,n] += A[m,k] * B[k,n]", "ranks": {"m": vectors, "k": rows, "n": columns // 8}}]})
    arch = native.read_architecture({"name": f"cim-{rows}x{columns}", "technology": f"{technology_nm:g}nm",
                                      "cycle_seconds": cycle_seconds, "nodes": [
        {"storage": "Buffer", "class": "dummy", "datawidth": 8, "energy": {"read": 0, "write": 0, "update": 0}},
        {"fanout": "Macro", "mesh_x": rows, "mesh_y": columns // 8},
        {"storage": "Cells", "class": "dummy", "depth": 1, "datawidth": 8, "energy": {"read": 0, "write": 0}},
        {"compute": "Array", "class": "dummy", "datawidth": 8}]})
    mapping = native.read_mapping([{"target": "Buffer", "temporal": f"m{vectors}", "keep": ["A", "Z"]},
                                   {"target": "Macro", "spatial": {"X": f"k{rows}", "Y": f"n{columns // 8}"}},
                                   {"target": "Cells", "keep": ["B"]}])
    cim = {"array": "Macro", "cells": "Cells", "input_bits": 8, "dac_resolution": 1, "weight_bits": 8,
           "bits_per_cell": 1, "weight_combine": "digital", "adc_resolution": adc_bits,
           **({"voltage": voltage} if voltage else {})}
    return CimSpec(wl, arch, mapping, read_cim(cim, arch, technology_nm), {})


def point(rows: int, columns: int, adc_bits: int = 8, voltage: float | None = None) -> SweepPoint:
    """Evaluate one design point at full-scale values."""
    spec = macro_spec(rows, columns, adc_bits, voltage)
    r: CimResult = evaluate_cim(spec)
    return SweepPoint(rows, columns, adc_bits, spec.macro.voltage, r.energy / r.computes, r.fractions(),
                      sum(r.area_by_part.values()))
