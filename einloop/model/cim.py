"""Compute-in-memory macro model: array activations, DAC / ADC conversions and shift-and-adds, counted
from einloop's exact per-level counts, priced with value-dependent expected energies.

From one evaluation (``einloop.model.evaluate``) of the architecture whose array fanout is the crossbar:
  activations   = temporal iterations x input slices (ceil(input bits / DAC bits)) x utilized macros
  cell ops      = MACs x input slices x weight slices (ceil(weight bits / bits per cell))
  DAC conv.     = input values read into the array (reads of the nearest level above that keeps the input;
                  one DAC drives a whole row, so a multicast read converts once) x input slices
  ADC conv.     = output values leaving the array (updates into the nearest level above that keeps the
                  output) x input slices x (weight slices if they are combined digitally, else 1)
  shift-adds    = ADC conversions when more than one slice is combined, else 0
  cycles        = max(the evaluation's cycles, temporal iterations x input slices x columns per ADC)
                  (macros run in parallel; utilized macros = utilized cells / the array's spatial product)
Energy: cell ops x E_cell x input level x (weight level + (1 - weight level) x off fraction) + DAC conv. x E_dac x input level + ADC conv. x
(E_adc + E_detector) + shift-adds x E_sa + activations x E_periphery + the digital levels' energy (the evaluation's energy
less its compute unit's: the array computes). Levels are ``ValueStats`` (1 = full scale, the default).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from einloop.errors import SpecError
from einloop.model.cim_values import FULL_SCALE, ValueStats
from einloop.model.evaluate import evaluate
from einloop.model.result import Result
from einloop.spec.arch import Architecture, Storage
from einloop.spec.cim import CimMacro, CimSpec
from einloop.spec.mapping import Mapping
from einloop.spec.workload import Einsum


@dataclass(frozen=True)
class CimCounts:
    """Actions of the macro over the whole Einsum (all macro instances)."""

    activations: float
    cell_ops: float
    dac_conversions: float
    adc_conversions: float
    shift_adds: float
    cycles: int


@dataclass
class CimResult:
    """One Einsum on a CiM architecture: counts, energy (pJ) and area (um^2) by part, and the digital
    evaluation underneath."""

    counts: CimCounts
    energy_by_part: dict[str, float]
    area_by_part: dict[str, float]
    computes: int
    cycle_seconds: float
    digital: Result
    values: ValueStats = field(default_factory=ValueStats)
    notes: list[str] = field(default_factory=list)   # what reading the specs estimated or ignored

    @property
    def energy(self) -> float:
        """Total pJ: every part plus the digital levels."""
        return sum(self.energy_by_part.values())

    @property
    def cycles(self) -> int:
        """The macro's cycles (counts.cycles)."""
        return self.counts.cycles

    @property
    def tops(self) -> float:
        """Tera-operations per second, two operations (multiply, add) per MAC."""
        return 2 * self.computes / (self.cycles * self.cycle_seconds) / 1e12

    @property
    def tops_per_watt(self) -> float:
        """Operations per pJ: 2 x MACs / energy in pJ (= TOPS/W)."""
        return 2 * self.computes / self.energy

    def fractions(self) -> dict[str, float]:
        """Each part's share of the energy."""
        return {k: v / self.energy for k, v in self.energy_by_part.items()}


def _holder(arch: Architecture, result: Result, array: str, tensor: str) -> str:
    """The nearest storage level above the array that keeps `tensor`."""
    names = [n.name for n in arch.nodes]
    kept = {(t.level, t.tensor) for t in result.tensors}
    for node in reversed(arch.nodes[:names.index(array)]):
        if isinstance(node, Storage) and (node.name, tensor) in kept:
            return node.name
    raise SpecError(f"no storage level above the array {array} keeps {tensor}", field="cim.array")


def _roles(einsum: Einsum, result: Result, macro: CimMacro) -> tuple[str, str]:
    """(input, weight) tensor names: the weight is the one tensor the cells keep."""
    at_cells = [t.tensor for t in result.tensors if t.level == macro.cells]
    if len(at_cells) != 1 or einsum.tensor(at_cells[0]).is_output or len(einsum.inputs) != 2:
        raise SpecError(f"the cells level {macro.cells} must keep exactly one input tensor (the weights) of a "
                        f"two-operand Einsum; it keeps {', '.join(at_cells) or 'none'}", field="cim.cells")
    return next(t.name for t in einsum.inputs if t.name != at_cells[0]), at_cells[0]


