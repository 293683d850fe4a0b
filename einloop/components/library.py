"""Built-in component library: energy per action, area and leakage of accelerator parts.

``estimate(class, attributes, technology_nm, cycle_seconds)`` returns a ``ComponentCost``. Every class is
first evaluated at the 45 nm reference node from the anchors below, then moved to ``technology_nm`` by one
scaling rule (``energy_scale`` / ``area_scale`` / ``leakage_scale``). Units: pJ, um^2, pJ per cycle.

Sources and confidence (tags as in the project's published-numbers reference):
  [P] primary text or tool output seen, [S] secondary source seen, [C] computed here from other numbers,
  [U] recalled, not confirmed in a source reached while writing this: verify before relying on it.
Each constant below carries its own source and tag. In short:
  Horowitz, "Computing's Energy Problem (and what we can do about it)", ISSCC 2014, 45 nm: energy of
    integer/fp add and multiply and of an 8 KB SRAM read [S]; the area column of the same table [U].
  Accelergy + Timeloop exercise reference outputs (timeloop-accelergy-exercises @2d55108, *ERT.yaml and
    *ART.yaml): CACTI SRAM/DRAM, Aladdin register, regfile and intmac numbers [P] (tool outputs).
  DRAM per bit: Accelergy LPDDR4 [P], Horowitz/Sze DDR3 [S], DDR4 from DDR3 by JEDEC Vdd [C], HBM2 [U].
  Wires: Keckler et al., IEEE Micro 2011 [U]. Supply voltages: PTM via Stillmaker & Baas 2017 [U].
  Chen, Emer, Sze, ISCA 2016 (Eyeriss) normalized costs: a cross-check in the tests only.

Fits (coefficients are computed from the anchors at import, never typed in):
  int adder     E, A linear in bits through Horowitz 8b and 32b.
  int mult      E, A = a*b^2 + c*b through Horowitz 8b and 32b (partial-product array + final adder).
  fp add/mult   linear in significand bits / significand bits^2 through fp16 and fp32; bf16 interpolated.
  intmac        int mult(b) + int add(accumulator, default max(32, 2b)); fpmac = fp mult + fp add.
  SRAM          pJ per bit accessed = e0 + k*sqrt(capacity bits) through Horowitz 8 KB/64b (10 pJ) and
                CACTI 128 KB/64b (32.4 pJ); the sqrt term is the bit/word-line and H-tree length of a square
                array. Area = a_bit*bits + a_bank*n_banks and leakage = l0 + l_bit*bits through two CACTI
                outputs (128 KB and 384 B). Banking changes area only: in the CACTI outputs per-access energy
                follows total capacity, not bank size. Energy anchored at 64 Kbit and 1 Mbit, checked in the
                tests against CACTI at 3 Kbit and 2 Mbit; beyond a few MB the sqrt extrapolation is a rough
                guide only. read = write = update.
  regfile       pJ per bit = register bit + slope*(depth - 1) (the read mux grows with the entries), slope
                through Accelergy's 40 nm 64x8 regfile; area and leakage per bit from the same output.
  register      Aladdin flip-flop energy and area per bit; leakage per bit taken from the regfile.
  Leakage of arithmetic units: area times the logic leakage density of Accelergy's 45 nm intmac.

Technology rule (``energy_scale``, ``area_scale``, ``leakage_scale``, ``wire_energy_scale``): dynamic energy
~ C * Vdd^2 with C ~ feature size; area ~ feature size^2; leakage power ~ feature size * Vdd (device width
times supply at a constant off-current per um). Wires keep their capacitance per mm across nodes (Ho, Mai,
Horowitz, "The Future of Wires", Proc. IEEE 2001), so wire energy per mm scales with Vdd^2 only. DRAM is
off-chip and not scaled. The classical rule is optimistic for FinFET-era names (<= 16 nm), whose numbers no
longer measure a physical length; Stillmaker & Baas (Integration 58, 2017) quantify how far it drifts.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from einloop.errors import SpecError

REFERENCE_NM = 45.0

# Nominal core supply (V) per node, the Predictive Technology Model cards (ptm.asu.edu) as tabulated by
# Stillmaker & Baas 2017, Table 1 [U]. Only ratios V(node)/V(45 nm) are used, so Horowitz's 45 nm figures
# (given at 0.9 V) keep their meaning. Other nodes interpolate linearly in log(node).
VDD_BY_NODE: dict[float, float] = {180: 1.8, 130: 1.3, 90: 1.2, 65: 1.1, 45: 1.0, 32: 0.9, 22: 0.8,
                                   14: 0.8, 10: 0.75, 7: 0.7}
NODE_RANGE_NM = (min(VDD_BY_NODE), max(VDD_BY_NODE))

# ---- anchors: published or tool-reported numbers, each at the node it was reported at ----------------
# Horowitz ISSCC 2014, 45 nm, pJ per operation [S] (stillwater universal generic_45nm.hpp and an
# EnergyDatabase file, both citing Horowitz; PMC8934428 Table 3 for the 32-bit values).
INT_ADD_PJ = {8: 0.03, 16: 0.05, 32: 0.1}
INT_MULT_PJ = {8: 0.2, 32: 3.1}
FP_ADD_PJ = {"fp16": 0.4, "fp32": 0.9}
FP_MULT_PJ = {"fp16": 1.1, "fp32": 3.7}
# Same table, area column (um^2) [U]. Cross-check: 8b mult + 32b add = 419 um^2 against 417 um^2 that
# Accelergy reports for a 45 nm intmac in the exercise ART (design_simple_output_stationary) [P].
INT_ADD_UM2 = {8: 36.0, 16: 67.0, 32: 137.0}
INT_MULT_UM2 = {8: 282.0, 32: 3495.0}
FP_ADD_UM2 = {"fp16": 1360.0, "fp32": 4184.0}
FP_MULT_UM2 = {"fp16": 1640.0, "fp32": 7700.0}
# Significand bits incl. the hidden one (IEEE 754 binary16/binary32; bfloat16 = 8). bf16 has no measured
# anchor: its cost is interpolated in significand width between fp16 and fp32 [C].
SIGNIFICAND_BITS = {"bf16": 8, "fp16": 11, "fp32": 24}
FORMAT_BITS = {"bf16": 16, "fp16": 16, "fp32": 32}

# Logic leakage density: Accelergy intmac at 45 nm leaks 0.0036 pJ per 1 ns cycle (3.6 uW) in 417 um^2
# (exercise ERT/ART, design_simple_output_stationary) [P]. Applied per um^2 to every arithmetic unit.
LOGIC_LEAK_W_PER_UM2 = 3.6e-6 / 417.0

# Horowitz 2014: 8 KB SRAM, 64-bit read ~10 pJ at 45 nm [S].
SRAM_SMALL = dict(depth=1024, width=64, read_pj=10.0)
# CACTI through Accelergy, 45 nm, 16384 x 64 b (128 KB), 32 banks: read 32.377775 pJ, leak 0.005353 pJ per
# 1 ns cycle, area 429745.625 um^2 (design_simple_output_stationary shared_glb ERT/ART) [P].
SRAM_LARGE = dict(depth=16384, width=64, n_banks=32, read_pj=32.377775, leak_w=5.353e-6, area_um2=429745.625)
# CACTI through Accelergy, 45 nm, 192 x 16 b, 2 banks: leak 0.001165 pJ per 1 ns cycle, area 1419.815 um^2
# (same design, pe_spad) [P]. Used for the fixed (periphery) parts of SRAM area and leakage.
SRAM_TINY = dict(depth=192, width=16, n_banks=2, leak_w=1.165e-6, area_um2=1419.815)

# Aladdin register: Accelergy reports 0.144 pJ and 95.68 um^2 per 16-bit word, no leakage, for a 45 nm design
# (design_simple_output_stationary ERT/ART) [P]; per bit these equal Aladdin's TSMC 40 nm register entry
# (0.009 pJ, 5.98 um^2) [S], reported unscaled, so they are anchored at 40 nm here.
REGISTER_40NM = dict(pj_per_bit=0.144 / 16, um2_per_bit=95.68 / 16)
# Accelergy regfile, 40 nm, 64 x 8 b: 0.42564 pJ per read/write, 887.84 um^2, leak 0.000861 pJ per 1 ns
# cycle (tl00..tl05 exercise ERT/ART) [P].
REGFILE_40NM = dict(depth=64, width=8, access_pj=0.42564, area_um2=887.84, leak_w=0.861e-6)

# DRAM energy per bit moved (pJ/bit); not scaled with the logic node.
DRAM_PJ_PER_BIT: dict[str, float] = {
    # Accelergy CACTI-DRAM: 512 pJ per 64-bit LPDDR4 access (exercise ERT) [P]; AccelForge also uses 8 pJ/bit.
    "LPDDR4": 8.0,
    # Horowitz 2014: 64-bit DDR3 read 1.3-2.6 nJ (20-40 pJ/bit) [S]; 640 pJ per 32-bit read in Sze et al. [S].
    "DDR3": 20.0,
    # DDR3 scaled by the JEDEC supply ratio (1.2 V / 1.5 V)^2 [C].
    "DDR4": 20.0 * (1.2 / 1.5) ** 2,
    # O'Connor et al., "Fine-Grained DRAM", MICRO 2017: HBM2 baseline ~3.9 pJ/bit [U].
    "HBM2": 3.9,
}
DEFAULT_DRAM = "LPDDR4"

# On-chip wire: 256 bits over 10 mm cost 310 pJ at 40 nm, i.e. 0.121 pJ/bit/mm (Keckler, Dally et al.,
# "GPUs and the Future of Parallel Computing", IEEE Micro 2011, Table 1) [U]. Physical check: a repeated
# global wire of ~0.2-0.4 pF/mm at 0.9 V with random data (a quarter of bit-times charge it) gives 0.04-0.08.
WIRE_40NM_PJ_PER_BIT_MM = 310.0 / (256 * 10)

# An int MAC accumulates in max(32, 2 * operand bits) unless told: the common int8 x int8 -> int32 datapath.
MIN_ACCUMULATOR_BITS = 32


@dataclass(frozen=True)
class ComponentCost:
    """Cost of one component instance at one technology node."""

    read: float     # pJ per vector access (one access of `width` bits)
    write: float    # pJ per vector access (fill)
    update: float   # pJ per vector access (read-modify-write from below; the old value's read is counted as a read)
    compute: float  # pJ per operation (compute units), 0 for storage
    leak: float     # pJ per cycle per instance
    area: float     # um^2 per instance
    source: str     # one line: which table / model and scaling produced these numbers


# ---- technology scaling ------------------------------------------------------------------------------
def _check_node(nm) -> float:
    if isinstance(nm, str):
        text = nm.strip().lower().removesuffix("nm").strip()
        try:
            nm = float(text)
        except ValueError:
            raise SpecError(f"technology must be a node in nm such as 45 or '22nm', got {nm!r}",
                            field="technology") from None
    if isinstance(nm, bool) or not isinstance(nm, (int, float)) or not math.isfinite(nm):
        raise SpecError(f"technology must be a node in nm such as 45 or '22nm', got {nm!r}", field="technology")
    lo, hi = NODE_RANGE_NM
    if not lo <= nm <= hi:
        raise SpecError(f"technology {nm:g} nm is outside the supported {lo:g}-{hi:g} nm; "
                        f"tabulated nodes: {', '.join(f'{n:g}' for n in sorted(VDD_BY_NODE))}", field="technology")
    return float(nm)


def supply_voltage(nm: float) -> float:
    """Nominal Vdd at a node: the table value, or log-linear interpolation between neighbours."""
    nm = _check_node(nm)
    nodes = sorted(VDD_BY_NODE)
    if nm in VDD_BY_NODE:
        return VDD_BY_NODE[nm]
    hi = next(n for n in nodes if n > nm)
    lo = max(n for n in nodes if n < nm)
    t = math.log(nm / lo) / math.log(hi / lo)
    return VDD_BY_NODE[lo] + t * (VDD_BY_NODE[hi] - VDD_BY_NODE[lo])


def _cv2(nm: float) -> float:
    return nm * supply_voltage(nm) ** 2


def energy_scale(from_nm: float, to_nm: float) -> float:
    """Factor on logic/SRAM dynamic energy between nodes: C*V^2 with C ~ feature size."""
    return _cv2(_check_node(to_nm)) / _cv2(_check_node(from_nm))


def area_scale(from_nm: float, to_nm: float) -> float:
    """Factor on area between nodes: feature size squared."""
    return (_check_node(to_nm) / _check_node(from_nm)) ** 2


def leakage_scale(from_nm: float, to_nm: float) -> float:
    """Factor on leakage power between nodes: device width (~ feature size) times Vdd."""
    to_nm, from_nm = _check_node(to_nm), _check_node(from_nm)
    return (to_nm * supply_voltage(to_nm)) / (from_nm * supply_voltage(from_nm))


def wire_energy_scale(from_nm: float, to_nm: float) -> float:
    """Factor on wire energy per bit per mm: Vdd^2 only (capacitance per mm stays ~constant)."""
    return (supply_voltage(to_nm) / supply_voltage(from_nm)) ** 2


# ---- fits derived from the anchors (evaluated once, at import) ---------------------------------------
def _line(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float]:
    """(slope, intercept) of the line through two points."""
    slope = (y1 - y0) / (x1 - x0)
    return slope, y0 - slope * x0


def _quad_through_origin(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float]:
    """(a, b) with y = a*x^2 + b*x through both points: an array multiplier's partial products plus its
    linear final adder."""
    # a*x0^2 + b*x0 = y0 and a*x1^2 + b*x1 = y1
    a = (y1 / x1 - y0 / x0) / (x1 - x0)
    return a, y0 / x0 - a * x0


# Integer adder: linear in bits through Horowitz 8b and 32b (16b lands 7% above the published 0.05 pJ).
_ADD_E = _line(8, INT_ADD_PJ[8], 32, INT_ADD_PJ[32])
_ADD_A = _line(8, INT_ADD_UM2[8], 32, INT_ADD_UM2[32])
# Integer multiplier: a*b^2 + b*bits through Horowitz 8b and 32b.
_MULT_E = _quad_through_origin(8, INT_MULT_PJ[8], 32, INT_MULT_PJ[32])
_MULT_A = _quad_through_origin(8, INT_MULT_UM2[8], 32, INT_MULT_UM2[32])


def _fp_fit(table: dict[str, float], power: int) -> tuple[float, float]:
    """Line in significand_bits**power through the fp16 and fp32 anchors."""
    m16, m32 = SIGNIFICAND_BITS["fp16"] ** power, SIGNIFICAND_BITS["fp32"] ** power
    return _line(m16, table["fp16"], m32, table["fp32"])


# Fp adder ~ significand width (alignment shifter + adder); fp multiplier ~ significand^2 (mantissa array).
_FP_ADD_E, _FP_ADD_A = _fp_fit(FP_ADD_PJ, 1), _fp_fit(FP_ADD_UM2, 1)
_FP_MULT_E, _FP_MULT_A = _fp_fit(FP_MULT_PJ, 2), _fp_fit(FP_MULT_UM2, 2)

# SRAM energy per bit accessed: e0 + k * sqrt(capacity bits). The sqrt term is the bit/word-line and
# H-tree length of a square array; e0 the sense/IO cost per bit. Through Horowitz 8 KB and CACTI 128 KB.
_SRAM_SMALL_BITS = SRAM_SMALL["depth"] * SRAM_SMALL["width"]
_SRAM_LARGE_BITS = SRAM_LARGE["depth"] * SRAM_LARGE["width"]
_SRAM_K, _SRAM_E0 = _line(math.sqrt(_SRAM_SMALL_BITS), SRAM_SMALL["read_pj"] / SRAM_SMALL["width"],
                          math.sqrt(_SRAM_LARGE_BITS), SRAM_LARGE["read_pj"] / SRAM_LARGE["width"])
# SRAM area = a_bit * bits + a_bank * n_banks, and leakage = l0 + l_bit * bits, through the two CACTI anchors.
_SRAM_TINY_BITS = SRAM_TINY["depth"] * SRAM_TINY["width"]
_SRAM_A_BIT = ((SRAM_LARGE["area_um2"] - SRAM_TINY["area_um2"] * SRAM_LARGE["n_banks"] / SRAM_TINY["n_banks"])
               / (_SRAM_LARGE_BITS - _SRAM_TINY_BITS * SRAM_LARGE["n_banks"] / SRAM_TINY["n_banks"]))
_SRAM_A_BANK = (SRAM_TINY["area_um2"] - _SRAM_A_BIT * _SRAM_TINY_BITS) / SRAM_TINY["n_banks"]
_SRAM_L_BIT, _SRAM_L0 = _line(_SRAM_TINY_BITS, SRAM_TINY["leak_w"], _SRAM_LARGE_BITS, SRAM_LARGE["leak_w"])

# Register and regfile anchors moved from 40 nm to the 45 nm reference.
_REG_PJ_BIT = REGISTER_40NM["pj_per_bit"] * energy_scale(40, REFERENCE_NM)
_REG_UM2_BIT = REGISTER_40NM["um2_per_bit"] * area_scale(40, REFERENCE_NM)
# Regfile energy per bit = register bit + slope * (depth - 1): the read mux / select wiring grows with the
# number of entries (Accelergy's 45 nm regfiles of depth 64/128/256 grow linearly too, see the tests).
_RF_PJ_BIT = REGFILE_40NM["access_pj"] / REGFILE_40NM["width"] * energy_scale(40, REFERENCE_NM)
_RF_SLOPE = (_RF_PJ_BIT - _REG_PJ_BIT) / (REGFILE_40NM["depth"] - 1)
_RF_BITS = REGFILE_40NM["depth"] * REGFILE_40NM["width"]
_RF_UM2_BIT = REGFILE_40NM["area_um2"] / _RF_BITS * area_scale(40, REFERENCE_NM)
_RF_LEAK_W_BIT = REGFILE_40NM["leak_w"] / _RF_BITS * leakage_scale(40, REFERENCE_NM)

_WIRE_PJ_BIT_MM = WIRE_40NM_PJ_PER_BIT_MM * wire_energy_scale(40, REFERENCE_NM)


# ---- attribute checking -------------------------------------------------------------------------------
_MISSING = object()


def _positive_int(cls: str, attrs: Mapping, name: str, meaning: str, default=_MISSING) -> int:
    value = attrs.get(name, default)
    if value is _MISSING:
        raise SpecError(f"{cls} needs '{name}' ({meaning}), a positive integer", field=name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{cls} '{name}' ({meaning}) must be a positive integer, got {value!r}", field=name)
    return value


def _positive_number(cls: str, attrs: Mapping, name: str, meaning: str, default: float) -> float:
    value = attrs.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SpecError(f"{cls} '{name}' ({meaning}) must be a positive number, got {value!r}", field=name)
    return float(value)


def _choice(cls: str, attrs: Mapping, name: str, allowed, default=_MISSING) -> str:
    value = attrs.get(name, default)
    if value is _MISSING:
        raise SpecError(f"{cls} needs '{name}'; allowed: {', '.join(allowed)}", field=name)
    match = {a.lower(): a for a in allowed}.get(str(value).lower()) if isinstance(value, str) else None
    if match is None:
        raise SpecError(f"{cls} '{name}' must be one of {', '.join(allowed)}, got {value!r}", field=name)
    return match


def _operand_bits(cls: str, attrs: Mapping) -> int:
    """Operand bits of a compute unit: `width`, or Timeloop's `datawidth` (they must agree if both given)."""
    if "width" in attrs and "datawidth" in attrs and attrs["width"] != attrs["datawidth"]:
        raise SpecError(f"{cls} has width {attrs['width']!r} and datawidth {attrs['datawidth']!r}; give one",
                        field="width")
    name = "width" if "width" in attrs or "datawidth" not in attrs else "datawidth"
    return _positive_int(cls, attrs, name, "operand bits")


