"""Published CiM macros reproduced from examples/cim/ (targets: published-numbers.md section 3e)."""
import math
from pathlib import Path

import pytest
import yaml

from einloop.model.cim import evaluate_cim
from einloop.model.cim_values import bernoulli_bits, from_distributions
from einloop.spec.cim import load_cim

ROOT = Path(__file__).resolve().parents[1]
SINANGIL = ROOT / "examples" / "cim" / "sinangil_jssc21.yaml"
TOL = 0.15

# Sinangil JSSC'21 (section 3e): energy per activation vs average output value at 0.8 V.
CURVE = {0: 3.357, 1: 4.563, 2: 5.033, 4: 5.443, 6: 5.838, 8: 6.285, 10: 6.657, 12: 7.044, 15: 7.795}
# Worst-case energy vs VDD 0.65 ... 1.00 V.
SWEEP = dict(zip((0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 1.00),
                 (5.109, 5.875, 6.797, 7.813, 9.031, 10.25, 11.75, 13.125)))


def at_voltage(path: Path, tmp_path: Path, voltage: float, cycle: float | None = None):
    """The example's spec with the macro's supply (and clock) changed."""
    doc = yaml.safe_load(path.read_text())
    doc["cim"]["voltage"] = voltage
    if cycle:
        doc["architecture"]["cycle_seconds"] = cycle
    f = tmp_path / f"v{voltage}.yaml"
    f.write_text(yaml.safe_dump(doc))
    return load_cim(f)


def sinangil_values(avg_output: float, spec):
    """Inputs and weights whose bits are 1 with probability p: the average 4-bit output is 15 p^2, so
    p = sqrt(avg / 15) gives the curve's abscissa."""
    m, p = spec.macro, math.sqrt(avg_output / 15)
    return from_distributions(bernoulli_bits(p, m.input_bits), bernoulli_bits(p, m.weight_bits),
                              input_bits=m.input_bits, weight_bits=m.weight_bits,
                              dac_resolution=m.dac_resolution, bits_per_cell=m.bits_per_cell)


def per_activation(result) -> float:
    return result.energy / result.counts.activations


def test_sinangil_counts():
    """256 input vectors: 256 activations, each 64 DAC conversions (rows), 16 ADC conversions (outputs,
    weights combined in analog), 64 x 64 cell ops; no shift-adds."""
    r = evaluate_cim(load_cim(SINANGIL))
    c = r.counts
    assert (c.activations, c.dac_conversions, c.adc_conversions, c.cell_ops, c.shift_adds, c.cycles) == \
        (256, 256 * 64, 256 * 16, 256 * 64 * 64, 0, 256)
    assert r.computes == 256 * 64 * 16


@pytest.mark.parametrize("avg_output", sorted(CURVE))
def test_sinangil_energy_vs_average_output(avg_output):
    spec = load_cim(SINANGIL)
    values = sinangil_values(avg_output, spec)
    assert values.average_output(4) == pytest.approx(avg_output)
    got = per_activation(evaluate_cim(spec, values))
    assert got == pytest.approx(CURVE[avg_output], rel=TOL), (got, CURVE[avg_output])


@pytest.mark.parametrize("vdd", sorted(SWEEP))
def test_sinangil_worst_case_energy_vs_vdd(vdd, tmp_path):
    """Every part's energy ~ V^2 from the 0.8 V calibration."""
    got = per_activation(evaluate_cim(at_voltage(SINANGIL, tmp_path, vdd)))
    assert got == pytest.approx(SWEEP[vdd], rel=TOL), (vdd, got)


@pytest.mark.parametrize("vdd,avg_output,tops_w", [(0.8, 15, 262.3), (0.8, 6, 351.0), (0.8, 0, 610.5),
                                                   (1.0, 15, 189.3), (1.0, 0, 435.5)])
def test_sinangil_tops_per_watt(vdd, avg_output, tops_w, tmp_path):
    spec = at_voltage(SINANGIL, tmp_path, vdd)
    got = evaluate_cim(spec, sinangil_values(avg_output, spec)).tops_per_watt
    assert got == pytest.approx(tops_w, rel=TOL), (got, tops_w)


def test_sinangil_1v_average_6_is_inconsistent_with_its_neighbours():
    """The published 321.0 TOPS/W at 1.0 V, output 6 is not reproduced (einloop: ~213): against 0.8 V it
    implies 351.0/321.0 = 1.09x the energy, while outputs 15 and 0 give 262.3/189.3 = 1.39x and
    610.5/435.5 = 1.40x. No rule scaling the macro's energy with the supply alone gives all three."""
    ratios = (262.3 / 189.3, 351.0 / 321.0, 610.5 / 435.5)
    assert abs(ratios[0] - ratios[2]) < 0.02 and ratios[1] < ratios[0] - 0.25


