"""Built-in component library: published anchors, sanity against Accelergy outputs, monotonicity, scaling."""
import pytest

from einloop.components import (ComponentCost, area_scale, classes, energy_scale, estimate, leakage_scale,
                                supply_voltage, wire_energy_scale)
from einloop.errors import SpecError

approx = pytest.approx


# ---- 45 nm anchors reproduce the published tables ---------------------------------------------------
@pytest.mark.parametrize("cls, attrs, pj", [
    ("adder", {"width": 8}, 0.03),          # Horowitz 2014, 8-bit int add
    ("adder", {"width": 32}, 0.1),          # 32-bit int add
    ("multiplier", {"width": 8}, 0.2),      # 8-bit int mult
    ("multiplier", {"width": 32}, 3.1),     # 32-bit int mult
    ("adder", {"format": "fp16"}, 0.4),
    ("adder", {"format": "fp32"}, 0.9),
    ("multiplier", {"format": "fp16"}, 1.1),
    ("multiplier", {"format": "fp32"}, 3.7),
    ("fpmac", {"format": "fp32"}, 3.7 + 0.9),
])
def test_horowitz_45nm_anchors(cls, attrs, pj):
    assert estimate(cls, attrs).compute == approx(pj)


def test_16bit_add_is_close_to_the_published_value():
    # Linear fit through 8b and 32b; Horowitz lists 0.05 pJ for 16b.
    assert estimate("adder", {"width": 16}).compute == approx(0.05, rel=0.10)


def test_horowitz_areas():
    assert estimate("adder", {"width": 8}).area == approx(36)
    assert estimate("multiplier", {"width": 32}).area == approx(3495)
    assert estimate("multiplier", {"format": "fp32"}).area == approx(7700)


def test_int8_mac_matches_horowitz_and_accelergy():
    mac = estimate("intmac", {"width": 8})           # 8b mult + 32b accumulate
    assert mac.compute == approx(0.2 + 0.1)
    assert mac.compute == approx(0.315, rel=0.10)    # Accelergy intmac, 45 nm exercise ERT
    assert mac.area == approx(417, rel=0.02)         # Accelergy intmac ART
    assert mac.leak == approx(0.0036, rel=0.02)      # pJ per 1 ns cycle
    assert (mac.read, mac.write, mac.update) == (0, 0, 0)


def test_datawidth_is_an_alias_for_width_on_compute_units():
    assert estimate("intmac", {"datawidth": 16}) == estimate("intmac", {"width": 16})
    assert estimate("fpmac", {"datawidth": 32}) == estimate("fpmac", {"format": "fp32"})


def test_bf16_sits_between_nothing_and_fp16():
    bf16, fp16 = estimate("fpmac", {"format": "bf16"}), estimate("fpmac", {"format": "fp16"})
    assert 0 < bf16.compute < fp16.compute and 0 < bf16.area < fp16.area
    mixed = estimate("fpmac", {"format": "fp16", "accumulator_format": "fp32"})
    assert mixed.compute == approx(1.1 + 0.9)


def test_sram_8kb_64bit_read_is_10pj():
    c = estimate("SRAM", {"depth": 1024, "width": 64})
    assert c.read == approx(10.0) and c.write == c.read and c.update == c.write
    assert c.compute == 0


def test_sram_reproduces_cacti_anchor_and_tracks_other_cacti_outputs():
    glb = estimate("SRAM", {"depth": 16384, "width": 64, "n_banks": 32})
    assert glb.read == approx(32.377775) and glb.area == approx(429745.625) and glb.leak == approx(0.005353)
    # Not fitted: Accelergy/CACTI 32768 x 64 at 40 nm reads 43.35 pJ, writes 30.88 pJ, 707084 um^2.
    big = estimate("SRAM", {"depth": 32768, "width": 64, "n_banks": 2}, technology_nm=40)
    assert 30.878292 < big.read < 43.353054
    assert big.area == approx(707084, rel=0.10)
    # Accelergy/CACTI 192 x 16 at 45 nm: read 0.68 pJ, write 1.58 pJ.
    spad = estimate("SRAM", {"depth": 192, "width": 16, "n_banks": 2})
    assert 0.680237 < spad.read < 1.582678


def test_regfile_and_register_reproduce_accelergy_40nm():
    rf = estimate("regfile", {"depth": 64, "width": 8}, technology_nm=40)
    assert (rf.read, rf.area, rf.leak) == (approx(0.42564), approx(887.84), approx(0.000861))
    reg = estimate("register", {"width": 16}, technology_nm=40)
    assert (reg.read, reg.area) == (approx(0.144), approx(95.68))


