"""Brute-force point-set simulator of fused mappings (test oracle only; no einloop imports).

Built on the ideas of tests/bruteforce.py, extended across Einsums: the shared loops are enumerated
step by step; in each step the last Einsum's iteration points come from the shared loop indices and its
own loops, and every earlier Einsum computes exactly the box of its output that its consumer's points
of that step read (a recomputed halo: overlapping boxes are computed again). Every Einsum's points carry
their loop index tuple (shared loops, then own loops, level by level), and tiles, deltas (Timeloop's
stride rule), multicast and first-read elision are then literal point sets, as in tests/bruteforce.py.

Input (plain data)
------------------
einsums  [{"name", "ranks": {rank: bound}, "tensors": [{"name", "dims": [[(rank, coef), ...], ...],
          "output": bool}]}, ...] in execution order; a tensor written by one and read by a later one
          is an intermediate
shared   [(level name, rank of the last Einsum, factor), ...] outer to inner (temporal)
nodes    outer -> inner [{"kind": "storage", "name", "size": words | None}, {"kind": "fanout", "name"},
          {"kind": "compute", "name"}]; one word = one value
nests    {einsum: {node name: {"loops": [(rank, factor) | (rank, factor, "X"|"Y")], "keep": set}}}

Output
------
{"counts": {einsum: {(level, tensor): {reads, fills, updates, utilized_capacity, partition}}},
 "macs": {einsum: points computed}, "cycles": {einsum: distinct temporal index tuples}, "occupancy": {level: [words held during each Einsum's phase]},
 "valid": bool}

Fused rules (the model's, stated literally)
------------------------------------------
* an intermediate's partition at every level keeping it is the sum over shared steps of the points
  its tiles cover in that step (it is created fresh in every step);
* during Einsum e's phase a level holds e's tiles, the intermediates written by e or earlier and read
  by e or later (once, at their outermost level), and every other Einsum's tile that spans a shared
  loop (one tile serves every step) or whose point set meets the next one across some step of a shared
  loop (it stays between the steps); each tile counted at its largest size (utilized capacity).
"""
from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from itertools import product

__all__ = ["simulate_fused", "tile_extents"]


def _strides(loops):
    """Mixed-radix weight of every loop within its rank (outer loop most significant)."""
    out = []
    for i, (rank, _) in enumerate(loops):
        s = 1
        for r, f in loops[i + 1:]:
            if r == rank:
                s *= f
        out.append(s)
    return out


def _own_loops(nest, nodes):
    """[(node index, rank, factor, spatial)] of an Einsum's own loops, level by level."""
    out = []
    for i, node in enumerate(nodes):
        for loop in nest.get(node["name"], {}).get("loops", ()):
            out.append((i, loop[0], loop[1], len(loop) > 2))
    return out


def _project(tensor, value):
    return tuple(sum(c * value[r] for r, c in dim) for dim in tensor["dims"])


def _step_ranges(einsums, shared, nests, nodes, step):
    """{einsum: {rank: (low, extent)}} of one shared step: the last Einsum from the shared indices,
    each earlier one from the box of its output that its consumer's points read."""
    last = einsums[-1]
    ranges = {}
    mine = {}
    for rank, bound in last["ranks"].items():
        loops = [(r, f) for _, r, f in shared if r == rank]
        total = 1
        for _, f in loops:
            total *= f
        tile = bound // total
        low = sum(step[k] * tile * s for k, s in zip([k for k, (_, r, _) in enumerate(shared) if r == rank],
                                                     _strides(loops)))
        mine[rank] = (low, tile)
    ranges[last["name"]] = mine
    for e in reversed(einsums[:-1]):
        out = next(t for t in e["tensors"] if t["output"])
        consumer = next(c for c in einsums[einsums.index(e) + 1:] if any(
            t["name"] == out["name"] and not t["output"] for t in c["tensors"]))
        read = next(t for t in consumer["tensors"] if t["name"] == out["name"])
        points = [_project(read, v) for _, v in _points(consumer, ranges[consumer["name"]], nests, nodes)]
        mine = {r: (0, b) for r, b in e["ranks"].items()}
        for j, dim in enumerate(out["dims"]):
            lo, hi = min(p[j] for p in points), max(p[j] for p in points)
            mine[dim[0][0]] = (lo, hi - lo + 1)
        ranges[e["name"]] = mine
    return ranges


def _points(e, ranges, nests, nodes):
    """(own loop index tuple, {rank: value}) of every iteration point of Einsum e in one shared step."""
    loops = [(r, f) for _, r, f, _ in _own_loops(nests[e["name"]], nodes)]
    strides = _strides(loops)
    for idx in product(*(range(f) for _, f in loops)):
        value = {r: lo for r, (lo, _) in ranges.items()}
        for i, (r, _) in enumerate(loops):
            value[r] += idx[i] * strides[i]
        yield idx, value


