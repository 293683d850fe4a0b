"""Photonic parts: link-budget laser, modulators, rings, detectors, and their use as a CiM macro's parts."""
import pytest

from einloop.components import estimate
from einloop.errors import SpecError
from einloop.model.cim import evaluate_cim
from einloop.spec import native
from einloop.spec.cim import CimSpec, read_cim


def test_laser_link_budget():
    """16 channels x 10 uW x 10^(6 dB / 10) / 0.1 = 6.370 mW; over a 0.2 ns (5 GHz) cycle: 1.2739 pJ."""
    c = estimate("laser", {"channels": 16, "loss_db": 6}, 45, cycle_seconds=0.2e-9)
    watts = 16 * 10e-6 * 10 ** 0.6 / 0.1
    assert c.compute == pytest.approx(watts * 0.2e-9 * 1e12) and c.compute == pytest.approx(1.2739, rel=1e-4)
    # every 3 dB of loss doubles the laser
    assert estimate("laser", {"channels": 16, "loss_db": 9.0103}, 45, 0.2e-9).compute == pytest.approx(2 * c.compute,
                                                                                                   rel=1e-4)


def test_ring_tuning_is_power_times_cycle():
    """0.05 pJ modulation + 0.5 mW x 0.2 ns = 0.15 pJ per weighting."""
    assert estimate("mrr", {}, 45, 0.2e-9).compute == pytest.approx(0.05 + 0.5e-3 * 0.2e-9 * 1e12)
    assert estimate("photodetector", {}, 45, 0.2e-9).compute == pytest.approx(2e-3 * 0.2e-9 * 1e12)
    assert estimate("awg", {}, 45).compute == 0 and estimate("awg", {}, 45).area == pytest.approx(0.5e6)


@pytest.mark.parametrize("attrs", [{"wall_plug_efficiency": 1.5}, {"channels": 0}, {"loss_db": -3}])
def test_bad_laser(attrs):
    with pytest.raises(SpecError):
        estimate("laser", attrs, 45)


def test_photonic_macro_in_the_cim_model():
    """An Albireo-like 8 x 4 photonic array at 5 GHz: MZMs encode inputs (the DACs), rings hold weights (the
    cells), photodetectors + TIAs feed the ADCs, the laser lights every cycle. m=4, k=8, n=4: 4 activations,
    32 modulations, 128 weightings, 16 detections; laser 4 x its per-cycle energy."""
    arch = native.read_architecture({"name": "photonic", "cycle_seconds": 0.2e-9, "nodes": [
        {"storage": "Buffer", "class": "dummy", "datawidth": 8, "energy": {"read": 0, "write": 0, "update": 0}},
        {"fanout": "Array", "mesh_x": 8, "mesh_y": 4},
        {"storage": "Rings", "class": "dummy", "depth": 1, "datawidth": 8, "energy": {"read": 0, "write": 0}},
        {"compute": "Light", "class": "dummy", "datawidth": 8}]})
    wl = native.read_workload({"name": "mv", "einsums": [
        {"name": "mv", "einsum": "Z[m,n] += A[m,k] * B[k,n]", "ranks": {"m": 4, "k": 8, "n": 4}}]})
    mapping = native.read_mapping([{"target": "Buffer", "temporal": "m4", "keep": ["A", "Z"]},
                                   {"target": "Array", "spatial": {"X": "k8", "Y": "n4"}},
                                   {"target": "Rings", "keep": ["B"]}])
    macro = read_cim({"array": "Array", "cells": "Rings", "input_bits": 8, "dac_resolution": 8, "weight_bits": 8,
                      "bits_per_cell": 8, "adc_resolution": 8,
                      "components": {"dac": {"class": "mzm"}, "cell": {"class": "mrr"},
                                     "detector": {"class": "photodetector"}, "adc": {"energy": 1.0},
                                     "shift_add": {"energy": 0}},
                      "periphery": {"class": "laser", "channels": 8, "loss_db": 10}}, arch, 45.0)
    r = evaluate_cim(CimSpec(wl, arch, mapping, macro, {}))
    e = r.energy_by_part
    assert e["dac"] == pytest.approx(32 * 1.0)                      # MZM 1 pJ per modulation
    assert e["array"] == pytest.approx(128 * 0.15)                  # ring weightings
    assert e["detector"] == pytest.approx(16 * 0.4) and e["adc"] == pytest.approx(16 * 1.0)
    assert e["periphery"] == pytest.approx(4 * 8 * 10e-6 * 10 / 0.1 * 0.2e-9 * 1e12)
    assert r.tops == pytest.approx(2 * 32 / 0.2e-9 / 1e12)          # 32 MACs per 0.2 ns cycle


def test_aqfp_mac():
    """8-bit AQFP MAC at 5 GHz: 60 x 64 = 3840 JJ x 1.4 zJ = 5.376e-6 pJ on chip; x 401 at the wall;
    at 1 GHz the adiabatic switch costs a fifth."""
    chip = estimate("aqfp_mac", {"width": 8}, 45, cycle_seconds=0.2e-9).compute
    assert chip == pytest.approx(3840 * 1.4e-9)
    assert estimate("aqfp_mac", {"width": 8, "at_wall": True}, 45, 0.2e-9).compute == pytest.approx(401 * chip)
    assert estimate("aqfp_mac", {"width": 8}, 45, 1e-9).compute == pytest.approx(chip / 5)
    with pytest.raises(SpecError):
        estimate("aqfp_mac", {"width": 8, "at_wall": "yes"}, 45)
