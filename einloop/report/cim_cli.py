"""``einloop cim FILE... [--json]``: evaluate a compute-in-memory spec (docs/cim.md).

Evaluates the spec's mapping (or maps the Einsum under its constraints when it has none) and prints the
macro's counts, energy by part, cycles, clock, TOPS and TOPS/W. ``--inputs A.npy --weights B.npy``
measure the value statistics from unsigned integer arrays; without them every value is full scale.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

import numpy as np

from einloop.errors import SpecError
from einloop.mapper.search import map_einsum
from einloop.model.cim import CimResult, evaluate_cim, price
from einloop.model.cim_network import constraints_for
from einloop.model.cim_values import FULL_SCALE, ValueStats, from_arrays
from einloop.spec.cim import CimSpec, load_cim


def _values(spec: CimSpec, inputs: str | None, weights: str | None) -> ValueStats:
    if (inputs is None) != (weights is None):
        raise SpecError("give both --inputs and --weights (numpy .npy files), or neither", field="--inputs")
    if inputs is None:
        return FULL_SCALE
    m = spec.macro
    arrays = []
    for flag, path in (("--inputs", inputs), ("--weights", weights)):
        try:
            arrays.append(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as err:
            raise SpecError(f"cannot read a numpy array: {err}", file=path, field=flag) from None
    return from_arrays(*arrays, input_bits=m.input_bits, weight_bits=m.weight_bits,
                       dac_resolution=m.dac_resolution, bits_per_cell=m.bits_per_cell)


def run(spec: CimSpec, values: ValueStats, time_limit: float | None) -> CimResult:
    """The spec's mapping priced as the macro, or the mapper's best mapping when there is none."""
    if spec.workload is None:
        raise SpecError("a CiM run needs a workload section", field="workload")
    if spec.mapping is not None:
        return evaluate_cim(spec, values)
    einsum = spec.workload.einsum()
    found = map_einsum(einsum, spec.arch, constraints_for(spec.constraints, einsum), time_limit=time_limit)
    if found.result is None or not found.result.valid:
        raise SpecError(f"no valid mapping of {einsum.name} fits the architecture under the constraints",
                        field="mapping")
    return price(einsum, spec.arch, found.mapping, found.result, spec.macro, values)


def summary(r: CimResult) -> dict:
    """JSON-ready: counts, energy and area by part, totals, cycles, clock, TOPS, TOPS/W, value levels."""
    return {"computes": r.computes, "cycles": r.cycles, "cycle_seconds": r.cycle_seconds,
            "clock_hz": 1 / r.cycle_seconds, "energy": r.energy, "energy_by_part": r.energy_by_part,
            "fractions": r.fractions(), "area_by_part": r.area_by_part, "tops": r.tops,
            "tops_per_watt": r.tops_per_watt, "counts": asdict(r.counts), "values": asdict(r.values),
            "notes": r.notes}


def text(r: CimResult) -> str:
    """A short human-readable report."""
    c = r.counts
    lines = [f"computes {r.computes:,}   cycles {r.cycles:,}   clock {1 / r.cycle_seconds / 1e6:.4g} MHz",
             f"energy {r.energy:,.3f} pJ   {r.tops:.4g} TOPS   {r.tops_per_watt:.4g} TOPS/W",
             f"activations {c.activations:,.0f}   cell ops {c.cell_ops:,.0f}   DAC {c.dac_conversions:,.0f}   "
             f"ADC {c.adc_conversions:,.0f}   shift-add {c.shift_adds:,.0f}"]
    for part, e in r.energy_by_part.items():
        lines.append(f"  {part:<10}{e:>16,.3f} pJ {e / r.energy:>7.1%}")
    return "\n".join(lines)


def _arguments(ap) -> None:
    ap.add_argument("files", nargs="+", help="YAML files with a cim: section (docs/cim.md)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--inputs", help="numpy .npy of input values (unsigned integers)")
    ap.add_argument("--weights", help="numpy .npy of weight values (unsigned integers)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="mapper seconds when there is no mapping")


def register(sub) -> None:
    """Add ``einloop cim``."""
    c = sub.add_parser("cim", help="evaluate a compute-in-memory macro spec (docs/cim.md)")
    _arguments(c)
    c.set_defaults(run=run_command)


def run_command(args) -> int:
    """The command's body; a bad spec raises SpecError (einloop.cli prints it, exit 2)."""
    spec = load_cim(args.files)
    result = run(spec, _values(spec, args.inputs, args.weights), args.time_limit)
    for note in result.notes:
        print(f"einloop: note: {note}", file=sys.stderr)
    print(json.dumps(summary(result), indent=2) if args.json else text(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point (also ``python -m einloop.report.cim_cli``); exit 0 on success, 2 on a bad spec."""
    ap = argparse.ArgumentParser(prog="einloop cim", description=__doc__.splitlines()[0])
    _arguments(ap)
    args = ap.parse_args(argv)
    try:
        return run_command(args)
    except SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