def array_product(mapping: Mapping, macro: CimMacro) -> int:
    """Rows x columns one activation of one macro uses: the spatial factors at the array fanout."""
    node = next((n for n in mapping.nodes if n.target == macro.array), None)
    return math.prod(l.factor for l in node.loops if l.spatial) if node else 1


def cim_counts(einsum: Einsum, arch: Architecture, mapping: Mapping, result: Result,
               macro: CimMacro) -> CimCounts:
    """The macro's actions from one evaluation's exact counts (formulas in the module docstring)."""
    inp, _ = _roles(einsum, result, macro)
    out = einsum.output.name
    src = result.tensor(_holder(arch, result, macro.array, inp), inp)
    dst = result.tensor(_holder(arch, result, macro.array, out), out)
    s_in, s_w = macro.input_slices, macro.weight_slices
    adc_slices = macro.adc_slices
    adc = dst.updates * dst.instances * adc_slices
    per_macro = result.compute_cycles * s_in
    macros = result.level(macro.cells).utilized_instances / array_product(mapping, macro)
    return CimCounts(activations=float(per_macro * macros), cell_ops=float(einsum.macs * s_in * s_w),
                     dac_conversions=float(src.reads * src.instances * s_in), adc_conversions=float(adc),
                     shift_adds=float(adc if adc_slices > 1 else 0),
                     cycles=int(max(result.cycles, per_macro * macro.columns_per_adc)))


def _areas(arch: Architecture, result: Result, macro: CimMacro) -> dict[str, float]:
    macros = arch.instances(macro.array)
    adcs = -(-(macro.columns if macro.weight_combine == "analog" else macro.physical_columns)
             // macro.columns_per_adc)
    compute = arch.compute.name
    return {"array": macros * macro.rows * macro.physical_columns * macro.cell.area,
            "dac": macros * macro.rows * macro.dac.area, "adc": macros * adcs * macro.adc.area,
            "detector": macros * adcs * macro.detector.area,
            "shift_add": macros * adcs * macro.shift_add.area * (macro.adc_slices > 1),
            "periphery": macros * macro.periphery.area,
            "digital": sum(l.area for l in result.levels if l.name != compute)}


def price(einsum: Einsum, arch: Architecture, mapping: Mapping, result: Result, macro: CimMacro,
          values: ValueStats = FULL_SCALE) -> CimResult:
    """Price a digital evaluation (`result` of `mapping`) of the CiM architecture as a CiM macro."""
    c = cim_counts(einsum, arch, mapping, result, macro)
    compute = result.level(arch.compute.name)
    weight = values.weight_level + (1 - values.weight_level) * macro.cell.off_fraction
    energy = {"array": c.cell_ops * macro.cell.energy * values.input_level * weight,
              "dac": c.dac_conversions * macro.dac.energy * values.input_level,
              "adc": c.adc_conversions * macro.adc.energy,
              "detector": c.adc_conversions * macro.detector.energy,
              "shift_add": c.shift_adds * macro.shift_add.energy,
              "periphery": c.activations * macro.periphery.energy,
              "digital": result.energy - compute.dynamic_energy}
    return CimResult(c, energy, _areas(arch, result, macro), einsum.macs, arch.cycle_seconds, result, values,
                     [*result.notes, *macro.notes])


def evaluate_cim(spec: CimSpec, values: ValueStats = FULL_SCALE, mapping: Mapping | None = None) -> CimResult:
    """Evaluate a CiM spec's mapping (or `mapping`) and price it as the macro."""
    mapping = mapping or spec.mapping
    if mapping is None or spec.workload is None:
        raise SpecError("a CiM evaluation needs a workload and a mapping section", field="mapping")
    einsum = spec.workload.einsum()
    return price(einsum, spec.arch, mapping, evaluate(einsum, spec.arch, mapping), spec.macro, values)