def _fp_format(cls: str, attrs: Mapping, name: str = "format") -> str:
    """An fp format from `format`, else from the operand width (16 -> fp16, 32 -> fp32)."""
    formats = tuple(FORMAT_BITS)
    if name in attrs:
        fmt = _choice(cls, attrs, name, formats)
        for key in ("width", "datawidth"):
            if key in attrs and attrs[key] != FORMAT_BITS[fmt]:
                raise SpecError(f"{cls} {key} {attrs[key]!r} does not match format {fmt} "
                                f"({FORMAT_BITS[fmt]} bits)", field=key)
        return fmt
    if "width" not in attrs and "datawidth" not in attrs:
        raise SpecError(f"{cls} needs '{name}'; allowed: {', '.join(formats)}", field=name)
    bits = _operand_bits(cls, attrs)
    by_bits = {16: "fp16", 32: "fp32"}
    if bits not in by_bits:
        raise SpecError(f"{cls} has no built-in {bits}-bit float; set '{name}' to one of {', '.join(formats)}",
                        field="width" if "width" in attrs else "datawidth")
    return by_bits[bits]


# ---- per-class models at the 45 nm reference node -----------------------------------------------------
@dataclass(frozen=True)
class _Raw:
    """A class's cost at REFERENCE_NM before scaling; `rule` picks the energy scaling."""

    access: float = 0.0       # pJ per read / write / update
    compute: float = 0.0      # pJ per operation
    area: float = 0.0         # um^2
    leak_w: float = 0.0       # W
    what: str = ""
    rule: str = "cmos"        # "cmos" (C*V^2), "wire" (V^2), "unscaled" (DRAM, dummy)


