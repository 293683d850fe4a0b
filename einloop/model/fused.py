"""evaluate_fused(workload, arch, fused_mapping) -> FusedResult: the fused model.

Each fused Einsum is an ordinary nest (model/fused_nest.py) counted by the existing model
(count_accesses, costs). Fusion adds three rules:

* an intermediate is created fresh at its home level in every shared step, so the first update of every
  word of every step's tile needs no read (its partition is the tile times the shared steps);
* occupancy: a level holds, during Einsum e's phase of a shared step, e's tiles, the intermediates
  written and not yet consumed, and every other Einsum's tile that survives between shared steps (it
  overlaps its next tile: weights, sliding windows); capacity is checked in every phase;
* the Einsums run in turn per shared tile: cycles add up, and so do energies (leakage included).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from einloop.model.accesses import NestCounts, count_accesses, plan
from einloop.model.costs import BatchCosts, costs, words_per_value
from einloop.model.fused_nest import FusedPlan, plan_fused
from einloop.model.fused_result import FusedEinsumResult, FusedResult
from einloop.model.nest import TEMPORAL, NestStructure, box_extents, build_structure, rank_extents, translations
from einloop.model.result import TensorStats
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.fused import FusedMapping
from einloop.spec.mapping import keeps
from einloop.spec.workload import Workload


@dataclass
class NestEval:
    """One fused Einsum's structure, counts (intermediates corrected), costs and surviving tiles."""

    s: NestStructure
    factors: np.ndarray
    counts: NestCounts
    costs: BatchCosts
    survives: dict[tuple[int, str], np.ndarray]   # (node, tensor) -> [B] tile kept between shared steps


@dataclass(frozen=True)
class NestShape:
    """One fused Einsum's loop structure with every loop kept (unit factors too), so a batch of
    factor rows ([B, L]) can vary any of them; ``shared`` marks the shared loops."""

    s: NestStructure
    factors: np.ndarray   # [1, L] the mapping's own factors
    shared: np.ndarray    # [L] bool


def nest_shape(nest, arch: Architecture) -> NestShape:
    """The structure of one EinsumNest: its loops level by level, shared ones first at their levels."""
    loops, flags = [], []
    for i, node in enumerate(arch.nodes):
        if isinstance(node, (Storage, Fanout)):
            for k, l in enumerate(nest.mapping.for_node(node.name).loops):
                loops.append((i, l.rank, l.spatial, l.factor))
                flags.append(k < nest.shared_loops.get(node.name, 0))
    kept = {t.name: tuple(i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)
                          and keeps(nest.mapping, n.name, t.name)) for t in nest.einsum.tensors}
    s = build_structure(nest.einsum, arch, [(i, r, a) for i, r, a, _ in loops], kept)
    return NestShape(s, np.array([[f for *_, f in loops]], np.int64).reshape(1, len(loops)),
                     np.array(flags, bool).reshape(-1))


def fresh_intermediate(nc: NestCounts, s: NestStructure, tensor: str, home: int, steps: np.ndarray) -> None:
    """An intermediate's tile at its home is new in every shared step: every keeper's partition (the
    words whose first update needs no read, first fill carries nothing) is ``steps`` times the model's."""
    for i in s.kept[tensor]:
        c = nc.counts[(i, tensor)]
        extra = c.partition * (steps - 1)
        nc.counts[(i, tensor)] = replace(c, partition=c.partition * steps, reads=c.reads - extra,
                                         fills=c.fills if i == home else c.fills - extra)


def surviving_tiles(s: NestStructure, factors: np.ndarray, shared: np.ndarray) -> dict[tuple[int, str], np.ndarray]:
    """(node, tensor) -> [B] bool: the tile stays in the level across the other Einsums' phases: it
    spans a shared loop (one tile serves every shared step) or overlaps its next tile when a shared
    loop outside it steps (inner loops wrapping)."""
    ext, pl, out = rank_extents(s, factors), plan(s), {}
    temporal = s.loop_axis == TEMPORAL
    B = factors.shape[0]
    for t in s.einsum.tensors:
        coef = pl.coef[t.name]
        for i in s.kept[t.name]:
            b = s.boundary[i]
            outer = np.array([l for l in range(b - 1, -1, -1) if temporal[l]], np.int64)
            mine = shared[outer] if len(outer) else np.zeros(0, bool)
            spans = np.any(factors[:, b:][:, shared[b:]] > 1, axis=1)
            if not mine.any():
                out[(i, t.name)] = spans
                continue
            v, bounds = translations(s, coef, ext, outer), factors[:, outer]
            w = v.copy()
            w[:, 1:] -= np.cumsum((bounds[:, :-1, None] - 1) * v[:, :-1], axis=1)
            extents = box_extents(coef, ext[b])
            overlaps = np.all(np.abs(w) < extents[:, None, :], axis=2) & (bounds > 1) & mine[None, :]
            out[(i, t.name)] = overlaps.any(axis=1) | spans
    return out


