"""Analog and mixed-signal components of compute-in-memory macros: crossbar cells, DACs, ADCs, sense
amplifiers, shift-and-add.

Every model is a switched-capacitance (or conductance) estimate at the component's own node and supply:
dynamic energy E = C * V^2 with the capacitance proportional to the feature size (the rule of
``einloop.components.library``), so E ~ V^2 at a fixed node (``voltage`` attribute, default the node's
nominal supply) and ~ node * V^2 across nodes. Areas are given in F^2 (feature size squared), so they scale
with node^2. Units: pJ per action, um^2. Tags as in the library: [P] primary, [S] secondary, [U] recalled,
not confirmed in a source reached while writing this: verify before relying on it, [C] computed here.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from einloop.components.library import ComponentCost, estimate, supply_voltage
from einloop.errors import SpecError

# Cell area in F^2 (F = feature size): 6T SRAM ~120-150 F^2, 8T ~1.3x a 6T, 1T1R RRAM ~12-40 F^2
# (ITRS/IRDS emerging-memory tables; Yu & Chen, "Emerging Memory Technologies", IEEE SSC Mag. 2016) [U].
CELL_AREA_F2 = {"SRAM": 200.0, "RRAM": 30.0}
# Bit-line (or accumulation-line) capacitance one cell adds, per nm of feature size: ~0.1 fF per cell at
# 45 nm (a local bit line of 256 cells is ~25-30 fF; Horowitz ISSCC 2014 SRAM discussion) [U].
CELL_LINE_FF_PER_NM = 0.1 / 45.0
# RRAM read: ~0.2 V across the cell for ~10 ns, on-state conductance ~1/(10 kOhm), off ~1/(1 MOhm)
# (Wan et al., NeuRRAM, Nature 2022 report tens of kOhm on-state cells and sub-volt reads) [U].
RRAM_READ = dict(voltage=0.2, seconds=10e-9, g_on=1e-4, g_off=1e-6)
# Walden figure of merit E = FoM_W * 2^ENOB: the Murmann ADC survey (1997-2023) puts recent SAR ADCs at
# 1-20 fJ per conversion step below ~100 MS/s, rising ~ fs above a corner of a few hundred MS/s [U].
ADC_WALDEN_FJ = 10.0
ADC_CORNER_HZ = 300e6
# Schreier FoM_S = SNDR + 10 log10(BW / P) (dB, BW = fs / 2); survey envelope ~175-180 dB at low speed [U].
ADC_SCHREIER_DB = 170.0
# ADC area ~ 2^bits (the capacitor array of a SAR dominates). Anchor: Jia et al., JSSC 2020, 65 nm:
# 256 column 8-bit ADCs in 0.497 mm^2 (published-numbers.md 3e) [P] -> 1941 um^2 each
# = 1941 / (256 levels x 0.065^2 um^2) = 1795 F^2 per level [C]; pitch-matched column ADCs are
# compact: stand-alone survey SARs are several times larger.
ADC_AREA_F2_PER_LEVEL = 0.497e6 / 256 / (256 * 0.065 ** 2)
# Capacitive DAC / row driver: unit capacitor ~1 fF at 45 nm, binary weighted, average switched charge
# half the array (Razavi, "The Current-Steering / Capacitor DAC", IEEE SSC Mag. 2018) [U].
DAC_UNIT_FF_PER_NM = 1.0 / 45.0
DAC_AREA_F2_PER_LEVEL = 4.0e3
# Latch sense amplifier: ~3 fF switched at 45 nm, ~300 F^2 (strongARM latch; Razavi SSC Mag. 2015) [U].
SENSE_AMP_FF_PER_NM = 3.0 / 45.0
SENSE_AMP_AREA_F2 = 3.0e2


@dataclass(frozen=True)
class Operating:
    """Node (nm) and supply (V) a component runs at."""

    nm: float
    voltage: float

    @property
    def f2_um2(self) -> float:
        """One F^2 in um^2."""
        return (self.nm * 1e-3) ** 2

    def energy_pj(self, capacitance_ff: float) -> float:
        """C * V^2 in pJ for a capacitance in fF."""
        return capacitance_ff * 1e-3 * self.voltage ** 2


def _number(cls: str, attrs: Mapping, name: str, default: float, minimum: float = 0.0) -> float:
    value = attrs.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= minimum:
        raise SpecError(f"{cls} '{name}' must be a number > {minimum:g}, got {value!r}", field=name)
    return float(value)


def _bits(cls: str, attrs: Mapping, name: str, default: int | None = None, upper: int = 24) -> int:
    value = attrs.get(name, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise SpecError(f"{cls} '{name}' must be an integer 1..{upper}, got {value!r}", field=name)
    return value


def operating(cls: str, attrs: Mapping, nm: float) -> Operating:
    """The node and the supply (attribute ``voltage``, default the node's nominal supply) of a part."""
    return Operating(nm, _number(cls, attrs, "voltage", supply_voltage(nm)))


def crossbar_cell(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """One cell's read in an array activation (``compute``) and its write (``write``): SRAM cells charge
    their share of the accumulation line (C*V^2); RRAM cells conduct G*V^2*t (on-state, the worst case;
    ``einloop.model.cim_values`` takes the expectation over the weights)."""
    cell = str(attrs.get("cell", "SRAM")).upper()
    if cell not in CELL_AREA_F2:
        raise SpecError(f"crossbar 'cell' must be one of {', '.join(CELL_AREA_F2)}, got {attrs.get('cell')!r}",
                        field="cell")
    bits = _bits("crossbar", attrs, "bits_per_cell", 1, upper=8)
    op = operating("crossbar", attrs, nm)
    if "read_energy" in attrs:
        read = _number("crossbar", attrs, "read_energy", 0.0)
        how = "given read_energy"
    elif cell == "SRAM":
        read = op.energy_pj(CELL_LINE_FF_PER_NM * nm)
        how = f"SRAM cell line C {CELL_LINE_FF_PER_NM * nm:.3g} fF x V^2"
    else:
        r = RRAM_READ
        read = r["g_on"] * r["voltage"] ** 2 * r["seconds"] * 1e12 * (op.voltage / supply_voltage(nm)) ** 2
        how = "RRAM G_on*V_read^2*t_read"
    area = _number("crossbar", attrs, "cell_area", CELL_AREA_F2[cell] * op.f2_um2)
    write = _number("crossbar", attrs, "write_energy", read * (1.0 if cell == "SRAM" else 100.0))
    return ComponentCost(read=read, write=write, update=write, compute=read, leak=0.0, area=area,
                         source=f"crossbar {cell} cell ({bits} b/cell) at {nm:g} nm, {op.voltage:g} V: {how}")


def off_fraction(attrs: Mapping) -> float:
    """Energy a cell storing 0 draws, as a fraction of one storing its maximum: RRAM conducts G_off / G_on
    (RRAM_READ), an SRAM cell storing 0 leaves its line alone; ``off_fraction`` overrides."""
    if "off_fraction" in attrs:
        value = attrs["off_fraction"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise SpecError(f"crossbar 'off_fraction' must be a number in 0..1, got {value!r}", field="off_fraction")
        return float(value)
    return RRAM_READ["g_off"] / RRAM_READ["g_on"] if str(attrs.get("cell", "SRAM")).upper() == "RRAM" else 0.0


def adc(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """One conversion: Walden E = FoM_W * 2^bits * (1 + fs / corner) (default) or Schreier
    E = P / fs = 1 / (2 * 10^((FoM_S - SNDR) / 10)), both Murmann-survey figures of merit; area ~ 2^bits."""
    bits = _bits("adc", attrs, "resolution", None)
    op = operating("adc", attrs, nm)
    rate = _number("adc", attrs, "sample_rate", 1.0 / cycle_seconds)
    scale = (op.voltage / supply_voltage(nm)) ** 2
    fom = str(attrs.get("fom", "walden")).lower()
    if fom == "walden":
        fj = _number("adc", attrs, "fom_walden_fj", ADC_WALDEN_FJ) * 2 ** bits * (1 + rate / ADC_CORNER_HZ)
        how = f"Walden {fj / 2 ** bits:.3g} fJ/step x 2^{bits}"
    elif fom == "schreier":
        sndr = 6.02 * bits + 1.76
        fom_db = _number("adc", attrs, "fom_schreier_db", ADC_SCHREIER_DB)
        fj = 1e15 / (2 * 10 ** ((fom_db - sndr) / 10))   # P / fs = 1 / (2 * 10^((FoM_S - SNDR) / 10))
        how = f"Schreier {fom_db:g} dB, SNDR {sndr:.1f} dB"
    else:
        raise SpecError(f"adc 'fom' must be walden or schreier, got {attrs.get('fom')!r}", field="fom")
    energy = _number("adc", attrs, "energy", fj * 1e-3 * scale)
    area = _number("adc", attrs, "area", ADC_AREA_F2_PER_LEVEL * 2 ** bits * op.f2_um2)
    return ComponentCost(read=0.0, write=0.0, update=0.0, compute=energy, leak=0.0, area=area,
                         source=f"ADC {bits} b at {rate / 1e6:.4g} MS/s, {op.voltage:g} V: {how} (Murmann survey)")


def dac(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """One conversion of a binary-weighted capacitive DAC / row driver: half of 2^bits unit capacitors
    switch on average, plus the row line it drives (``row_cells`` cells of line capacitance)."""
    bits = _bits("dac", attrs, "resolution", None)
    op = operating("dac", attrs, nm)
    cells = _number("dac", attrs, "row_cells", 0.0, minimum=-1.0)
    c = DAC_UNIT_FF_PER_NM * nm * 2 ** bits / 2 + CELL_LINE_FF_PER_NM * nm * cells
    energy = _number("dac", attrs, "energy", op.energy_pj(c))
    area = _number("dac", attrs, "area", DAC_AREA_F2_PER_LEVEL * 2 ** bits * op.f2_um2)
    return ComponentCost(read=0.0, write=0.0, update=0.0, compute=energy, leak=0.0, area=area,
                         source=f"DAC {bits} b + {cells:g}-cell row at {nm:g} nm, {op.voltage:g} V: "
                                f"{c:.3g} fF x V^2 (capacitive DAC)")


def sense_amp(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """One sensing of a latch sense amplifier (a 1-bit ADC): its switched capacitance x V^2."""
    op = operating("sense_amp", attrs, nm)
    energy = _number("sense_amp", attrs, "energy", op.energy_pj(SENSE_AMP_FF_PER_NM * nm))
    return ComponentCost(read=0.0, write=0.0, update=0.0, compute=energy, leak=0.0,
                         area=SENSE_AMP_AREA_F2 * op.f2_um2,
                         source=f"sense amp at {nm:g} nm, {op.voltage:g} V: {SENSE_AMP_FF_PER_NM * nm:.3g} fF x V^2")


def shift_add(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """One shift-and-add of a digitized column result into a ``width``-bit accumulator: the library's
    integer adder plus its accumulator register (the shift is wiring), moved to ``voltage`` by V^2."""
    width = _bits("shift_add", attrs, "width", None, upper=64)
    op = operating("shift_add", attrs, nm)
    add = estimate("adder", {"width": width}, nm, cycle_seconds)
    reg = estimate("register", {"width": width}, nm, cycle_seconds)
    scale = (op.voltage / supply_voltage(nm)) ** 2
    energy = _number("shift_add", attrs, "energy", (add.compute + reg.write) * scale)
    return ComponentCost(read=0.0, write=0.0, update=0.0, compute=energy, leak=add.leak + reg.leak,
                         area=add.area + reg.area,
                         source=f"shift-and-add {width} b: library adder + register, x(V/Vnom)^2 {scale:.3g}")


# Attributes each class reads (the CiM reader reports any other as ignored).
ANALOG_ATTRIBUTES = {
    "crossbar": {"cell", "bits_per_cell", "voltage", "read_energy", "write_energy", "cell_area", "off_fraction"},
    "adc": {"resolution", "voltage", "sample_rate", "fom", "fom_walden_fj", "fom_schreier_db", "energy", "area"},
    "dac": {"resolution", "voltage", "row_cells", "energy", "area"},
    "sense_amp": {"voltage", "energy"},
    "shift_add": {"width", "voltage", "energy"},
}

ANALOG_MODELS = {"crossbar": crossbar_cell, "adc": adc, "dac": dac, "sense_amp": sense_amp,
                 "shift_add": shift_add}