def _int_add(bits: int) -> tuple[float, float]:
    return _ADD_E[0] * bits + _ADD_E[1], _ADD_A[0] * bits + _ADD_A[1]


def _int_mult(bits: int) -> tuple[float, float]:
    return (_MULT_E[0] * bits ** 2 + _MULT_E[1] * bits, _MULT_A[0] * bits ** 2 + _MULT_A[1] * bits)


def _fp_add(fmt: str) -> tuple[float, float]:
    m = SIGNIFICAND_BITS[fmt]
    return _FP_ADD_E[0] * m + _FP_ADD_E[1], _FP_ADD_A[0] * m + _FP_ADD_A[1]


def _fp_mult(fmt: str) -> tuple[float, float]:
    m2 = SIGNIFICAND_BITS[fmt] ** 2
    return _FP_MULT_E[0] * m2 + _FP_MULT_E[1], _FP_MULT_A[0] * m2 + _FP_MULT_A[1]


def _logic(energy: float, area: float, what: str) -> _Raw:
    return _Raw(compute=energy, area=area, leak_w=area * LOGIC_LEAK_W_PER_UM2, what=what)


def _arith(cls: str, attrs: Mapping, int_fn, fp_fn) -> _Raw:
    fmt = _choice(cls, attrs, "format", ("int",) + tuple(FORMAT_BITS), default="int")
    if fmt == "int":
        bits = _operand_bits(cls, attrs)
        return _logic(*int_fn(bits), f"{cls} int{bits}: Horowitz 2014 45 nm fit")
    fmt = _fp_format(cls, attrs)
    how = "interpolated by significand width" if fmt == "bf16" else "Horowitz 2014 45 nm"
    return _logic(*fp_fn(fmt), f"{cls} {fmt}: {how}")


