"""Brute-force point-set simulator of Timeloop's nest-analysis semantics.

Test oracle only: deliberately literal and slow.  Every tile is materialised as
a Python set of integer points, every time step of every instance is visited,
and multicast is decided by comparing point sets.  No einloop imports.

Input (plain data)
------------------
ranks    {rank: bound}
tensors  [{"name": str, "dims": [[(rank, coef), ...], ...], "output": bool}, ...]
         (exactly one tensor has output=True; it is the read-write tensor)
nodes    outer -> inner list of
           {"kind": "storage", "name": str, "loops": [(rank, factor), ...], "keep": set[str]}
               temporal loops, listed outer -> inner
           {"kind": "fanout", "name": str, "loops": [(rank, factor, "X" | "Y"), ...],
            "unshared": set[str]}
               spatial loops; "unshared" (optional): tensors this fanout neither
               multicasts nor reduces (each child instance is served separately)
           {"kind": "compute", "name": str}           (last node, exactly one)
rule     "2024": Timeloop before the 2025-01 translation fix (zero translations
                 are recorded as a stride like any other translation)
         "2025": zero translations neither subtract-with-record nor clear the
                 recorded stride (they are simply "stationary").

Output
------
{(storage name, tensor name): {"reads", "fills", "updates",
                               "utilized_capacity", "partition", "final_updates"}}
for every kept (level, tensor) pair; counts are per instance of the level,
averaged over its instances (int when the average is integral, else float).

Semantics (see /work/shared/reference/timeloop-semantics.md, sections 1-5)
--------------------------------------------------------------------------
* The flattened loop list is every node's loops in node order.  Storage level
  L "starts" at its first loop (its boundary b_L = number of loops before it).
* An instance of L is one combination of the spatial-loop indices before b_L.
  A time step of L is one combination of the temporal-loop indices before b_L,
  visited in odometer order (outermost loop slowest).
* The tile of L for tensor T at a given (instance, time step) is the
  axis-aligned hyper-rectangle (per tensor dim: every integer between the min
  and the max of sum(coef * rank)) spanned by the iteration points whose loop
  indices before b_L are fixed to that instance/time step.
* Deltas along the time sequence of one instance use the stride rule
  (`_delta_sequence`).  Compute has no temporal reuse: each compute instance
  needs its single operand point at every time step.
* A parent level reads, per parent instance and per time step, the union of
  *distinct* child deltas: children whose deltas are exactly the same point
  set are served once (multicast / spatial reduction); partial overlaps are
  not merged.  Children that differ in the index of a spatial loop of a fanout
  listing the tensor as "unshared" are never merged.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from itertools import product

__all__ = ["simulate"]


# ----------------------------------------------------------------------------------------
# Input handling
# ----------------------------------------------------------------------------------------

def _flatten(ranks, tensors, nodes):
    """Return (loops, storages, compute_name).

    loops    : list of (rank, factor, is_spatial), outer -> inner
    storages : list of (name, boundary, keep-frozenset), outer -> inner
    """
    if not nodes or nodes[-1].get("kind") != "compute":
        raise ValueError("the last node must be the compute node")
    loops = []
    storages = []
    for node in nodes[:-1]:
        kind = node["kind"]
        if kind == "storage":
            storages.append((node["name"], len(loops), frozenset(node.get("keep", ()))))
            for rank, factor in node.get("loops", ()):
                loops.append((rank, int(factor), False))
        elif kind == "fanout":
            for rank, factor, axis in node.get("loops", ()):
                if axis not in ("X", "Y"):
                    raise ValueError(f"bad spatial axis {axis!r}")
                loops.append((rank, int(factor), True))
        else:
            raise ValueError(f"unexpected node kind {kind!r} before the compute node")
    if not storages:
        raise ValueError("need at least one storage level")
    names = [s[0] for s in storages]
    if len(set(names)) != len(names):
        raise ValueError("storage names must be unique")

    for rank, _, _ in loops:
        if rank not in ranks:
            raise ValueError(f"loop over unknown rank {rank!r}")
    for rank, bound in ranks.items():
        prod_f = 1
        for r, f, _ in loops:
            if r == rank:
                prod_f *= f
        if prod_f != bound:
            raise ValueError(f"factors of rank {rank} multiply to {prod_f}, bound is {bound}")

    outputs = [t["name"] for t in tensors if t.get("output")]
    if len(outputs) != 1:
        raise ValueError("exactly one output tensor is required")
    for t in tensors:
        if not any(t["name"] in keep for _, _, keep in storages):
            raise ValueError(f"tensor {t['name']} is bypassed at every level")
    return loops, storages, nodes[-1].get("name", "compute")


def _unshared(nodes):
    """Per flattened loop (same order as _flatten's): the tensors its fanout does not share."""
    out = []
    for node in nodes[:-1]:
        if node["kind"] == "storage":
            out += [frozenset()] * len(node.get("loops", ()))
        else:
            out += [frozenset(node.get("unshared", ()))] * len(node.get("loops", ()))
    return out


def _iteration_points(ranks, loops):
    """Yield (index tuple, {rank: value}) for every point, in odometer order.

    Rank value = mixed-radix number of that rank's loop indices, outer loop most
    significant: value = sum(idx_i * product of factors of the inner loops of
    the same rank).
    """
    strides = []
    for i, (rank, _, _) in enumerate(loops):
        s = 1
        for r, f, _ in loops[i + 1:]:
            if r == rank:
                s *= f
        strides.append(s)
    for idx in product(*(range(f) for _, f, _ in loops)):
        value = {r: 0 for r in ranks}
        for i, (rank, _, _) in enumerate(loops):
            value[rank] += idx[i] * strides[i]
        yield idx, value


def _project(tensor, value):
    return tuple(sum(coef * value[rank] for rank, coef in dim) for dim in tensor["dims"])


# ----------------------------------------------------------------------------------------
# Tiles
# ----------------------------------------------------------------------------------------

_BOX_CACHE: dict = {}


def _box_points(bounds):
    """All integer points of the hyper-rectangle ((lo, hi), ...) as a frozenset."""
    pts = _BOX_CACHE.get(bounds)
    if pts is None:
        pts = frozenset(product(*(range(lo, hi + 1) for lo, hi in bounds)))
        if len(_BOX_CACHE) > 200_000:
            _BOX_CACHE.clear()
        _BOX_CACHE[bounds] = pts
    return pts


def _tiles(points, boundary, tname):
    """{loop-index prefix of length `boundary`: AAHR bounds of tensor tname}.

    The bounds are the per-dim (min, max) over all iteration points that share
    the prefix, i.e. over the box spanned by the loops from `boundary` inward.
    """
    bounds = {}
    for idx, proj in points:
        key = idx[:boundary]
        coords = proj[tname]
        cur = bounds.get(key)
        if cur is None:
            bounds[key] = [[c, c] for c in coords]
        else:
            for d, c in enumerate(coords):
                if c < cur[d][0]:
                    cur[d][0] = c
                if c > cur[d][1]:
                    cur[d][1] = c
    return {k: tuple((lo, hi) for lo, hi in v) for k, v in bounds.items()}


def _split(prefix, spatial_pos, temporal_pos):
    return tuple(prefix[i] for i in spatial_pos), tuple(prefix[i] for i in temporal_pos)


def _delta_sequence(seq, rule, temporal_reuse=True):
    """seq: [(time key, bounds)] of one instance, sorted in odometer order.

    Returns [(time key, delta frozenset)].
    """
    out = []
    prev_bounds = None
    prev_tile = None
    rec = None  # recorded stride (None = nothing recorded)
    for tkey, bounds in seq:
        tile = _box_points(bounds)
        if prev_tile is None or not temporal_reuse:
            delta = tile
        else:
            tr = tuple(b[0] - p[0] for b, p in zip(bounds, prev_bounds))
            if rule == "2025" and all(x == 0 for x in tr):
                delta = tile - prev_tile  # stationary: subtract, do not record
            elif rec is None:
                delta = tile - prev_tile
                rec = tr
            elif tr == rec:
                delta = tile - prev_tile
            else:
                delta = tile  # stride change: no reuse
                rec = None
        out.append((tkey, delta))
        prev_bounds, prev_tile = bounds, tile
    return out


# ----------------------------------------------------------------------------------------
# Main entry point
# ----------------------------------------------------------------------------------------

def _avg(total, n):
    q = Fraction(total, n)
    return int(q) if q.denominator == 1 else float(q)


def simulate(ranks, tensors, nodes, rule="2024"):
    if rule not in ("2024", "2025"):
        raise ValueError("rule must be '2024' or '2025'")
    loops, storages, _ = _flatten(ranks, tensors, nodes)
    unshared = _unshared(nodes)
    n_loops = len(loops)

    # Every iteration point once: (loop index tuple, {tensor: projected point}).
    points = [
        (idx, {t["name"]: _project(t, value) for t in tensors})
        for idx, value in _iteration_points(ranks, loops)
    ]

    def positions(boundary):
        sp = [i for i in range(boundary) if loops[i][2]]
        tp = [i for i in range(boundary) if not loops[i][2]]
        return sp, tp

    def n_instances(boundary):
        n = 1
        for i in range(boundary):
            if loops[i][2]:
                n *= loops[i][1]
        return n

    seq_cache = {}

    def sequences(boundary, tname):
        """{instance key: [(time key, bounds)] in odometer order} for the tiles
        of the level starting at `boundary` (boundary == n_loops: compute)."""
        if (boundary, tname) in seq_cache:
            return seq_cache[(boundary, tname)]
        sp, tp = positions(boundary)
        seqs = defaultdict(list)
        for prefix, bounds in _tiles(points, boundary, tname).items():
            inst, tkey = _split(prefix, sp, tp)
            seqs[inst].append((tkey, bounds))
        for seq in seqs.values():
            seq.sort(key=lambda e: e[0])
        seq_cache[(boundary, tname)] = seqs
        return seqs

    def child_deltas(boundary, tname, is_compute=False):
        """{instance key: [(time key, delta)]} of the child starting at boundary (compute: no reuse).

        A storage level with no loops inside has the same boundary as compute, hence the flag."""
        return {
            inst: _delta_sequence(seq, rule, temporal_reuse=not is_compute)
            for inst, seq in sequences(boundary, tname).items()
        }

    def parent_content(parent_b, deltas, child_b, tname):
        """Per-parent-instance averages of multicast-merged child deltas, and of the distinct points
        they carry (an output's final updates: each point's last update carries its final value)."""
        child_sp, _ = positions(child_b)
        parent_sp, _ = positions(parent_b)
        # parent instance key = child instance indices at the parent's spatial positions
        pick = [child_sp.index(i) for i in parent_sp]
        private = [k for k, i in enumerate(child_sp) if i >= parent_b and tname in unshared[i]]
        groups = defaultdict(set)  # (parent inst, unshared child indices, time key) -> distinct deltas
        for inst, seq in deltas.items():
            pinst = tuple(inst[j] for j in pick)
            own = tuple(inst[k] for k in private)
            for tkey, delta in seq:
                if delta:
                    groups[(pinst, own, tkey)].add(delta)
        total = sum(len(d) for ds in groups.values() for d in ds)
        touched = defaultdict(set)   # parent instance -> every point any merged delta carried
        for (pinst, _, _), ds in groups.items():
            for d in ds:
                touched[pinst] |= d
        distinct = sum(len(pts) for pts in touched.values())
        return _avg(total, n_instances(parent_b)), _avg(distinct, n_instances(parent_b))

    result = {}
    for t in tensors:
        tname = t["name"]
        # keepers of T, outer -> inner: (name, boundary)
        keepers = [(name, b) for name, b, keep in storages if tname in keep]
        for k, (name, b) in enumerate(keepers):
            child_b = keepers[k + 1][1] if k + 1 < len(keepers) else n_loops
            outermost = k == 0

            seqs = sequences(b, tname)
            util_cap = max(len(_box_points(bd)) for seq in seqs.values() for _, bd in seq)
            touched_total = 0
            for seq in seqs.values():
                union = set()
                for _, bd in seq:
                    union |= _box_points(bd)
                touched_total += len(union)
            partition = _avg(touched_total, len(seqs))
            assert len(seqs) == n_instances(b)

            content, distinct = parent_content(b, child_deltas(child_b, tname, k + 1 == len(keepers)), child_b,
                                               tname)
            if outermost:
                own = 0
            else:
                own_total = sum(len(d) for seq in child_deltas(b, tname).values() for _, d in seq)
                own = _avg(own_total, n_instances(b))

            if t.get("output"):
                updates = content
                reads = content - partition
                fills = 0 if outermost else own - partition
            else:
                updates = 0
                reads = content
                fills = 0 if outermost else own
            result[(name, tname)] = {
                "reads": reads,
                "fills": fills,
                "updates": updates,
                "utilized_capacity": util_cap,
                "partition": partition,
                "final_updates": distinct if t.get("output") else 0,
            }
    return result