@pytest.mark.parametrize("vdd,tops", [(0.8, 0.3724), (1.0, 0.4551)])
def test_sinangil_tops(vdd, tops, tmp_path):
    """TOPS = 2048 ops per activation / the clock; the clock is the published rate (an input), so this
    checks the count of ops per activation and cycles per activation (one: 4-bit DACs)."""
    cycle = {0.8: 5.4995e-9, 1.0: 2048 / 0.4551e12}[vdd]
    r = evaluate_cim(at_voltage(SINANGIL, tmp_path, vdd, cycle))
    assert r.tops == pytest.approx(tops, rel=1e-3)


JIA = ROOT / "examples" / "cim" / "jia_jssc20.yaml"


def jia(tmp_path, voltage=0.85, input_bits=1, cycle=None):
    doc = yaml.safe_load(JIA.read_text())
    doc["cim"].update(voltage=voltage, input_bits=input_bits)
    if cycle:
        doc["architecture"]["cycle_seconds"] = cycle
    f = tmp_path / f"jia{voltage}_{input_bits}.yaml"
    f.write_text(yaml.safe_dump(doc))
    return evaluate_cim(load_cim(f))


def test_jia_calibration_point(tmp_path):
    """16 activations of 1152 x 256 1b MACs: 400 TOPS/W and 0.874 TOPS at 0.85 V (the calibration)."""
    r = jia(tmp_path)
    assert (r.counts.activations, r.counts.adc_conversions, r.counts.dac_conversions) == (16, 16 * 256, 16 * 1152)
    assert r.tops_per_watt == pytest.approx(400, rel=1e-4) and r.tops == pytest.approx(0.874, rel=1e-4)


def test_jia_efficiency_at_1v2(tmp_path):
    """Predicted by V^2 from 0.85 V: 400 / (1.2/0.85)^2 = 200.7 TOPS/W; published 192 (+4.5%)."""
    got = jia(tmp_path, 1.2).tops_per_watt
    assert got == pytest.approx(400 / (1.2 / 0.85) ** 2, rel=1e-4)
    assert got == pytest.approx(192, rel=TOL)


def test_jia_energy_split_at_1v2(tmp_path):
    """Published per-column split at 1.2 V: ADC 3.56, CiM 20.4, NMC 14.7 of 38.66."""
    f = jia(tmp_path, 1.2).fractions()
    published = {"adc": 3.56 / 38.66, "array": 20.4 / 38.66, "periphery": 14.7 / 38.66}
    for part, share in published.items():
        assert f[part] == pytest.approx(share, rel=TOL), (part, f[part], share)


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_jia_throughput_vs_input_bits(bits, tmp_path):
    """Bit-serial inputs: b activations per MAC, so TOPS = 0.874 / b."""
    assert jia(tmp_path, input_bits=bits).tops == pytest.approx(0.874 / bits, rel=TOL)


def test_jia_8_bit_throughput_is_below_bit_serial_count(tmp_path):
    """Published 8b throughput 0.874 x 64 / 600 = 0.0932 TOPS; the bit-serial count gives 0.874 / 8 =
    0.1093 (+17%): the 8-bit mode has overhead the count does not see (not reproduced)."""
    got = jia(tmp_path, input_bits=8).tops
    assert got == pytest.approx(0.874 / 8, rel=1e-3) and got / (0.874 * 64 / 600) == pytest.approx(1.17, abs=0.01)


def test_wang_vlsi22_voltage_curve_is_concave():
    """Why Wang VLSI'22 has no example yet: its TOPS/W vs VDD (0.7..1.1 V) implies energy per op
    31.25, 44.27, 54.23, 61.07, 64.65 fJ, rising by 13.0, 10.0, 6.8, 3.6 fJ per 0.1 V (concave), where
    a*V^2 + b is convex; V^2 from 0.7 V gives +8.5, +5.0, -4.3 and -16.2% at 0.8..1.1 V."""
    vdd = (0.7, 0.8, 0.9, 1.0, 1.1)
    tops_w = (31.998, 22.590, 18.439, 16.376, 15.467)
    fj = [1e3 / t for t in tops_w]
    steps = [b - a for a, b in zip(fj, fj[1:])]
    assert all(b < a for a, b in zip(steps, steps[1:]))
    errors = [tops_w[0] * (vdd[0] / v) ** 2 / t - 1 for v, t in zip(vdd[1:], tops_w[1:])]
    assert errors == pytest.approx([0.085, 0.050, -0.043, -0.162], abs=0.002)
