"""Photonic parts in the same converter-and-array abstraction as the CiM macro (Albireo-like designs):
a Mach-Zehnder modulator (MZM) or microring (MRR) encodes inputs (the "DAC" side), microrings hold the
weights (the "cells"), photodetector + transimpedance amplifier (TIA) read the summed light (ahead of an
ADC), a laser supplies the light, AWGs and star couplers route it (passive: area and loss only).

``compute`` is the energy per action: per modulation, per weighting (a ring's thermal tuning held for one
cycle), per detection, or per cycle of laser light. Laser power follows the optical link budget:
P_electrical = channels x P_detector x 10^(loss_dB / 10) / wall-plug efficiency. Tags as in
einloop.components.library ([U]: recalled, verify before relying on it).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from einloop.components.library import ComponentCost
from einloop.errors import SpecError

# Photodetector sensitivity at a few GHz: ~ -20 dBm (10 uW) of optical power per channel for the needed
# SNR (e.g. Sun et al., "Single-chip microprocessor that communicates directly using light", Nature 2015,
# receivers of ~ -10 to -20 dBm) [U].
DETECTOR_SENSITIVITY_W = 10e-6
# Laser wall-plug efficiency of off-chip / hybrid lasers ~ 10-20% [U].
LASER_WALL_PLUG = 0.1
# Carrier-depletion MZM: ~ 1 pJ/bit for compact traveling-wave devices; ring modulators ~ 10-100 fJ/bit
# (Timurdogan et al., Nature Commun. 2014 ultralow-power microdisk modulator: ~1 fJ/bit) [U].
MZM_PJ = 1.0
MRR_MODULATION_PJ = 0.05
# Thermal tuning of a microring to hold its resonance: ~ 0.1-1 mW per ring (heater tuning efficiency
# ~ 1 nm/10 mW against a few 100 pm of drift) [U].
MRR_TUNING_W = 0.5e-3
# TIA at multi-GHz: ~ 1-5 mW (CMOS optical receivers, Razavi "Design of Integrated Circuits for Optical
# Communications", 2012) [U]; the photodetector itself draws no power.
TIA_W = 2e-3
# Footprints (um^2): MRR ~ 10 um radius with heater ~ 25 x 25; MZM ~ 1 mm x 20 um; AWG ~ 0.5 mm^2 per 8
# channels; star coupler ~ 0.1 mm^2 [U]. Insertion losses (dB): AWG ~ 3, star coupler ~ 2, MZM ~ 4,
# MRR through-port ~ 0.1 [U].
AREA_UM2 = {"mzm": 20e3, "mrr": 625.0, "photodetector": 100.0, "tia": 2500.0, "awg": 0.5e6,
            "star_coupler": 0.1e6, "laser": 0.0}
LOSS_DB = {"awg": 3.0, "star_coupler": 2.0, "mzm": 4.0, "mrr": 0.1}


def _num(cls: str, attrs: Mapping, name: str, default: float, low: float = 0.0) -> float:
    value = attrs.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= low:
        raise SpecError(f"{cls} '{name}' must be a number > {low:g}, got {value!r}", field=name)
    return float(value)


def _cost(cls: str, attrs: Mapping, energy: float, source: str) -> ComponentCost:
    area = _num(cls, attrs, "area", AREA_UM2[cls], low=-1.0)
    return ComponentCost(read=0.0, write=0.0, update=0.0, compute=energy, leak=0.0, area=area, source=source)


def laser(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """Light for one cycle: channels x sensitivity x 10^(loss/10) / wall-plug efficiency, times the cycle."""
    channels = _num("laser", attrs, "channels", 1.0)
    loss = _num("laser", attrs, "loss_db", 0.0, low=-1e-12) if "loss_db" in attrs else 0.0
    sens = _num("laser", attrs, "detector_sensitivity", DETECTOR_SENSITIVITY_W)
    eff = _num("laser", attrs, "wall_plug_efficiency", LASER_WALL_PLUG)
    if eff > 1:
        raise SpecError(f"laser 'wall_plug_efficiency' must be at most 1, got {eff!r}", field="wall_plug_efficiency")
    watts = channels * sens * 10 ** (loss / 10) / eff
    return _cost("laser", attrs, watts * cycle_seconds * 1e12,
                 f"laser {channels:g} ch x {sens * 1e6:g} uW x {loss:g} dB / {eff:g}: {watts * 1e3:.4g} mW")


def mzm(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """One modulation of a Mach-Zehnder modulator."""
    e = _num("mzm", attrs, "energy", MZM_PJ, low=-1.0)
    return _cost("mzm", attrs, e, f"MZM {e:g} pJ per modulation")


def mrr(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """One weighting by a microring: its modulation energy plus its thermal tuning held for one cycle."""
    e = _num("mrr", attrs, "modulation_energy", MRR_MODULATION_PJ, low=-1.0)
    w = _num("mrr", attrs, "tuning_power", MRR_TUNING_W, low=-1.0)
    return _cost("mrr", attrs, e + w * cycle_seconds * 1e12,
                 f"MRR {e:g} pJ + {w * 1e3:g} mW tuning x {cycle_seconds * 1e9:g} ns")


def photodetector(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """A photodetector with its TIA: the TIA's power for one cycle per detection."""
    w = _num("photodetector", attrs, "tia_power", TIA_W, low=-1.0)
    cost = _cost("photodetector", attrs, w * cycle_seconds * 1e12,
                 f"photodetector + TIA {w * 1e3:g} mW x {cycle_seconds * 1e9:g} ns")
    return replace(cost, area=cost.area + AREA_UM2["tia"])


def passive(cls: str):
    """AWG / star coupler: no energy; area, and the insertion loss to add to the laser's budget."""
    def model(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
        """No energy; the part's area."""
        return _cost(cls, attrs, 0.0, f"{cls}: passive, {LOSS_DB[cls]:g} dB insertion loss (laser budget)")
    return model


# Attributes each class reads (the CiM reader reports any other as ignored).
PHOTONIC_ATTRIBUTES = {
    "laser": {"channels", "loss_db", "detector_sensitivity", "wall_plug_efficiency", "area"},
    "mzm": {"energy", "area"}, "mrr": {"modulation_energy", "tuning_power", "area"},
    "photodetector": {"tia_power", "area"}, "awg": {"area"}, "star_coupler": {"area"},
}

PHOTONIC_MODELS = {"laser": laser, "mzm": mzm, "mrr": mrr, "photodetector": photodetector,
                   "awg": passive("awg"), "star_coupler": passive("star_coupler")}
