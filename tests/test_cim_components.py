"""Analog / mixed-signal components: formulas, voltage and technology scaling, bad attributes."""
import math

import pytest

from einloop.components import classes, estimate
from einloop.components.analog import ADC_CORNER_HZ, ADC_WALDEN_FJ, CELL_LINE_FF_PER_NM
from einloop.errors import SpecError


def test_registered_in_library():
    assert {"adc", "dac", "crossbar", "sense_amp", "shift_add"} <= set(classes())


def test_adc_walden_doubles_per_bit_and_follows_rate():
    """E = FoM_W * 2^b * (1 + fs/corner): 10 fJ * 16 * (1 + 100 MHz / 300 MHz) = 0.21333 pJ at 4 b."""
    e4 = estimate("adc", {"resolution": 4, "sample_rate": 100e6}, 45).compute
    assert e4 == pytest.approx(ADC_WALDEN_FJ * 16 * (1 + 100e6 / ADC_CORNER_HZ) * 1e-3)
    assert e4 == pytest.approx(0.213333, rel=1e-5)
    assert estimate("adc", {"resolution": 5, "sample_rate": 100e6}, 45).compute == pytest.approx(2 * e4)


def test_adc_schreier():
    """8 b: SNDR 49.92 dB; FoM_S 170 dB -> P/fs = 1/(2*10^12.008) J = 0.4909 fJ... x1e3 -> 0.4909 pJ."""
    e = estimate("adc", {"resolution": 8, "fom": "schreier"}, 45).compute
    sndr = 6.02 * 8 + 1.76
    assert e == pytest.approx(1e15 / (2 * 10 ** ((170 - sndr) / 10)) * 1e-3)
    assert e == pytest.approx(0.4909, rel=1e-3)


def test_voltage_scaling_is_v_squared():
    for cls, attrs in (("adc", {"resolution": 6}), ("dac", {"resolution": 4, "row_cells": 64}),
                       ("crossbar", {"cell": "SRAM"}), ("sense_amp", {}), ("shift_add", {"width": 12})):
        lo = estimate(cls, {**attrs, "voltage": 0.6}, 22).compute
        hi = estimate(cls, {**attrs, "voltage": 0.9}, 22).compute
        assert hi / lo == pytest.approx((0.9 / 0.6) ** 2), cls


def test_technology_scaling_capacitance_and_area():
    """At equal voltage, switched capacitance ~ node (E ~ nm), area ~ nm^2."""
    a = estimate("crossbar", {"cell": "SRAM", "voltage": 0.8}, 45)
    b = estimate("crossbar", {"cell": "SRAM", "voltage": 0.8}, 22)
    assert a.compute / b.compute == pytest.approx(45 / 22)
    assert a.area / b.area == pytest.approx((45 / 22) ** 2)
    assert a.compute == pytest.approx(CELL_LINE_FF_PER_NM * 45 * 1e-3 * 0.64)


def test_dac_capacitance():
    """4 b DAC driving 64 cells at 45 nm, 1 V: 1 fF * 16 / 2 + 0.1 fF * 64 = 14.4 fF -> 0.0144 pJ."""
    assert estimate("dac", {"resolution": 4, "row_cells": 64, "voltage": 1.0}, 45).compute == pytest.approx(0.0144)


def test_shift_add_is_library_adder_plus_register():
    add = estimate("adder", {"width": 16}, 45).compute
    reg = estimate("register", {"width": 16}, 45).write
    assert estimate("shift_add", {"width": 16}, 45).compute == pytest.approx(add + reg)


@pytest.mark.parametrize("cls,attrs,field", [
    ("adc", {}, "resolution"), ("adc", {"resolution": 0}, "resolution"),
    ("adc", {"resolution": 4, "fom": "x"}, "fom"), ("dac", {"resolution": 4, "voltage": -1}, "voltage"),
    ("crossbar", {"cell": "PCM"}, "cell"), ("adc", {"resolution": 4, "sample_rate": math.nan}, "sample_rate"),
])
def test_bad_attributes(cls, attrs, field):
    with pytest.raises(SpecError) as e:
        estimate(cls, attrs, 22)
    assert e.value.field == field


def test_adc_area_anchor_jia():
    """Jia JSSC'20: 256 8-bit column ADCs in 0.497 mm^2 at 65 nm; area ~ 2^bits and ~ node^2."""
    a8 = estimate("adc", {"resolution": 8}, 65).area
    assert 256 * a8 == pytest.approx(0.497e6)
    assert estimate("adc", {"resolution": 4}, 65).area == pytest.approx(a8 / 16)
    assert estimate("adc", {"resolution": 8}, 22).area == pytest.approx(a8 * (22 / 65) ** 2)
