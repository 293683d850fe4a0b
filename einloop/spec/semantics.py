"""Which counting conventions an evaluation follows: einloop's exact model or Timeloop's.

einloop's own specs are counted exactly. Timeloop inputs switch on the conventions Timeloop v4 uses
where it differs (each derived in tests/test_timeloop_semantics.py), so its outputs reproduce:

* ``per_level_fanouts``: consecutive fanouts (Eyeriss-like: columns, then the PEs of a column) group
  multicast and spatial reduction at each fanout separately: a parent serves every distinct child
  tile of the outer fanout, each the union of the inner fanout's distinct tiles, so children of two
  columns needing overlapping data are served twice. The exact model treats them as one flat array.
* ``extrapolate``: Timeloop evaluates iterations 0 and 1 of every temporal loop and counts iteration 1
  for each later one (reuse.delta_sum), hiding reuse across an outer loop's boundary; the exact counts
  of a Timeloop input stay available with ``evaluate(..., semantics=EXACT)``.
* ``floor_partitions``: partition sizes printed as Timeloop computes them, floored to integers.
* ``operand_reuse_at_compute``: a storage level directly above the compute units (no storage between,
  one or more fanouts) is not re-read across the innermost temporal loops that do not index the
  operand: Timeloop keeps the operand in the arithmetic unit's input while those loops run.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Semantics:
    """The conventions of one evaluation (defaults: einloop's exact model)."""

    name: str = "einloop"
    per_level_fanouts: bool = False
    extrapolate: bool = False
    floor_partitions: bool = False
    operand_reuse_at_compute: bool = False

    def describe(self) -> dict:
        """JSON-ready: the name and every convention switched on."""
        return asdict(self)


EXACT = Semantics()
TIMELOOP = Semantics("timeloop", per_level_fanouts=True, extrapolate=True, floor_partitions=True,
                     operand_reuse_at_compute=True)
