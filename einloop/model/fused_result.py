"""What a fused evaluation found: per fused Einsum its counts, MACs, cycles and energy; totals; occupancy.

A plain data object like model/result.py's Result: ``to_dict`` gives JSON, ``*_table`` give pandas with
the units in the column names.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from einloop.model.result import TensorStats


@dataclass
class FusedEinsumResult:
    """One fused Einsum: every shared tile's run of its own nest, summed."""

    einsum: str
    macs: int                 # MACs computed, recomputed halo included
    recomputed_macs: int      # macs minus the Einsum's own MACs
    cycles: int               # bandwidth-limited cycles of its phases
    compute_cycles: int
    energy: float             # pJ: accesses, MACs and leakage during its phases
    tensors: list[TensorStats] = field(default_factory=list)


@dataclass
class FusedResult:
    """A fused mapping's totals, per-Einsum results and each level's occupancy in every Einsum's phase."""

    einsums: list[str]
    architecture: str
    valid: bool
    reasons: list[str]
    macs: int                 # the workload's MACs of the fused Einsums
    computed_macs: int        # recomputed ones included
    cycles: int               # the Einsums' cycles in turn
    energy: float             # pJ
    shared_steps: int
    per_einsum: list[FusedEinsumResult] = field(default_factory=list)
    occupancy: dict[str, list[float]] = field(default_factory=dict)   # level -> words per instance, per phase
    capacity: dict[str, float | None] = field(default_factory=dict)
    tree: str = ""

    @property
    def recomputed_macs(self) -> int:
        """MACs computed beyond the workload's (recomputed halos)."""
        return self.computed_macs - self.macs

    def einsum(self, name: str) -> FusedEinsumResult:
        """The result of one fused Einsum by name."""
        return next(e for e in self.per_einsum if e.einsum == name)

    def tensor(self, einsum: str, level: str, tensor: str) -> TensorStats:
        """One Einsum's counts of one tensor at one level."""
        return next(t for t in self.einsum(einsum).tensors if t.level == level and t.tensor == tensor)

    def total(self, level: str, action: str) -> float:
        """Sum over fused Einsums and tensors of one action's count (per instance) at one level."""
        return sum(getattr(t, action) for e in self.per_einsum for t in e.tensors if t.level == level)

    def to_dict(self) -> dict:
        """JSON-ready: totals, occupancy, and per Einsum its tensors keyed LEVEL.TENSOR."""
        d = {k: v for k, v in asdict(self).items() if k not in ("per_einsum", "tree")}
        d["recomputed_macs"] = self.recomputed_macs
        d["per_einsum"] = {e.einsum: {**{k: v for k, v in asdict(e).items() if k != "tensors"},
                                      "tensors": {f"{t.level}.{t.tensor}": {**asdict(t), "energy": t.energy}
                                                  for t in e.tensors}} for e in self.per_einsum}
        return d

    # ---- pandas views -----------------------------------------------------------------------
    def tensor_table(self):
        """One row per (Einsum, level, tensor); counts per instance of the level."""
        import pandas as pd
        rows = [{"einsum": e.einsum, "level": t.level, "tensor": t.tensor, "tile [values]": t.utilized_capacity,
                 "partition [values]": t.partition, "reads [values]": t.reads, "fills [values]": t.fills,
                 "updates [values]": t.updates, "instances": t.instances, "energy [pJ]": t.energy}
                for e in self.per_einsum for t in e.tensors]
        return pd.DataFrame(rows).set_index(["einsum", "level", "tensor"])

    def einsum_table(self):
        """One row per fused Einsum: MACs, cycles, energy."""
        import pandas as pd
        rows = [{"einsum": e.einsum, "MACs": e.macs, "recomputed MACs": e.recomputed_macs, "cycles": e.cycles,
                 "compute cycles": e.compute_cycles, "energy [pJ]": e.energy} for e in self.per_einsum]
        return pd.DataFrame(rows).set_index("einsum")

    def occupancy_table(self):
        """Words per instance each level holds during each Einsum's phase, and its capacity."""
        import pandas as pd
        rows = [{"level": level, **{f"during {e} [words]": v for e, v in zip(self.einsums, used)},
                 "capacity [words]": self.capacity.get(level)} for level, used in self.occupancy.items()]
        return pd.DataFrame(rows).set_index("level")