def test_regfile_growth_matches_accelergy_45nm_regfiles():
    # Accelergy regfile (with metadata) reads at 45 nm, 8-bit words: depth 128 -> 1.06 pJ, 256 -> 2.01 pJ.
    assert estimate("regfile", {"depth": 128, "width": 8}).read == approx(1.060977, rel=0.15)
    assert estimate("regfile", {"depth": 256, "width": 8}).read == approx(2.01058, rel=0.15)


def test_dram_per_bit():
    assert estimate("DRAM", {"width": 64}).read == approx(512.0)                  # LPDDR4 default, 8 pJ/bit
    assert estimate("DRAM", {"width": 256, "type": "LPDDR4"}).write == approx(2048.0)
    assert estimate("DRAM", {"width": 32, "type": "DDR3"}).read == approx(640.0)  # Sze/Horowitz 32-bit read
    per_bit = {t: estimate("DRAM", {"width": 1, "type": t}).read for t in ("HBM2", "LPDDR4", "DDR4", "DDR3")}
    assert per_bit["HBM2"] < per_bit["LPDDR4"] < per_bit["DDR4"] < per_bit["DDR3"]
    c = estimate("DRAM", {"width": 64})
    assert (c.area, c.leak, c.compute) == (0, 0, 0)


def test_eyeriss_normalized_costs_at_65nm():
    # Chen/Emer/Sze ISCA 2016, 16-bit, 65 nm: MAC 1, RF (0.5 kB) 1, global buffer (~100 kB) 6, DRAM 200.
    mac = estimate("intmac", {"width": 16}, technology_nm=65).compute
    rf = estimate("SRAM", {"depth": 256, "width": 16}, technology_nm=65).read / mac
    glb = estimate("SRAM", {"depth": 55296, "width": 16}, technology_nm=65).read / mac   # 108 kB
    dram = estimate("DRAM", {"width": 16, "type": "DDR3"}, technology_nm=65).read / mac
    assert 0.5 < rf < 2 and 3 < glb < 12 and 130 < dram < 300


def test_wire_energy_per_bit_mm():
    w = estimate("wire", {})
    assert 0.05 < w.read < 0.2                       # pJ per bit per mm
    assert estimate("noc", {"width": 64, "length_mm": 2}).read == approx(128 * w.read)


def test_dummy_is_all_zeros():
    c = estimate("dummy", {"anything": 1}, technology_nm=7)
    assert (c.read, c.write, c.update, c.compute, c.leak, c.area) == (0, 0, 0, 0, 0, 0)


def test_classes_and_case_insensitive_names():
    assert set(classes()) == {"DRAM", "SRAM", "regfile", "register", "intmac", "fpmac", "adder", "multiplier",
                              "wire", "noc", "dummy",
                              "adc", "dac", "crossbar", "sense_amp", "shift_add",   # analog.py (CiM)
                              "laser", "mzm", "mrr", "photodetector", "awg", "star_coupler",   # photonic.py
                              "aqfp_mac"}   # superconducting.py
    assert estimate("sram", {"depth": 64, "width": 8}) == estimate("SRAM", {"depth": 64, "width": 8})
    assert isinstance(estimate("Dram", {"width": 8}), ComponentCost)


# ---- monotonicity ----------------------------------------------------------------------------------------
def test_bigger_sram_costs_more_per_access_and_area():
    costs = [estimate("SRAM", {"depth": d, "width": 64}) for d in (64, 512, 4096, 32768, 262144)]
    assert all(a.read < b.read and a.area < b.area and a.leak < b.leak for a, b in zip(costs, costs[1:]))
    wide = [estimate("SRAM", {"depth": 1024, "width": w}).read for w in (8, 16, 32, 64, 128)]
    assert wide == sorted(wide) and len(set(wide)) == len(wide)
    assert estimate("SRAM", {"depth": 1024, "width": 64, "n_banks": 8}).area > \
        estimate("SRAM", {"depth": 1024, "width": 64}).area


def test_more_bits_cost_more():
    for cls in ("adder", "multiplier", "intmac", "register"):
        e = [estimate(cls, {"width": b}) for b in (4, 8, 16, 32)]
        assert all(a.compute + a.read < b.compute + b.read and a.area < b.area for a, b in zip(e, e[1:]))
    rf = [estimate("regfile", {"depth": d, "width": 16}).read for d in (1, 8, 64, 256)]
    assert rf == sorted(rf) and len(set(rf)) == len(rf)
    assert estimate("multiplier", {"width": 16}).compute > estimate("adder", {"width": 16}).compute
    assert estimate("fpmac", {"format": "fp32"}).compute > estimate("fpmac", {"format": "fp16"}).compute


def test_multiplier_grows_faster_than_adder():
    m8, m32 = (estimate("multiplier", {"width": b}).compute for b in (8, 32))
    a8, a32 = (estimate("adder", {"width": b}).compute for b in (8, 32))
    assert m32 / m8 > 10 and a32 / a8 < 4


