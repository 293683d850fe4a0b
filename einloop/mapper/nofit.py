"""Why no mapping fits: the first constraint or capacity that rules every candidate out.

A search that finishes without a mapping has proven that none is valid under the constraints; the
user needs to know which limit to relax. The checks, in order: fixed factors that cannot multiply to
a rank's bound; fanouts whose limits leave no spatial choice (mesh size, fixed factors, minimum
utilization); keep/bypass limits that leave no dataplacement; then capacities: for every
dataplacement, the smallest tiles each buffer must hold (every temporal loop outside it that the
constraints let go there, the smallest spatial choice inside it: the tiles the search's own
capacity check, space.temporal_tilings, drops), and the level that overflows in
every dataplacement even so.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from einloop.mapper.constraints import Constraints, expand_dataflow, resolve_roles
from einloop.mapper.space import dataplacements, slots, spatial_tilings
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.workload import Einsum


def why_nothing_fits(einsum: Einsum, arch: Architecture, constraints: Constraints | None) -> str:
    """One line: what rules every mapping out (the first reason found, in the module's order)."""
    cons = expand_dataflow(resolve_roles(constraints or Constraints(), einsum), einsum, arch)
    return ruled_out(einsum, arch, cons) or "every candidate overflows a buffer or a mesh under the constraints"


def ruled_out(einsum: Einsum, arch: Architecture, cons: Constraints) -> str:
    """What rules every mapping out before any search (constraints resolved and expanded), or ""."""
    for check in (_fixed_factors, _spatial, _capacity):
        reason = check(einsum, arch, cons)
        if reason:
            return reason
    return ""


def _fixed_factors(einsum: Einsum, arch: Architecture, cons: Constraints) -> str:
    """A rank whose fixed factors (over all levels) do not divide its bound."""
    for r, bound in einsum.ranks.items():
        fixed = [(n.name, cons.at(n.name).factors[r]) for n in arch.nodes if r in cons.at(n.name).factors]
        product = math.prod(f for _, f in fixed)
        if fixed and bound % product:
            where = ", ".join(f"{name} {f}" for name, f in fixed)
            return (f"constraints.{fixed[-1][0]}.factors: the fixed factors of rank {r} ({where}) multiply to "
                    f"{product}, which does not divide its bound {bound}")
    return ""


def _spatial(einsum: Einsum, arch: Architecture, cons: Constraints) -> str:
    """A fanout whose limits leave no spatial choice."""
    slot_list = slots(einsum, arch, cons)
    if len(spatial_tilings(einsum, arch, cons, slot_list)):
        return ""
    for node in arch.nodes:
        if not isinstance(node, Fanout):
            continue
        c = cons.at(node.name)
        if c.min_utilization:
            loose = replace(cons, levels={**cons.levels, node.name: replace(c, min_utilization=0.0)})
            rows = spatial_tilings(einsum, arch, loose, slots(einsum, arch, loose))
            if len(rows):
                mine = [k for k, sl in enumerate(slot_list) if sl.node == arch.nodes.index(node)]
                most = int(np.prod(rows[:, mine], axis=1).max()) if mine else 1
                return (f"constraints.{node.name}.min_utilization: {c.min_utilization:g} needs "
                        f"{math.ceil(c.min_utilization * node.size - 1e-9)} of {node.size} instances, but the "
                        f"spatial loops the constraints allow use at most {most}")
        if c.factors:
            return (f"constraints.{node.name}.factors: {c.factors} do not fit the {node.mesh_x} x {node.mesh_y} "
                    f"mesh under its spatial limits")
    return "the fanouts' spatial limits leave no spatial choice"


def _capacity(einsum: Einsum, arch: Architecture, cons: Constraints) -> str:
    """The buffer that overflows in every dataplacement, even with its smallest tiles."""
    slot_list = slots(einsum, arch, cons)
    spatial = spatial_tilings(einsum, arch, cons, slot_list)
    worst = None   # per dataplacement its first overflowing level; reported: the least overflow
    for kept in dataplacements(einsum, arch, cons):
        first = _first_overflow(einsum, arch, cons, slot_list, spatial, kept)
        if first is None:
            return ""
        if worst is None or first[1] / first[2] < worst[1] / worst[2]:
            worst = first
    if worst is None:
        return "the keep and bypass limits leave no dataplacement"
    name, need, cap, tensors = worst
    return (f"level {name} holds {cap:,g} words, but the smallest tiles it must keep ({', '.join(tensors)}) "
            f"need {need:,g} words in every dataplacement the constraints allow")


def _first_overflow(einsum, arch, cons, slot_list, spatial, kept):
    """(level, words needed, capacity, tensors) of the outermost level whose smallest tiles overflow
    it in this dataplacement, for the spatial choice needing least; None if every level fits."""
    for j, node in enumerate(arch.nodes):
        if not isinstance(node, Storage) or node.size is None:
            continue
        mine = [t for t in einsum.tensors if j in kept[t.name]]
        if not mine:
            continue
        ext = {r: np.ones(max(len(spatial), 1), np.int64) for r in einsum.ranks}
        for k, sl in enumerate(slot_list):   # spatial loops inside it, fixed factors inside or at it
            if sl.node > j and sl.axis is not None and len(spatial):
                ext[sl.rank] = ext[sl.rank] * spatial[:, k]
        for i in range(j, len(arch.nodes)):   # a level's own loops span its tile
            for r, f in cons.at(arch.nodes[i].name).factors.items():
                if isinstance(arch.nodes[i], Storage):
                    ext[r] = ext[r] * f
        words = sum(_points(t, ext) * (t.bits / node.datawidth) for t in mine)
        need = float(np.min(words))
        if need > node.effective_size:
            return node.name, need, float(node.effective_size), [t.name for t in mine]
    return None


def _points(tensor, ext: dict[str, np.ndarray]) -> np.ndarray:
    """A tensor's tile (the bounding box of its indices) for rank extents ``ext``."""
    size = np.ones(len(next(iter(ext.values()))), np.int64)
    for idx in tensor.indices:
        size = size * (sum(abs(c) * (ext[r] - 1) for r, c in idx.terms) + 1)
    return size
