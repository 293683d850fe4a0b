"""evaluate(einsum, arch, mapping) -> Result: the whole model for one mapping."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from einloop.model.accesses import count_accesses
from einloop.model.costs import BatchCosts, costs
from einloop.model.nest import NestStructure, structure_of
from einloop.model.result import LevelStats, Result, TensorStats
from einloop.spec.semantics import Semantics
from einloop.spec.arch import Architecture, Compute, Fanout
from einloop.spec.mapping import Mapping, validate
from einloop.spec.workload import Einsum


def _num(x) -> float | int:
    x = float(x)
    return int(round(x)) if abs(x - round(x)) < 1e-9 else x


def evaluate(einsum: Einsum, arch: Architecture, mapping: Mapping, *, reuse_rule: str = "2025",
             semantics: Semantics | None = None) -> Result:
    """Evaluate one mapping. Raises SpecError for structural errors; capacity/fanout overflows give
    ``Result.valid = False`` with the reasons. ``semantics`` overrides the architecture's counting
    conventions (e.g. ``EXACT`` for the exact counts of a Timeloop input); the result records them."""
    if semantics is not None:
        arch = replace(arch, semantics=semantics)
    validate(mapping, einsum, arch)
    s, factors = structure_of(einsum, arch, mapping)
    nc = count_accesses(s, factors, reuse_rule)
    bc = costs(s, nc)
    cycles = int(bc.cycles[0])
    reasons = []
    tensors, levels = [], []
    for i, node in enumerate(arch.nodes):
        if isinstance(node, Fanout):
            x, y = int(nc.spatial_x[i][0]), int(nc.spatial_y[i][0])
            if x > node.mesh_x or y > node.mesh_y:
                reasons.append(f"fanout {node.name}: spatial loops need {x} x {y} but the mesh is "
                               f"{node.mesh_x} x {node.mesh_y}")
            continue
        inst = arch.instances(node.name)
        used = int(nc.instances[0, i])
        if isinstance(node, Compute):
            levels.append(LevelStats(node.name, "compute", inst, used, None, 0, int(nc.temporal_iterations[0]),
                                     float(bc.compute_energy[0]), float(bc.leak_energy.get(i, [0.0])[0]),
                                     node.area * inst))
            continue
        occ = float(bc.occupancy[i][0])
        if occ > node.effective_size:
            reasons.append(f"level {node.name}: kept tiles need {_num(occ)} words but it holds "
                           f"{_num(node.effective_size)}")
        dyn = 0.0
        for t in einsum.tensors:
            c = nc.counts.get((i, t.name))
            if c is None:
                continue
            r, f, u = (float(v[0]) for v in (c.reads, c.fills, c.updates))
            stats = TensorStats(
                node.name, t.name, int(c.tile[0]), _num(c.partition[0]), _num(r), _num(f), _num(u),
                _num(r if t.is_output else 0), float(c.multicast[0]), used,
                *(float(bc.action_energy[(i, t.name, a)][0]) for a in ("read", "fill", "update")),
                _num(c.final_updates[0]) if c.final_updates is not None else 0)
            tensors.append(stats)
            dyn += stats.energy
        levels.append(LevelStats(node.name, "storage", inst, used,
                                 None if node.size is None else _num(node.effective_size), _num(occ),
                                 int(bc.level_cycles[i][0]), dyn, float(bc.leak_energy.get(i, [0.0])[0]),
                                 node.area * inst))
    compute_cycles = int(nc.temporal_iterations[0])
    util = einsum.macs / (arch.compute_instances * cycles) if cycles else 0.0
    return Result(einsum.name, arch.name, not reasons, reasons, einsum.macs, cycles, compute_cycles, util,
                  float(bc.energy[0]), levels, tensors, reuse_rule=reuse_rule, semantics=arch.semantics.describe(),
                  notes=list(arch.notes) + unknown_tensor_notes(einsum, arch))


def unknown_tensor_notes(einsum: Einsum, arch: Architecture) -> list[str]:
    """What per-tensor settings of the architecture name no tensor of this Einsum (ignored for it: an
    architecture may serve several Einsums, so this is said, not refused)."""
    have = {t.name for t in einsum.tensors}
    return [f"{node}: per-tensor setting(s) for {', '.join(sorted(names - have))} ignored: Einsum {einsum.name} "
            f"has no such tensor (tensors: {', '.join(sorted(have))})"
            for node, names in arch.named_tensors().items() if names - have]


def evaluate_batch(s: NestStructure, factors: np.ndarray, *, reuse_rule: str = "2025",
                   optimistic: bool = False, tensors: tuple[str, ...] | None = None) -> BatchCosts:
    """Energy, cycles and validity of many mappings sharing one loop structure ([B, L] factors).
    ``optimistic`` gives lower bounds valid for every loop order (see count_accesses); ``tensors``
    limits the counts to those tensors (totals and validity then cover only them)."""
    return costs(s, count_accesses(s, factors, reuse_rule, optimistic=optimistic, tensors=tensors))
