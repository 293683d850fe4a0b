"""The fused model equals a literal point-set simulation (tests/bruteforce_fused.py) on random small
fused cases: chains of two and three Einsums, matmul and 1-D and 2-D convolution chains (strides 1 and
2, so recomputed halos), one or two shared loops per shared rank at one or two levels, random own nests, keeps, fanouts and
buffer sizes (capacity violations included). Per Einsum, level and tensor: reads, fills, updates,
tile; the output's partition; MACs (recomputed ones included); every level's occupancy in every
Einsum's phase; validity; compute cycles.

Profile: HYPOTHESIS_PROFILE=ci (the default here) runs 1,100 cases, ``thorough`` 5,000.
"""
from __future__ import annotations

import math
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import prime_factors
from einloop.model.fused import evaluate_fused
from einloop.spec.arch import Architecture, Compute, Fanout, Storage
from einloop.spec.einsum import AffineIndex
from einloop.spec.fused import FusedMapping, SharedLoop
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.workload import Einsum, Tensor, Workload

try:
    from tests.bruteforce_fused import simulate_fused
except ImportError:  # pytest's rootdir-relative import
    from bruteforce_fused import simulate_fused

PROFILES = {name: settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))
            for name, n in (("ci", 1100), ("thorough", 5000))}   # local objects: no global profile is changed
PROFILE = PROFILES.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), PROFILES["ci"])


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def chain(draw):
    """Einsums of a matmul, conv1d or conv2d chain (plain data), the shared ranks and per Einsum how its
    consumer reads them (stride, filter) or None (no halo)."""
    kind, n = draw(st.sampled_from(["matmul", "conv", "conv2d"])), draw(st.integers(2, 3))
    if kind == "conv2d":
        return draw(conv2d_chain(n))
    if kind == "matmul":
        m, widths = draw(st.sampled_from([1, 2, 3, 4, 6, 8])), [draw(st.integers(1, 3)) for _ in range(n + 1)]
        einsums = []
        for i in range(n):
            src = "A" if i == 0 else f"T{i - 1}"
            out = "Z" if i == n - 1 else f"T{i}"
            einsums.append({"name": f"e{i}", "ranks": {"m": m, "a": widths[i], "b": widths[i + 1]}, "tensors": [
                {"name": src, "dims": [[("m", 1)], [("a", 1)]], "output": False},
                {"name": f"W{i}", "dims": [[("a", 1)], [("b", 1)]], "output": False},
                {"name": out, "dims": [[("m", 1)], [("b", 1)]], "output": True}]})
        return einsums, ("m",), [None] * n
    p_last = draw(st.integers(1, 6))
    filt = [draw(st.integers(1, 3)) for _ in range(n)]
    stride = [draw(st.integers(1, 2)) for _ in range(n)]
    chans = [draw(st.integers(1, 2)) for _ in range(n + 1)]
    bounds = [0] * n
    bounds[-1] = p_last
    for i in range(n - 2, -1, -1):
        bounds[i] = stride[i + 1] * (bounds[i + 1] - 1) + filt[i + 1]
    einsums = []
    for i in range(n):
        src = "I" if i == 0 else f"T{i - 1}"
        out = "Z" if i == n - 1 else f"T{i}"
        einsums.append({"name": f"e{i}", "ranks": {"p": bounds[i], "r": filt[i], "c": chans[i], "k": chans[i + 1]},
                        "tensors": [
                            {"name": src, "dims": [[("c", 1)], [("p", stride[i]), ("r", 1)]], "output": False},
                            {"name": f"W{i}", "dims": [[("k", 1)], [("c", 1)], [("r", 1)]], "output": False},
                            {"name": out, "dims": [[("k", 1)], [("p", 1)]], "output": True}]})
    return einsums, ("p",), [{"p": (stride[i + 1], filt[i + 1])} if i + 1 < n else None for i in range(n)]