def tile_extents(einsums, shared, nests, nodes):
    """{einsum: {rank: extent}} of the first shared step (every step's boxes are equal in size):
    what each Einsum's own loops must multiply to."""
    step = (0,) * len(shared)
    return {name: {r: ext for r, (_, ext) in rs.items()}
            for name, rs in _step_ranges(einsums, shared, nests, nodes, step).items()}


def _flat(e, shared, nests, nodes):
    """Per loop of the Einsum's flattened nest: (node index, spatial, shared position or None, own position)."""
    own = _own_loops(nests[e["name"]], nodes)
    flat = []
    for i in range(len(nodes)):
        flat += [(i, False, k, None) for k, (n, _, _) in enumerate(shared) if n == nodes[i]["name"]]
        flat += [(i, sp, None, j) for j, (n, _, _, sp) in enumerate(own) if n == i]
    return flat


def _einsum_points(steps, nests, nodes, shared, e):
    """[(full loop index tuple, {tensor: coordinates})] of Einsum e over every shared step
    (``steps``: {shared index tuple: _step_ranges of that step})."""
    flat = _flat(e, shared, nests, nodes)
    out = []
    for step, all_ranges in steps.items():
        ranges = all_ranges[e["name"]]
        for own_idx, value in _points(e, ranges, nests, nodes):
            idx = tuple(step[k] if k is not None else own_idx[j] for _, _, k, j in flat)
            out.append((idx, {t["name"]: _project(t, value) for t in e["tensors"]}))
    return flat, out


def _box(bounds):
    return frozenset(product(*(range(lo, hi + 1) for lo, hi in bounds)))


def _tiles(points, boundary, tname):
    """{loop index prefix: box bounds} of one tensor's tiles at a level starting at `boundary`."""
    bounds = {}
    for idx, proj in points:
        key, cur = idx[:boundary], bounds.get(idx[:boundary])
        c = proj[tname]
        bounds[key] = [[x, x] for x in c] if cur is None else [[min(a, x), max(b, x)] for (a, b), x in zip(cur, c)]
    return {k: tuple(map(tuple, v)) for k, v in bounds.items()}


def _deltas(seq, reuse):
    """[(time key, delta points)] of one instance's tile sequence under the 2024 stride rule."""
    out, prev, rec = [], None, None
    for tkey, bounds in seq:
        tile = _box(bounds)
        if prev is None or not reuse:
            delta = tile
        else:
            tr = tuple(b[0] - p[0] for b, p in zip(bounds, prev[0]))
            if rec is None or tr == rec:
                delta, rec = tile - prev[1], tr
            else:
                delta, rec = tile, None
        out.append((tkey, delta))
        prev = (bounds, tile)
    return out


def _avg(total, n):
    q = Fraction(total, n)
    return int(q) if q.denominator == 1 else float(q)


class _Run:
    """One Einsum's points and its level structure."""

    def __init__(self, steps, shared, nests, nodes, e):
        self.e, self.nests = e, nests
        self.flat, self.points = _einsum_points(steps, nests, nodes, shared, e)
        own = _own_loops(nests[e["name"]], nodes)
        self.factors = [shared[k][2] if k is not None else own[j][2] for _, _, k, j in self.flat]
        self.n = len(self.flat)
        self.starts = {i: sum(1 for n, *_ in self.flat if n < i) for i in range(len(nodes))}
        self.spatial = [sp for _, sp, _, _ in self.flat]
        self.shared_pos = [k is not None for _, _, k, _ in self.flat]
        self.cache = {}

    def instances(self, b):
        """Instances of the level starting at loop b: product of the spatial factors above it."""
        n = 1
        for i in range(b):
            if self.spatial[i]:
                n *= self.factors[i]
        return n

    def sequences(self, b, tname):
        """{instance key: [(time key, bounds)]} sorted in odometer order."""
        if (b, tname) not in self.cache:
            sp = [i for i in range(b) if self.spatial[i]]
            tp = [i for i in range(b) if not self.spatial[i]]
            seqs = defaultdict(list)
            for prefix, bounds in _tiles(self.points, b, tname).items():
                seqs[tuple(prefix[i] for i in sp)].append((tuple(prefix[i] for i in tp), bounds, prefix))
            for s in seqs.values():
                s.sort(key=lambda x: x[0])
            self.cache[(b, tname)] = seqs
        return self.cache[(b, tname)]

    def content(self, parent_b, child_b, tname, reuse):
        """Per-parent-instance average of multicast-merged child deltas."""
        sp_c = [i for i in range(child_b) if self.spatial[i]]
        sp_p = [i for i in range(parent_b) if self.spatial[i]]
        pick = [sp_c.index(i) for i in sp_p]
        groups = defaultdict(set)
        for inst, seq in self.sequences(child_b, tname).items():
            for tkey, delta in _deltas([(t, bd) for t, bd, _ in seq], reuse):
                if delta:
                    groups[(tuple(inst[j] for j in pick), tkey)].add(delta)
        return _avg(sum(len(d) for ds in groups.values() for d in ds), self.instances(parent_b))

    def partition(self, b, tname, fresh):
        """Average over instances of the points its tiles ever cover (fresh: per shared step, summed)."""
        total = 0
        for seq in self.sequences(b, tname).values():
            union = defaultdict(set)
            for _, bd, prefix in seq:
                key = tuple(x for x, s in zip(prefix, self.shared_pos) if s) if fresh else ()
                union[key] |= _box(bd)
            total += sum(len(u) for u in union.values())
        return _avg(total, self.instances(b))

    def survives(self, b, tname):
        """The tile spans a shared loop stepping more than once, or some tile meets the next one across
        a step of a shared loop."""
        if any(s and f > 1 for s, f in zip(self.shared_pos[b:], self.factors[b:])):
            return True
        for seq in self.sequences(b, tname).values():
            for (_, b1, p1), (_, b2, p2) in zip(seq, seq[1:]):
                moved = [x != y for x, y in zip(p1, p2)]
                if any(m and s for m, s in zip(moved, self.shared_pos)) and _box(b1) & _box(b2):
                    return True
        return False