def _adder(attrs: Mapping) -> _Raw:
    return _arith("adder", attrs, _int_add, _fp_add)


def _multiplier(attrs: Mapping) -> _Raw:
    return _arith("multiplier", attrs, _int_mult, _fp_mult)


def _intmac(attrs: Mapping) -> _Raw:
    bits = _operand_bits("intmac", attrs)
    acc = _positive_int("intmac", attrs, "accumulator_width", "accumulator bits",
                        default=max(MIN_ACCUMULATOR_BITS, 2 * bits))
    (em, am), (ea, aa) = _int_mult(bits), _int_add(acc)
    return _logic(em + ea, am + aa, f"intmac {bits}b x {bits}b + {acc}b add: Horowitz 2014 45 nm fit")


def _fpmac(attrs: Mapping) -> _Raw:
    fmt = _fp_format("fpmac", attrs)
    acc = _choice("fpmac", attrs, "accumulator_format", tuple(FORMAT_BITS), default=fmt)
    (em, am), (ea, aa) = _fp_mult(fmt), _fp_add(acc)
    return _logic(em + ea, am + aa, f"fpmac {fmt} mult + {acc} add: Horowitz 2014 45 nm"
                  + (" (bf16 interpolated)" if "bf16" in (fmt, acc) else ""))