@st.composite
def conv2d_chain(draw, n):
    """2-D convolutions T[k,p,q] = I[c,p*s+r,q*s+t] W[k,c,r,t] chained; p and q both shared."""
    sizes = {"p": draw(st.integers(1, 4)), "q": draw(st.integers(1, 4))}
    filt = [(draw(st.integers(1, 2)), draw(st.integers(1, 2))) for _ in range(n)]
    stride = [draw(st.integers(1, 2)) for _ in range(n)]
    chans = [draw(st.integers(1, 2)) for _ in range(n + 1)]
    bounds = [dict(sizes) for _ in range(n)]
    for i in range(n - 2, -1, -1):
        for d, f in zip("pq", filt[i + 1]):
            bounds[i][d] = stride[i + 1] * (bounds[i + 1][d] - 1) + f
    einsums = []
    for i in range(n):
        src, out = ("I" if i == 0 else f"T{i - 1}"), ("Z" if i == n - 1 else f"T{i}")
        ranks = {"p": bounds[i]["p"], "q": bounds[i]["q"], "r": filt[i][0], "t": filt[i][1], "c": chans[i],
                 "k": chans[i + 1]}
        einsums.append({"name": f"e{i}", "ranks": ranks, "tensors": [
            {"name": src, "dims": [[("c", 1)], [("p", stride[i]), ("r", 1)], [("q", stride[i]), ("t", 1)]],
             "output": False},
            {"name": f"W{i}", "dims": [[("k", 1)], [("c", 1)], [("r", 1)], [("t", 1)]], "output": False},
            {"name": out, "dims": [[("k", 1)], [("p", 1)], [("q", 1)]], "output": True}]})
    halo = [{d: (stride[i + 1], f) for d, f in zip("pq", filt[i + 1])} if i + 1 < n else None for i in range(n)]
    return einsums, ("p", "q"), halo


