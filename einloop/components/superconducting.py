"""Superconducting logic: an adiabatic quantum-flux-parametron (AQFP) MAC, priced per operation at the
chip and at the wall (with the cryocooler's overhead), in the same per-action form as every other part.

E_op = Josephson junctions per MAC x energy per junction switch x (1 + cooling overhead when ``at_wall``).
Tags as in einloop.components.library ([U]: recalled, verify before relying on it).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from einloop.components.library import ComponentCost
from einloop.errors import SpecError

# AQFP switching energy ~ 1.4 zJ per junction at 5 GHz, falling ~ linearly with the clock (adiabatic)
# (Takeuchi, Yamanashi, Yoshikawa, "Energy efficiency of adiabatic superconductor logic", Supercond. Sci.
# Technol. 28, 2015) [U].
JJ_ZJ_AT_5GHZ = 1.4
# Junctions per b-bit MAC: an array multiplier + accumulator of ~ 60 b^2 junctions (majority-gate AQFP
# multipliers of a few thousand JJs at 8 bits) [U].
JJ_PER_BIT2 = 60.0
# Cryocooler at 4.2 K: ~ 400 W of wall power per W removed (practical Gifford-McMahon / pulse tubes;
# Carnot alone is ~ 70) [U].
COOLING_W_PER_W = 400.0
# Junction footprint incl. wiring ~ 30 um x 30 um in the AIST 10 kA/cm^2 process [U].
JJ_AREA_UM2 = 900.0


def aqfp_mac(attrs: Mapping, nm: float, cycle_seconds: float = 1e-9) -> ComponentCost:
    """One b-bit MAC in AQFP logic; ``at_wall: true`` adds the cryocooler's wall power."""
    bits = attrs.get("width", attrs.get("datawidth", 8))
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 64:
        raise SpecError(f"aqfp_mac 'width' must be an integer 1..64, got {bits!r}", field="width")
    jj = attrs.get("junctions", JJ_PER_BIT2 * bits ** 2)
    if isinstance(jj, bool) or not isinstance(jj, (int, float)) or not math.isfinite(jj) or jj <= 0:
        raise SpecError(f"aqfp_mac 'junctions' must be a positive number, got {jj!r}", field="junctions")
    at_wall = attrs.get("at_wall", False)
    if not isinstance(at_wall, bool):
        raise SpecError(f"aqfp_mac 'at_wall' must be true or false, got {at_wall!r}", field="at_wall")
    ghz = 1e-9 / cycle_seconds
    zj = JJ_ZJ_AT_5GHZ * ghz / 5.0                  # adiabatic: energy per switch ~ clock
    chip = jj * zj * 1e-9                           # zJ -> pJ
    energy = chip * (1 + COOLING_W_PER_W) if at_wall else chip
    return ComponentCost(read=0.0, write=0.0, update=0.0, compute=energy, leak=0.0, area=jj * JJ_AREA_UM2,
                         source=f"AQFP {bits}b MAC: {jj:g} JJ x {zj:.3g} zJ at {ghz:g} GHz"
                                + (f" x (1 + {COOLING_W_PER_W:g}) cooling" if at_wall else " (chip only)"))


SUPERCONDUCTING_MODELS = {"aqfp_mac": aqfp_mac}
SUPERCONDUCTING_ATTRIBUTES = {"aqfp_mac": {"width", "datawidth", "junctions", "at_wall"}}