def _sram(attrs: Mapping) -> _Raw:
    depth = _positive_int("SRAM", attrs, "depth", "words")
    width = _positive_int("SRAM", attrs, "width", "bits per access")
    banks = _positive_int("SRAM", attrs, "n_banks", "banks", default=1)
    bits = depth * width
    return _Raw(access=width * (_SRAM_E0 + _SRAM_K * math.sqrt(bits)),
                area=_SRAM_A_BIT * bits + _SRAM_A_BANK * banks,
                leak_w=_SRAM_L0 + _SRAM_L_BIT * bits,
                what=(f"SRAM {depth}x{width}b/{banks} bank(s): pJ/bit = {_SRAM_E0:.4g} + {_SRAM_K:.4g}*sqrt(bits) "
                      f"(Horowitz 8 KB + CACTI 128 KB, 45 nm); area/leak fit to CACTI"))


def _regfile(attrs: Mapping) -> _Raw:
    depth = _positive_int("regfile", attrs, "depth", "words")
    width = _positive_int("regfile", attrs, "width", "bits per access")
    return _Raw(access=width * (_REG_PJ_BIT + _RF_SLOPE * (depth - 1)),
                area=_RF_UM2_BIT * depth * width, leak_w=_RF_LEAK_W_BIT * depth * width,
                what=f"regfile {depth}x{width}b: register bit + {_RF_SLOPE:.3g} pJ/bit per extra entry "
                     f"(Aladdin register + Accelergy 64x8 regfile, 40 nm)")