def _counts(run, nodes, intermediate_of):
    """{(level, tensor): counts} of one Einsum, as tests/bruteforce.py counts them."""
    result = {}
    keepers_of = {}
    for t in run.e["tensors"]:
        tname = t["name"]
        keepers = [(nodes[i]["name"], run.starts[i]) for i in range(len(nodes)) if nodes[i]["kind"] == "storage"
                   and tname in nests_keep(run, nodes[i]["name"])]
        keepers_of[tname] = keepers
        fresh = t["output"] and tname in intermediate_of
        for k, (name, b) in enumerate(keepers):
            child_b = keepers[k + 1][1] if k + 1 < len(keepers) else run.n
            last = k + 1 == len(keepers)
            seqs = run.sequences(b, tname)
            cap = max(len(_box(bd)) for s in seqs.values() for _, bd, _ in s)
            part = run.partition(b, tname, fresh)
            content = run.content(b, child_b, tname, not last)
            own = 0
            if k:
                own_total = sum(len(d) for s in seqs.values() for _, d in _deltas([(t_, bd) for t_, bd, _ in s], True))
                own = _avg(own_total, run.instances(b))
            if t["output"]:
                row = dict(reads=content - part, fills=own - part if k else 0, updates=content)
            else:
                row = dict(reads=content, fills=own if k else 0, updates=0)
            result[(name, tname)] = dict(row, utilized_capacity=cap, partition=part)
    return result


def nests_keep(run, level):
    """Tensors the run's Einsum keeps at a level."""
    return run.nests[run.e["name"]].get(level, {}).get("keep", set())


def simulate_fused(einsums, shared, nodes, nests):
    """Counts, MACs, cycles, per-phase occupancy and validity of one fused case (module docstring)."""
    names = [e["name"] for e in einsums]
    outputs = {next(t["name"] for t in e["tensors"] if t["output"]): k for k, e in enumerate(einsums)}
    intermediate_of = {}   # tensor -> (producer, last consumer)
    for tname, p in outputs.items():
        readers = [k for k, e in enumerate(einsums) if k > p and any(t["name"] == tname for t in e["tensors"])]
        if readers:
            intermediate_of[tname] = (p, readers[-1])
    steps = {step: _step_ranges(einsums, shared, nests, nodes, step)
             for step in product(*(range(f) for _, _, f in shared))}
    runs = [_Run(steps, shared, nests, nodes, e) for e in einsums]
    counts = {e["name"]: _counts(r, nodes, intermediate_of) for e, r in zip(einsums, runs)}
    occupancy, valid = {}, True
    for i, node in enumerate(nodes):
        if node["kind"] != "storage":
            continue
        used = [0] * len(einsums)
        for k, run in enumerate(runs):
            for (level, tname), c in counts[names[k]].items():
                if level != node["name"]:
                    continue
                home = tname in intermediate_of and _outermost(run, nodes, tname) == node["name"]
                if home:
                    p, last = intermediate_of[tname]
                    live = [p <= e <= last for e in range(len(einsums))] if k == p else [False] * len(einsums)
                else:
                    stays = run.survives(run.starts[i], tname)
                    live = [e == k or stays for e in range(len(einsums))]
                used = [u + (c["utilized_capacity"] if l else 0) for u, l in zip(used, live)]
        occupancy[node["name"]] = used
        if node.get("size") is not None and max(used) > node["size"]:
            valid = False
    macs = {e["name"]: len(r.points) for e, r in zip(einsums, runs)}
    cycles = {e["name"]: len({tuple(x for x, sp in zip(idx, r.spatial) if not sp) for idx, _ in r.points})
              for e, r in zip(einsums, runs)}
    return {"counts": counts, "macs": macs, "cycles": cycles, "occupancy": occupancy, "valid": valid}


def _outermost(run, nodes, tname):
    return next(n["name"] for n in nodes if n["kind"] == "storage" and tname in nests_keep(run, n["name"]))