# ---- technology scaling -----------------------------------------------------------------------------------
def test_scaling_round_trips():
    for nm in (65, 40, 32, 28, 22, 16, 7):
        assert energy_scale(45, nm) * energy_scale(nm, 45) == approx(1.0)
        assert area_scale(45, nm) * area_scale(nm, 45) == approx(1.0)
        assert leakage_scale(45, nm) * leakage_scale(nm, 45) == approx(1.0)
    at45 = estimate("SRAM", {"depth": 2048, "width": 32})
    at22 = estimate("SRAM", {"depth": 2048, "width": 32}, technology_nm=22)
    assert at22.read * energy_scale(22, 45) == approx(at45.read)
    assert at22.area * area_scale(22, 45) == approx(at45.area)
    assert at22.leak * leakage_scale(22, 45) == approx(at45.leak)


def test_scaling_rule_values():
    assert supply_voltage(45) == 1.0 and supply_voltage("22nm") == 0.8
    assert energy_scale(45, 22) == approx(22 / 45 * 0.8 ** 2)
    assert area_scale(45, 22) == approx((22 / 45) ** 2)
    assert 0.8 < supply_voltage(28) < 0.9                      # interpolated between 32 and 22 nm


def test_smaller_nodes_cost_less():
    nodes = (65, 45, 40, 32, 28, 22, 16, 7)
    macs = [estimate("intmac", {"width": 8}, technology_nm=nm) for nm in nodes]
    assert all(a.compute > b.compute and a.area > b.area for a, b in zip(macs, macs[1:]))


def test_dram_is_not_scaled_and_wires_scale_with_v_squared():
    assert estimate("DRAM", {"width": 64}, technology_nm=7).read == estimate("DRAM", {"width": 64}).read
    w45, w7 = estimate("wire", {}).read, estimate("wire", {}, technology_nm=7).read
    assert w7 / w45 == approx(wire_energy_scale(45, 7)) == approx((0.7 / 1.0) ** 2)


def test_leak_is_per_cycle():
    fast = estimate("SRAM", {"depth": 1024, "width": 64}, cycle_seconds=1e-9)
    slow = estimate("SRAM", {"depth": 1024, "width": 64}, cycle_seconds=2e-9)
    assert slow.leak == approx(2 * fast.leak) and slow.read == fast.read


def test_source_names_model_and_scaling():
    assert "Horowitz" in estimate("intmac", {"width": 8}).source
    src = estimate("SRAM", {"depth": 1024, "width": 64}, technology_nm=22).source
    assert "CACTI" in src and "45->22" in src and "\n" not in src


# ---- errors -------------------------------------------------------------------------------------------------
def test_unknown_class():
    with pytest.raises(SpecError) as err:
        estimate("flux_capacitor", {})
    assert err.value.field == "class" and "SRAM" in str(err.value) and "regfile" in str(err.value)


@pytest.mark.parametrize("cls, attrs, field, hint", [
    ("SRAM", {"width": 64}, "depth", "depth"),
    ("SRAM", {"depth": 0, "width": 64}, "depth", "positive integer"),
    ("SRAM", {"depth": "big", "width": 64}, "depth", "'big'"),
    ("SRAM", {"depth": True, "width": 64}, "depth", "positive integer"),
    ("regfile", {"depth": 8}, "width", "width"),
    ("register", {"width": 16, "depth": 4}, "depth", "regfile"),
    ("DRAM", {"width": 64, "type": "DDR9"}, "type", "LPDDR4"),
    ("DRAM", {}, "width", "bits per access"),
    ("intmac", {}, "width", "operand bits"),
    ("intmac", {"width": 8, "datawidth": 16}, "width", "datawidth"),
    ("fpmac", {"format": "fp8"}, "format", "bf16"),
    ("fpmac", {"datawidth": 8}, "datawidth", "fp16"),
    ("fpmac", {}, "format", "fp32"),
    ("fpmac", {"format": "fp16", "width": 32}, "width", "fp16"),
    ("adder", {"format": "decimal"}, "format", "int"),
    ("wire", {"length_mm": -1}, "length_mm", "positive"),
])
def test_bad_attributes_name_the_field_and_what_is_allowed(cls, attrs, field, hint):
    with pytest.raises(SpecError) as err:
        estimate(cls, attrs)
    assert err.value.field == field and hint in str(err.value)


@pytest.mark.parametrize("nm", [3, 500, "tiny", float("nan")])
def test_bad_technology(nm):
    with pytest.raises(SpecError) as err:
        estimate("SRAM", {"depth": 64, "width": 8}, technology_nm=nm)
    assert err.value.field == "technology"


def test_bad_cycle_time():
    with pytest.raises(SpecError) as err:
        estimate("SRAM", {"depth": 64, "width": 8}, cycle_seconds=0)
    assert err.value.field == "cycle_seconds"