def _register(attrs: Mapping) -> _Raw:
    width = _positive_int("register", attrs, "width", "bits")
    if _positive_int("register", attrs, "depth", "words", default=1) != 1:
        raise SpecError("a register holds one word (depth 1); use 'regfile' for several words", field="depth")
    return _Raw(access=width * _REG_PJ_BIT, area=width * _REG_UM2_BIT, leak_w=width * _RF_LEAK_W_BIT,
                what=f"register {width}b: Aladdin 40 nm flip-flop via Accelergy (0.009 pJ, 5.98 um^2 per bit)")


def _dram(attrs: Mapping) -> _Raw:
    kind = _choice("DRAM", attrs, "type", tuple(DRAM_PJ_PER_BIT), default=DEFAULT_DRAM)
    width = _positive_int("DRAM", attrs, "width", "bits per access")
    return _Raw(access=width * DRAM_PJ_PER_BIT[kind], rule="unscaled",
                what=f"DRAM {kind} {width}b: {DRAM_PJ_PER_BIT[kind]:.3g} pJ/bit, off-chip (no area, leak)")


def _wire(cls: str):
    def model(attrs: Mapping) -> _Raw:
        width = _positive_int(cls, attrs, "width", "bits per transfer", default=1)
        length = _positive_number(cls, attrs, "length_mm", "wire length in mm", default=1.0)
        return _Raw(access=width * length * _WIRE_PJ_BIT_MM, rule="wire",
                    what=f"{cls} {width}b x {length:g} mm: Keckler et al. 2011 0.121 pJ/bit/mm at 40 nm")
    return model


