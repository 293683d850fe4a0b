"""Component cost library: energy per action, area and leakage of accelerator parts, by technology node."""
from einloop.components.library import (
    ComponentCost,
    area_scale,
    classes,
    energy_scale,
    estimate,
    leakage_scale,
    supply_voltage,
    wire_energy_scale,
)

__all__ = ["ComponentCost", "area_scale", "classes", "energy_scale", "estimate", "leakage_scale",
           "supply_voltage", "wire_energy_scale"]