def evaluate_nest(nest, k: int, intermediates, arch: Architecture, reuse_rule: str = "2024",
                  factors: np.ndarray | None = None) -> NestEval:
    """Count fused Einsum k's nest alone (its cost does not depend on the other nests): the existing
    model, the intermediates it produces made fresh per shared step."""
    shape = nest_shape(nest, arch)
    f = shape.factors if factors is None else np.asarray(factors, np.int64)
    nc = count_accesses(shape.s, f, reuse_rule)
    steps = np.prod(f[:, shape.shared], axis=1) if shape.shared.any() else np.ones(f.shape[0], np.int64)
    for im in intermediates:
        if im.producer == k:
            fresh_intermediate(nc, shape.s, im.tensor, im.home, steps)
    survives = surviving_tiles(shape.s, f, shape.shared)
    for im in intermediates:
        if (im.home, im.tensor) in survives:
            survives[(im.home, im.tensor)] = np.zeros(f.shape[0], bool)
    return NestEval(shape.s, f, nc, costs(shape.s, nc), survives)


def evaluate_nests(fp: FusedPlan, arch: Architecture, reuse_rule: str = "2024",
                   factors: list[np.ndarray] | None = None) -> list[NestEval]:
    """Count every fused Einsum's nest with the existing model, intermediates made fresh per step.
    ``factors``: per nest a [B, L] batch over its NestShape (default: the mapping's own factors); rows
    must keep every rank's product (a re-indexed producer's tile extents are part of its structure)."""
    return [evaluate_nest(nest, k, fp.intermediates, arch, reuse_rule, None if factors is None else factors[k])
            for k, nest in enumerate(fp.nests)]


def nest_occupancy(intermediates, k: int, ev: NestEval, arch: Architecture, n: int) -> dict[int, np.ndarray]:
    """Storage node -> [B, n] words per instance fused Einsum k's tiles hold during each of the n
    phases: its own tiles in its phase, surviving ones in every phase, its intermediates while live."""
    homes = {(im.home, im.tensor): im for im in intermediates}
    B, out = ev.factors.shape[0], {}
    for i, node in enumerate(arch.nodes):
        if not isinstance(node, Storage):
            continue
        used = np.zeros((B, n))
        for (j, t), c in ev.counts.counts.items():
            if j != i:
                continue
            words = c.tile * words_per_value(ev.s, node, t)
            im = homes.get((i, t))
            if im is not None:
                live = np.array([im.producer <= e <= im.consumer for e in range(n)]) if k == im.producer \
                    else np.zeros(n, bool)
                used += np.where(live[None, :], words[:, None], 0.0)
                continue
            live = np.repeat(ev.survives[(i, t)][:, None], n, axis=1)
            live[:, k] = True
            used += np.where(live, words[:, None], 0.0)
        out[i] = used
    return out


def occupancy(fp: FusedPlan, evals: list[NestEval], arch: Architecture) -> dict[int, np.ndarray]:
    """Storage node -> [B, E] words per instance held during each Einsum's phase (see module docstring)."""
    parts = [nest_occupancy(fp.intermediates, k, ev, arch, len(evals)) for k, ev in enumerate(evals)]
    return {i: sum(p[i] for p in parts) for i in parts[0]}


