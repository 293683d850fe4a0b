"""The library-built macro of the design study: scaling laws its counts and parts must follow."""
import pytest

from einloop.components import estimate
from einloop.model.cim_sweep import macro_spec, point
from einloop.model.cim import evaluate_cim


def test_adc_cost_per_mac_is_amortized_over_the_rows():
    """ADC conversions per MAC = (8 input x 8 weight slices) / rows: doubling the rows halves them."""
    a, b = (evaluate_cim(macro_spec(n, 64)) for n in (32, 64))
    per_mac = [r.counts.adc_conversions / r.computes for r in (a, b)]
    assert per_mac == pytest.approx([64 / 32, 64 / 64])
    assert a.energy_by_part["adc"] / a.computes == pytest.approx(2 * b.energy_by_part["adc"] / b.computes)


def test_adc_energy_doubles_per_bit():
    lo, hi = (evaluate_cim(macro_spec(64, 64, bits)).energy_by_part["adc"] for bits in (6, 7))
    assert hi == pytest.approx(2 * lo)


def test_every_part_scales_with_v_squared():
    assert point(64, 64, 8, 0.9).pj_per_mac / point(64, 64, 8, 0.6).pj_per_mac == pytest.approx((0.9 / 0.6) ** 2)


def test_adc_energy_is_the_library_estimate_at_100_mhz():
    """8-bit Walden ADC at 100 MS/s, 22 nm nominal supply: 10 fJ x 256 x (1 + 1/3) = 3.413 pJ."""
    spec = macro_spec(64, 64)
    assert spec.macro.adc.energy == pytest.approx(estimate("adc", {"resolution": 8, "sample_rate": 1e8}, 22).compute)
    assert spec.macro.adc.energy == pytest.approx(3.4133, rel=1e-4)


def test_columns_must_hold_whole_weights():
    with pytest.raises(ValueError):
        macro_spec(64, 60)
