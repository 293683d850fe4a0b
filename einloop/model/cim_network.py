"""A whole network on a CiM architecture: every two-operand reduction Einsum (convolutions, matmuls) is
mapped by einloop's mapper under the spec's constraints and priced as the macro (einloop.model.cim).

The mapper minimizes the digital evaluation's objective (buffers and compute unit); the converter costs
are then added to the mapping it found. Their counts follow the same reads and updates the digital levels
pay for, so the choice is close, not proven optimal for the macro's total. Element-wise Einsums (batch
norm, activations, pooling) run outside the macro and are listed as skipped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from einloop.mapper.constraints import Constraints
from einloop.mapper.search import map_einsum
from einloop.model.cim import CimResult, price
from einloop.model.cim_values import FULL_SCALE, ValueStats
from einloop.spec.cim import CimSpec
from einloop.spec.workload import Einsum, Workload


@dataclass
class LayerRow:
    """One layer on the macro: its pricing, or why it has none."""

    name: str
    macs: int
    result: CimResult | None
    note: str = ""


@dataclass
class NetworkRun:
    """Per-layer rows, the skipped Einsums and the wall time."""

    rows: list[LayerRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def energy(self) -> float:
        """pJ over the mapped layers."""
        return sum(r.result.energy for r in self.rows if r.result)

    @property
    def cycles(self) -> int:
        """Layers run one after another: their cycles add."""
        return sum(r.result.cycles for r in self.rows if r.result)

    @property
    def macs(self) -> int:
        """MACs of the mapped layers."""
        return sum(r.macs for r in self.rows if r.result)

    def table(self) -> str:
        """A plain-text table: layer, MACs, energy (uJ), cycles, TOPS/W and the ADC / DAC / digital shares."""
        head = f"{'layer':<22}{'MACs':>14}{'energy uJ':>12}{'cycles':>12}{'TOPS/W':>9}{'ADC':>7}{'DAC':>7}{'digital':>9}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            if r.result is None:
                lines.append(f"{r.name:<22}{r.macs:>14,}  {r.note}")
                continue
            f = r.result.fractions()
            lines.append(f"{r.name:<22}{r.macs:>14,}{r.result.energy / 1e6:>12.3f}{r.result.cycles:>12,}"
                         f"{r.result.tops_per_watt:>9.1f}{f['adc']:>7.1%}{f['dac']:>7.1%}{f['digital']:>9.1%}")
        lines.append(f"{'total':<22}{self.macs:>14,}{self.energy / 1e6:>12.3f}{self.cycles:>12,}"
                     f"{2 * self.macs / self.energy if self.energy else 0:>9.1f}")
        return "\n".join(lines)


def on_macro(einsum: Einsum) -> bool:
    """Einsums the macro computes: multiply-accumulates of two operands with a reduction rank."""
    reduced = set(einsum.ranks) - set(einsum.output.ranks)
    return einsum.op == "mac" and len(einsum.inputs) == 2 and bool(reduced)


def _shape(einsum: Einsum) -> tuple:
    """Layers with the same ranks and index structure map and cost the same."""
    return (tuple(sorted(einsum.ranks.items())), tuple(str(t.indices) for t in einsum.tensors))


def constraints_for(cons: Constraints | None, einsum: Einsum) -> Constraints | None:
    """One constraints file for every layer: rank lists keep only the ranks this Einsum has (a classifier
    has no filter ranks r, s)."""
    if cons is None:
        return None
    ranks = set(einsum.ranks)

    def keep(level):
        """The level's limits restricted to this Einsum's ranks."""
        sets = {k: frozenset(getattr(level, k)) & ranks for k in ("spatial_x", "spatial_y", "ranks")
                if getattr(level, k) is not None}
        dicts = {k: {r: v for r, v in getattr(level, k).items() if r in ranks} for k in ("factors", "max_factors")}
        return replace(level, **sets, **dicts)

    return replace(cons, levels={name: keep(level) for name, level in cons.levels.items()})


def map_network(workload: Workload, spec: CimSpec, *, values: ValueStats = FULL_SCALE,
                time_limit: float | None = 30.0, workers: int | None = None) -> NetworkRun:
    """Map and price every macro Einsum of `workload` on `spec`'s architecture (same shapes mapped once)."""
    run, seen, start = NetworkRun(), {}, time.perf_counter()
    for e in workload.einsums:
        if not on_macro(e):
            run.skipped.append(e.name)
            continue
        key = _shape(e)
        if key not in seen:
            m = map_einsum(e, spec.arch, constraints_for(spec.constraints, e), time_limit=time_limit, workers=workers)
            seen[key] = (price(e, spec.arch, m.mapping, m.result, spec.macro, values), "") if m.result and m.result.valid \
                else (None, m.note or "no valid mapping under the constraints")
        result, note = seen[key]
        run.rows.append(LayerRow(e.name, e.macs, result, note))
    run.seconds = time.perf_counter() - start
    return run