@st.composite
def fused_case(draw):
    """A random fused case: chain, shared loops, levels (sizes, fanouts), own nests and keeps."""
    einsums, ranks, halo = draw(chain())
    n_levels = draw(st.integers(2, 3))
    split = 1 if n_levels == 3 and draw(st.booleans()) else 0
    outer, inner, tiles = [], [], {}
    for r in ranks:
        bound = einsums[-1]["ranks"][r]
        f1 = draw(st.sampled_from(_divisors(bound)))
        outer.append(("L0", r, f1))
        f2 = draw(st.sampled_from(_divisors(bound // f1))) if split or draw(st.booleans()) else 1
        if f2 > 1:
            (inner if split else outer).append((f"L{split}", r, f2))
        tiles[r] = bound // (f1 * f2)
    split = split if inner else 0
    shared = list(draw(st.permutations(outer))) + list(draw(st.permutations(inner)))
    extents = [None] * len(einsums)
    extents[-1] = dict(einsums[-1]["ranks"], **tiles)
    for i in range(len(einsums) - 2, -1, -1):
        extents[i] = dict(einsums[i]["ranks"])
        for r in ranks:
            within = extents[i + 1][r]
            extents[i][r] = within if halo[i] is None else halo[i][r][0] * (within - 1) + halo[i][r][1]
    nodes, slots = [], []
    for j in range(n_levels):
        size = None if j == 0 or draw(st.booleans()) else draw(st.integers(1, 60))
        nodes.append({"kind": "storage", "name": f"L{j}", "size": size})
        if j >= split:
            slots.append(len(nodes) - 1)
        if j > split and draw(st.floats(0, 1)) < 0.3:
            nodes.append({"kind": "fanout", "name": f"F{j}"})
            slots.append(len(nodes) - 1)
    nodes.append({"kind": "compute", "name": "MAC"})
    inter = {next(t["name"] for t in e["tensors"] if t["output"]) for e in einsums[:-1]}
    home = split + 1
    nests = {}
    for e, ext in zip(einsums, extents):
        per = {n["name"]: {"loops": [], "keep": set()} for n in nodes if n["kind"] != "compute"}
        touching = {r for t in e["tensors"] if t["name"] in inter for d in t["dims"] for r, _ in d}
        for r in sorted(ext):   # loops above an intermediate's home must not move it (it stays whole there)
            below = next(j for j, nd in enumerate(nodes) if nd["name"] == f"L{home}")
            mine = [j for j in slots if r not in touching or j >= below]
            for p in prime_factors(ext[r]):
                per[nodes[draw(st.sampled_from(mine))]["name"]]["loops"].append([r, p])
        for name, spec in per.items():   # merge equal ranks, random order
            merged = {}
            for r, f in spec["loops"]:
                merged[r] = merged.get(r, 1) * f
            order = draw(st.permutations(sorted(merged)))
            axis = name.startswith("F")
            spec["loops"] = [(r, merged[r], draw(st.sampled_from("XY"))) if axis else (r, merged[r]) for r in order]
        for j in range(n_levels):
            for t in e["tensors"]:
                if t["name"] in inter:
                    kept = j == home or (j > home and draw(st.booleans()))
                else:
                    kept = j == 0 or draw(st.booleans())
                if kept:
                    per[f"L{j}"]["keep"].add(t["name"])
        nests[e["name"]] = per
    return {"einsums": einsums, "shared": shared, "nodes": nodes, "nests": nests}


def to_einloop(c):
    """The plain-data case as einloop objects; every fanout as large as the largest Einsum needs."""
    einsums = tuple(Einsum(e["name"], dict(e["ranks"]), tuple(
        Tensor(t["name"], tuple(AffineIndex(tuple(sorted(d))) for d in t["dims"]), 8, t["output"])
        for t in e["tensors"])) for e in c["einsums"])
    nodes = []
    for n in c["nodes"]:
        if n["kind"] == "storage":
            nodes.append(Storage(n["name"], n["size"]))
        elif n["kind"] == "fanout":
            mesh = [max(math.prod(l[1] for l in c["nests"][e["name"]][n["name"]]["loops"] if l[2] == a)
                        for e in c["einsums"]) for a in "XY"]
            nodes.append(Fanout(n["name"], *mesh))
        else:
            nodes.append(Compute(n["name"]))
    nests = {}
    for e in c["einsums"]:
        nests[e["name"]] = Mapping(tuple(
            NodeMapping(name, tuple(Loop(l[0], l[1], l[2] if len(l) > 2 else None) for l in spec["loops"]),
                        frozenset(spec["keep"])) for name, spec in c["nests"][e["name"]].items()))
    fm = FusedMapping(tuple(e.name for e in einsums), tuple(SharedLoop(*s) for s in c["shared"]), nests)
    return Workload("case", einsums), Architecture("case", tuple(nodes)), fm


def check(c):
    """Every count the model gives equals the simulator's."""
    wl, arch, fm = to_einloop(c)
    got = evaluate_fused(wl, arch, fm)
    want = simulate_fused(c["einsums"], c["shared"], c["nodes"], c["nests"])
    for e in c["einsums"]:
        name, mine = e["name"], got.einsum(e["name"])
        outputs = {t["name"] for t in e["tensors"] if t["output"]}
        assert {(t.level, t.tensor) for t in mine.tensors} == set(want["counts"][name])
        for (level, tensor), w in want["counts"][name].items():
            t = got.tensor(name, level, tensor)
            for key in ("reads", "fills", "updates", "utilized_capacity"):
                assert getattr(t, key) == w[key], (name, level, tensor, key, getattr(t, key), w[key])
            if tensor in outputs:
                assert t.partition == w["partition"], (name, level, tensor, "partition", t.partition, w["partition"])
        assert mine.macs == want["macs"][name], (name, mine.macs, want["macs"][name])
        assert mine.compute_cycles == want["cycles"][name]
    assert got.occupancy == want["occupancy"], (got.occupancy, want["occupancy"])
    assert got.valid == want["valid"], (got.reasons, want["occupancy"])


@PROFILE
@given(fused_case())
def test_fused_model_equals_bruteforce(c):
    check(c)
