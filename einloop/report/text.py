"""Terminal tables for a Result: per level, per tensor, and totals."""
from __future__ import annotations

from einloop.model.result import Result


def _fmt(x: float) -> str:
    if isinstance(x, int) or float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}"


def _table(headers: list[str], rows: list[list]) -> str:
    cells = [headers] + [[_fmt(c) if isinstance(c, (int, float)) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for k, r in enumerate(cells):
        out.append("  ".join(c.ljust(w) if headers[i] in ("level", "tensor") else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def summary(result: Result) -> str:
    head = [f"Einsum {result.einsum} on {result.architecture}: "
            + ("valid mapping" if result.valid else "INVALID mapping: " + "; ".join(result.reasons))]
    head.append(f"  computes {result.computes:,}   cycles {result.cycles:,} (compute-bound {result.compute_cycles:,})"
                f"   utilization {100 * result.utilization:.2f} %")
    head.append(f"  energy {result.energy:,.2f} pJ   {result.energy_per_compute:.4f} pJ/MAC   "
                f"EDP {result.edp:.4g} J*cycle   area {result.area:,.0f} um^2")
    tensor_rows = [[t.level, t.tensor, t.utilized_capacity, t.partition, t.reads, t.fills, t.updates,
                    t.multicast, t.instances, t.energy] for t in result.tensors]
    level_rows = [[l.name, l.utilized_instances, l.instances, "-" if l.capacity is None else l.capacity,
                   l.occupancy, l.cycles, l.dynamic_energy, l.leak_energy,
                   100 * l.energy / result.energy if result.energy else 0.0] for l in result.levels]
    return "\n".join(head) + "\n\nPer level and tensor (counts per instance, energy over all instances, pJ)\n" + _table(
        ["level", "tensor", "tile", "partition", "reads", "fills", "updates", "multicast", "instances", "energy"],
        tensor_rows) + "\n\nPer level\n" + _table(
        ["level", "used inst", "instances", "capacity", "occupancy", "cycles", "dynamic pJ", "leak pJ", "% energy"],
        level_rows)