def _dummy(attrs: Mapping) -> _Raw:
    return _Raw(what="dummy: all zeros", rule="unscaled")


_MODELS = {
    "DRAM": _dram, "SRAM": _sram, "regfile": _regfile, "register": _register,
    "intmac": _intmac, "fpmac": _fpmac, "adder": _adder, "multiplier": _multiplier,
    "wire": _wire("wire"), "noc": _wire("noc"), "dummy": _dummy,
}


def _analog_models() -> dict:
    """Registration hook: the analog / mixed-signal, photonic and superconducting classes (imported lazily: they import
    this module)."""
    from einloop.components.analog import ANALOG_MODELS
    from einloop.components.photonic import PHOTONIC_MODELS
    from einloop.components.superconducting import SUPERCONDUCTING_MODELS
    return {**ANALOG_MODELS, **PHOTONIC_MODELS, **SUPERCONDUCTING_MODELS}


def classes() -> list[str]:
    """Component classes the built-in library can estimate."""
    return sorted([*_MODELS, *_analog_models()], key=str.lower)


def estimate(component_class: str, attributes: Mapping | None = None, technology_nm: float = REFERENCE_NM,
             cycle_seconds: float = 1e-9) -> ComponentCost:
    """Energy per action, leakage per cycle and area of one instance of `component_class`.

    Class names match case-insensitively. Attributes the class does not use are ignored.
    """
    lookup = {name.lower(): name for name in _MODELS}
    cls = lookup.get(str(component_class).lower()) if isinstance(component_class, str) else None
    analog = _analog_models().get(str(component_class).lower()) if cls is None else None
    if analog is not None:
        if not isinstance(attributes, (Mapping, type(None))):
            raise SpecError(f"attributes of {component_class} must be a mapping", field="attributes")
        return analog(attributes or {}, _check_node(technology_nm), cycle_seconds)
    if cls is None:
        raise SpecError(f"unknown component class {component_class!r}; built-in classes: {', '.join(classes())}",
                        field="class")
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, Mapping):
        raise SpecError(f"attributes of {cls} must be a mapping, got {type(attributes).__name__}",
                        field="attributes")
    nm = _check_node(technology_nm)
    if isinstance(cycle_seconds, bool) or not isinstance(cycle_seconds, (int, float)) \
            or not math.isfinite(cycle_seconds) or cycle_seconds <= 0:
        raise SpecError(f"cycle_seconds must be a positive number, got {cycle_seconds!r}", field="cycle_seconds")

    raw = _MODELS[cls](attributes)
    if raw.rule == "unscaled":
        e, a, leak, how = 1.0, 1.0, 1.0, "not node-scaled"
    else:
        e = (energy_scale if raw.rule == "cmos" else wire_energy_scale)(REFERENCE_NM, nm)
        a, leak = area_scale(REFERENCE_NM, nm), leakage_scale(REFERENCE_NM, nm)
        law = f"(C*V^2), area x{a:.3g} (L^2)" if raw.rule == "cmos" else "(V^2, wire C per mm constant)"
        how = "at 45 nm" if nm == REFERENCE_NM else f"45->{nm:g} nm: energy x{e:.3g} {law}"
    access = raw.access * e
    return ComponentCost(read=access, write=access, update=access, compute=raw.compute * e,
                         leak=raw.leak_w * leak * cycle_seconds * 1e12, area=raw.area * a,
                         source=f"{raw.what}; {how}")
