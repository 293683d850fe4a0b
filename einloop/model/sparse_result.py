"""What a sparse evaluation found: per level, tensor and action the algorithmic (dense), random
(actual), gated and skipped counts of data and metadata; computes; energy and cycles."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from einloop.model.result import Result


@dataclass
class SparseAction:
    """One action (read, fill, update) of one tensor at one level, per instance; metadata in items."""

    level: str
    tensor: str
    action: str
    algorithmic: float
    random: float
    gated: float
    skipped: float
    metadata_random: float
    metadata_gated: float
    metadata_skipped: float
    energy: float                # pJ, all utilized instances, data and metadata
    metadata_item_bits: float | None = None   # average bits of one metadata item (None: the level's)

    @property
    def absent(self) -> float:
        """Accesses to zeros that a compressed format never stores (neither gated nor skipped)."""
        return self.algorithmic - self.random - self.gated - self.skipped


@dataclass
class SparseTensor:
    """A tensor's tile at a level: dense size, data and metadata occupancy per instance."""

    level: str
    tensor: str
    format: str                  # "" (uncompressed) or e.g. "UOP CP"
    tile: int
    data_occupancy: float        # values held at most (nonzeros when compressed, else the whole tile)
    expected_data: float         # values held on average
    metadata_occupancy: float    # metadata + payload items, all ranks
    metadata_bits: float
    instances: int


@dataclass
class SparseComputes:
    """Algorithmic (dense) computes and how the sparse layer splits them."""

    algorithmic: int
    random: float                # performed
    gated: float
    skipped: float

    @property
    def eliminated(self) -> float:
        """Computes never issued: an operand was not delivered (compressed away, gated or skipped above)."""
        return self.algorithmic - self.random - self.gated - self.skipped


@dataclass
class SparseResult:
    """The sparse evaluation of one mapping; ``dense`` is the unchanged dense Result."""

    dense: Result
    computes: SparseComputes
    cycles: int
    compute_cycles: int
    energy: float                              # pJ
    level_energy: dict[str, float]             # pJ per level, dynamic + leakage
    level_cycles: dict[str, int]
    actions: list[SparseAction] = field(default_factory=list)
    tensors: list[SparseTensor] = field(default_factory=list)
    valid: bool = True
    reasons: list[str] = field(default_factory=list)

    @property
    def energy_per_algorithmic_compute(self) -> float:
        """pJ per dense compute (Sparseloop's fJ/Algorithmic-Compute / 1000)."""
        return self.energy / self.computes.algorithmic if self.computes.algorithmic else 0.0

    @property
    def energy_per_compute(self) -> float:
        """pJ per performed compute (Sparseloop's fJ/Compute / 1000)."""
        return self.energy / self.computes.random if self.computes.random else 0.0

    @property
    def utilization(self) -> float:
        """(random + gated computes) / (compute instances x cycles), as Timeloop."""
        inst = self.dense.levels[-1].instances
        return (self.computes.random + self.computes.gated) / (inst * self.cycles) if self.cycles else 0.0

    def action(self, level: str, tensor: str, action: str) -> SparseAction:
        """The record of one (level, tensor, action)."""
        return next(a for a in self.actions if (a.level, a.tensor, a.action) == (level, tensor, action))

    def tensor(self, level: str, tensor: str) -> SparseTensor:
        """The tile record of one (level, tensor)."""
        return next(t for t in self.tensors if (t.level, t.tensor) == (level, tensor))

    def to_dict(self) -> dict:
        """JSON-ready: totals, per-level energy/cycles, per-action and per-tile records."""
        return {"cycles": self.cycles, "compute_cycles": self.compute_cycles, "energy_pJ": self.energy,
                "energy_per_algorithmic_compute_pJ": self.energy_per_algorithmic_compute,
                "energy_per_compute_pJ": self.energy_per_compute, "utilization": self.utilization,
                "valid": self.valid, "reasons": self.reasons,
                "computes": {**asdict(self.computes), "eliminated": self.computes.eliminated},
                "levels": {n: {"energy_pJ": e, "cycles": self.level_cycles.get(n)}
                           for n, e in self.level_energy.items()},
                "actions": [{**asdict(a), "absent": a.absent} for a in self.actions],
                "tensors": [asdict(t) for t in self.tensors]}

    def action_table(self):
        """pandas: one row per (level, tensor, action), counts per instance, energy in pJ."""
        import pandas as pd
        rows = [{"level": a.level, "tensor": a.tensor, "action": a.action,
                 "algorithmic": a.algorithmic,
                 "random": a.random, "gated": a.gated, "skipped": a.skipped, "absent": a.absent,
                 "metadata_random": a.metadata_random, "metadata_gated": a.metadata_gated,
                 "metadata_skipped": a.metadata_skipped, "energy_pJ": a.energy} for a in self.actions]
        return pd.DataFrame(rows).set_index(["level", "tensor", "action"])

    def tensor_table(self):
        """pandas: one row per (level, tensor): tile, data and metadata occupancy per instance."""
        import pandas as pd
        rows = [{"level": t.level, "tensor": t.tensor, "format": t.format, "tile_values": t.tile,
                 "data_values": t.data_occupancy, "expected_data_values": t.expected_data, "metadata_items": t.metadata_occupancy,
                 "metadata_bits": t.metadata_bits, "instances": t.instances} for t in self.tensors]
        return pd.DataFrame(rows).set_index(["level", "tensor"])

    def level_table(self):
        """pandas: energy (pJ) and cycles per level."""
        import pandas as pd
        return pd.DataFrame([{"level": n, "energy_pJ": e, "cycles": self.level_cycles.get(n)}
                             for n, e in self.level_energy.items()]).set_index("level")