def _tensor_stats(ev: NestEval, arch: Architecture) -> list[TensorStats]:
    """Per (level, tensor) counts of one fused Einsum, as evaluate() reports them (first mapping)."""
    rows = []
    for i, node in enumerate(arch.nodes):
        if not isinstance(node, Storage):
            continue
        for t in ev.s.einsum.tensors:
            c = ev.counts.counts.get((i, t.name))
            if c is None:
                continue
            r, f, u = (_num(v[0]) for v in (c.reads, c.fills, c.updates))
            rows.append(TensorStats(node.name, t.name, int(c.tile[0]), _num(c.partition[0]), r, f, u,
                                    r if t.is_output else 0, float(c.multicast[0]), int(ev.counts.instances[0, i]),
                                    *(float(ev.costs.action_energy[(i, t.name, a)][0])
                                      for a in ("read", "fill", "update"))))
    return rows


def _num(x) -> float | int:
    x = float(x)
    return int(round(x)) if abs(x - round(x)) < 1e-9 else x


def _reasons(fp: FusedPlan, evals: list[NestEval], used: dict[int, np.ndarray], arch: Architecture) -> list[str]:
    """Why the fused mapping does not fit: fanouts too small, levels over capacity in some phase."""
    out = []
    for k, ev in enumerate(evals):
        for i, node in enumerate(arch.nodes):
            if isinstance(node, Fanout):
                x, y = int(ev.counts.spatial_x[i][0]), int(ev.counts.spatial_y[i][0])
                if x > node.mesh_x or y > node.mesh_y:
                    out.append(f"{fp.nests[k].name}: fanout {node.name}: spatial loops need {x} x {y} but the mesh "
                               f"is {node.mesh_x} x {node.mesh_y}")
    for i, words in used.items():
        node = arch.nodes[i]
        for k in np.nonzero(words[0] > node.effective_size)[0]:
            out.append(f"level {node.name}: during {fp.nests[k].name} the live tiles need {_num(words[0, k])} "
                       f"words but it holds {_num(node.effective_size)}")
    return out


@dataclass
class FusedBatch:
    """Totals of a batch of fused mappings sharing one plan's structure (what a mapper compares)."""

    energy: np.ndarray             # [B] pJ
    cycles: np.ndarray             # [B] the Einsums' cycles in turn
    valid: np.ndarray              # [B] every level fits in every phase, every fanout fits
    occupancy: dict[int, np.ndarray]   # storage node -> [B, E] words per instance per phase


def evaluate_fused_batch(fp: FusedPlan, arch: Architecture, factors: list[np.ndarray], *,
                         reuse_rule: str = "2024") -> FusedBatch:
    """Energy, cycles and validity of a batch: per nest a [B, L] factor array over nest_shape(nest)."""
    evals = evaluate_nests(fp, arch, reuse_rule, factors)
    used = occupancy(fp, evals, arch)
    valid = np.all([ev.costs.valid for ev in evals], axis=0)
    for i, words in used.items():
        valid &= np.all(words <= arch.nodes[i].effective_size, axis=1)
    return FusedBatch(sum(ev.costs.energy for ev in evals), sum(ev.costs.cycles for ev in evals), valid, used)


def evaluate_fused(workload: Workload, arch: Architecture, fm: FusedMapping, *,
                   reuse_rule: str = "2024") -> FusedResult:
    """Evaluate one fused mapping. Raises SpecError for structural errors; capacity and fanout overflows
    give ``valid = False`` with the reasons."""
    fp = plan_fused(workload, arch, fm)
    evals = evaluate_nests(fp, arch, reuse_rule)
    used = occupancy(fp, evals, arch)
    reasons = _reasons(fp, evals, used, arch)
    per = []
    for nest, ev in zip(fp.nests, evals):
        macs = nest.einsum.macs
        per.append(FusedEinsumResult(nest.name, macs, macs - nest.original.macs, int(ev.costs.cycles[0]),
                                     int(ev.counts.temporal_iterations[0]), float(ev.costs.energy[0]),
                                     _tensor_stats(ev, arch)))
    return FusedResult(
        [n.name for n in fp.nests], arch.name, not reasons, reasons, sum(n.original.macs for n in fp.nests),
        sum(e.macs for e in per), sum(e.cycles for e in per), sum(e.energy for e in per), fp.shared_steps, per,
        {arch.nodes[i].name: [_num(x) for x in w[0]] for i, w in used.items()},
        {arch.nodes[i].name: (None if arch.nodes[i].size is None else _num(arch.nodes[i].effective_size))
         for i in used})
