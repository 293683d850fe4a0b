"""What one evaluation found: per level and tensor counts and energy, totals, validity.

A plain data object: reports format it, ``to_dict`` gives JSON, the ``*_table`` methods give pandas.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class TensorStats:
    level: str
    tensor: str
    utilized_capacity: int      # tile size (values) per instance
    partition: float
    reads: float                # per instance
    fills: float
    updates: float
    temporal_reductions: float
    multicast: float            # average children served by one read of this level
    instances: int              # utilized instances of the level
    read_energy: float          # pJ, all instances
    fill_energy: float
    update_energy: float
    final_updates: float = 0.0  # outputs: updates carrying a final value (the others carry partial sums)

    @property
    def energy(self) -> float:
        return self.read_energy + self.fill_energy + self.update_energy


@dataclass
class LevelStats:
    name: str
    kind: str                   # "storage" | "compute"
    instances: int              # total instances
    utilized_instances: int
    capacity: float | None      # effective words per instance (None = unbounded)
    occupancy: float            # words used per instance
    cycles: int                 # bandwidth-limited cycles of this level
    dynamic_energy: float       # pJ
    leak_energy: float
    area: float                 # um^2, all instances

    @property
    def energy(self) -> float:
        return self.dynamic_energy + self.leak_energy


@dataclass
class Result:
    einsum: str
    architecture: str
    valid: bool
    reasons: list[str]
    computes: int
    cycles: int
    compute_cycles: int
    utilization: float
    energy: float               # pJ
    levels: list[LevelStats] = field(default_factory=list)
    tensors: list[TensorStats] = field(default_factory=list)
    loop_nest: str = ""
    reuse_rule: str = "2025"    # Timeloop's stride rule the temporal counts follow
    semantics: dict = field(default_factory=dict)   # counting conventions (einloop.spec.semantics)
    notes: list[str] = field(default_factory=list)  # what the specs' reading estimated or ignored

    @property
    def energy_per_compute(self) -> float:
        return self.energy / self.computes if self.computes else 0.0

    @property
    def edp(self) -> float:
        """Energy-delay product in J x cycles."""
        return self.energy * 1e-12 * self.cycles

    @property
    def area(self) -> float:
        return sum(l.area for l in self.levels)

    def level(self, name: str) -> LevelStats:
        return next(l for l in self.levels if l.name == name)

    def tensor(self, level: str, tensor: str) -> TensorStats:
        return next(t for t in self.tensors if t.level == level and t.tensor == tensor)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("levels", "tensors", "loop_nest")}
        d.update(energy_per_compute=self.energy_per_compute, edp=self.edp, area=self.area)
        d["levels"] = {l.name: {**asdict(l), "energy": l.energy} for l in self.levels}
        d["tensors"] = {f"{t.level}.{t.tensor}": {**asdict(t), "energy": t.energy} for t in self.tensors}
        return d

    # ---- pandas views -----------------------------------------------------------------------
    def level_table(self):
        import pandas as pd
        return pd.DataFrame([{**asdict(l), "energy": l.energy} for l in self.levels]).set_index("name")

    def tensor_table(self):
        import pandas as pd
        return pd.DataFrame([{**asdict(t), "energy": t.energy} for t in self.tensors]).set_index(["level", "tensor"])

    def action_table(self):
        """One row per (level, tensor, action): count per instance and energy."""
        import pandas as pd
        rows = []
        for t in self.tensors:
            for action, count, energy in (("read", t.reads, t.read_energy), ("fill", t.fills, t.fill_energy),
                                          ("update", t.updates, t.update_energy)):
                rows.append(dict(level=t.level, tensor=t.tensor, action=action, count=count, energy=energy))
        for l in self.levels:
            if l.leak_energy:
                rows.append(dict(level=l.name, tensor="", action="leak", count=self.cycles, energy=l.leak_energy))
            if l.kind == "compute":
                rows.append(dict(level=l.name, tensor="", action="compute", count=self.computes,
                                 energy=l.dynamic_energy))
        return pd.DataFrame(rows)
