"""Timeloop's counting conventions where they differ from einloop's exact model, each on a small case
derived by hand in the test's docstring (einloop.spec.semantics). Every test evaluates the case under
both conventions, so each fails if the convention is lost or leaks into the exact model."""
import itertools
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from einloop.model.accesses import count_accesses
from einloop.model.evaluate import evaluate
from einloop.model.nest import build_structure
from einloop.model.reuse import delta_sum
from einloop.spec.semantics import EXACT, TIMELOOP
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Fanout, Storage
from einloop.spec.einsum import AffineIndex
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.workload import Einsum, Tensor


def idx(*terms):
    return AffineIndex(tuple(sorted(terms)))


def conv1d(q: int, s: int) -> Einsum:
    """O[q] += W[s] * I[q+s]."""
    return Einsum("conv1d", {"Q": q, "S": s}, (
        Tensor("W", (idx(("S", 1)),)), Tensor("I", (idx(("Q", 1), ("S", 1)),)),
        Tensor("O", (idx(("Q", 1)),), is_output=True)))


def both(einsum, nodes, maps, rule="2025"):
    arch = Architecture("case", tuple(nodes))
    mapping = Mapping(tuple(maps))
    return (evaluate(einsum, arch, mapping, reuse_rule=rule, semantics=EXACT),
            evaluate(einsum, arch, mapping, reuse_rule=rule, semantics=TIMELOOP))


def test_nested_fanouts_group_per_fanout():
    """O[q] += W[s] * I[q+s], Q=2, S=3. Buffer keeps everything; below it a column fanout (Q2 on X),
    then a PE fanout (S3 on Y); each PE's Reg keeps I, one point I[q+s].
    Exact model (one flat array): the 6 PEs need I[q+s] for q<2, s<3: 4 distinct points, one read each:
    Buffer I reads = 4. Timeloop: the column fanout's children are the two columns, each needing the
    union of its 3 PEs' points ({0,1,2} and {1,2,3}): unequal, so both are served: 2 x 3 = 6 reads.
    The Regs' fills (1 each) are the same in both."""
    nodes = [Storage("Buffer"), Fanout("Columns", 2, 1), Fanout("PEs", 1, 3), Storage("Reg"), Compute("mac")]
    maps = [NodeMapping("Buffer", (), frozenset({"W", "I", "O"})), NodeMapping("Columns", (Loop("Q", 2, "X"),)),
            NodeMapping("PEs", (Loop("S", 3, "Y"),)), NodeMapping("Reg", (), frozenset({"I"}))]
    exact, timeloop = both(conv1d(2, 3), nodes, maps)
    assert exact.tensor("Buffer", "I").reads == 4
    assert timeloop.tensor("Buffer", "I").reads == 6
    assert exact.tensor("Reg", "I").fills == timeloop.tensor("Reg", "I").fills == 1
    assert exact.semantics["name"] == "einloop" and timeloop.semantics["per_level_fanouts"]


def test_cluster_size_charges_utilized_clusters():
    """A register level of 8 instances in clusters of 4 (2 clusters), read 1 pJ per access. Spatial Q3
    uses 3 instances, each reading its W... here: O[q] += W[s]*I[q+s] with Q=3, S=1: each instance's Reg
    keeps W and reads it once per compute (1 read). Timeloop charges each access once per utilized
    cluster, min(3 utilized instances, 8 / 4 clusters) = 2: Reg energy 2 x 1 pJ, not 3 x 1 pJ; the
    per-instance counts are unchanged. Without clusters (cluster_size 1): 3 pJ."""
    def energy(cluster):
        nodes = [Storage("Buffer"), Fanout("PEs", 8, 1),
                 Storage("Reg", energy=ActionEnergy(read=1.0), cluster_size=cluster), Compute("mac")]
        maps = [NodeMapping("Buffer", (), frozenset({"W", "I", "O"})), NodeMapping("PEs", (Loop("Q", 3, "X"),)),
                NodeMapping("Reg", (), frozenset({"W"}))]
        result = evaluate(conv1d(3, 1), Architecture("case", tuple(nodes)), Mapping(tuple(maps)))
        assert result.tensor("Reg", "W").reads == 1 and result.tensor("Reg", "W").instances == 3
        return result.tensor("Reg", "W").read_energy
    assert energy(4) == 2.0
    assert energy(1) == 3.0


def test_compute_below_a_fanout_keeps_its_operand():
    """Z[m,p] += W[m] * I[p], M=6, P=4. Buffer -> fanout (M2 on X) -> mac; the Buffer's loops, outer to
    inner: P4, M3 (12 temporal steps). Exact model: every compute reads its operands; the 2 MACs share
    I[p] (multicast), so Buffer I reads = 12. Timeloop: the MACs below a fanout keep I while the inner
    M3 (which does not index I) runs: I changes 4 times, reads = 4. W changes every step and the 2 MACs
    need different W[m]: 12 x 2 = 24 in both.
    With no fanout (M6 temporal, as tl01_*_ws) Timeloop re-reads I every compute: 24 in both."""
    einsum = Einsum("mv", {"M": 6, "P": 4}, (Tensor("W", (idx(("M", 1)),)), Tensor("I", (idx(("P", 1)),)),
                                             Tensor("Z", (idx(("M", 1)), idx(("P", 1))), is_output=True)))
    nodes = [Storage("Buffer"), Fanout("MACs", 2, 1), Compute("mac")]
    maps = [NodeMapping("Buffer", (Loop("P", 4), Loop("M", 3)), frozenset({"W", "I", "Z"})),
            NodeMapping("MACs", (Loop("M", 2, "X"),))]
    exact, timeloop = both(einsum, nodes, maps)
    assert (exact.tensor("Buffer", "I").reads, timeloop.tensor("Buffer", "I").reads) == (12, 4)
    assert exact.tensor("Buffer", "W").reads == timeloop.tensor("Buffer", "W").reads == 24
    flat = [Storage("Buffer"), Compute("mac")]
    exact, timeloop = both(einsum, flat, [NodeMapping("Buffer", (Loop("P", 4), Loop("M", 6)),
                                                      frozenset({"W", "I", "Z"}))])
    assert exact.tensor("Buffer", "I").reads == timeloop.tensor("Buffer", "I").reads == 24


def test_temporal_extrapolation_hides_reuse_across_an_outer_boundary():
    """O[p] += W[r] * I[p+r], P=8, R=3 (conv1d, 2024 rule). Reg keeps I with R3 inside: a 3-point tile.
    Outer loops, inner to outer: Buf P4, Mem P2. Exact: sweep 1 costs 3 + 3 x 1 (each P step slides by 1); the Mem P
    step moves p from 3 to 4, a slide by 1 equal to the recorded stride: 1 word; sweep 2: 1 + 3 = 4.
    Total 10 = the 10 points of I. Timeloop evaluates iterations 0 and 1 of the Buf P4 loop and counts
    iteration 1 for the others, so the Mem P step starts from p = 1: a jump of 3, a stride change:
    the whole tile (3) again: 6 + 6 = 12 fills."""
    einsum = Einsum("conv1d", {"P": 8, "R": 3}, (
        Tensor("W", (idx(("R", 1)),)), Tensor("I", (idx(("P", 1), ("R", 1)),)),
        Tensor("O", (idx(("P", 1)),), is_output=True)))
    nodes = [Storage("Mem"), Storage("Buf"), Storage("Reg"), Compute("mac")]
    maps = [NodeMapping("Mem", (Loop("P", 2),), frozenset({"W", "I", "O"})),
            NodeMapping("Buf", (Loop("P", 4),), frozenset({"W", "O"})),
            NodeMapping("Reg", (Loop("R", 3),), frozenset({"I"}))]
    exact, timeloop = both(einsum, nodes, maps, rule="2024")
    assert exact.tensor("Reg", "I").fills == 10
    assert timeloop.tensor("Reg", "I").fills == 12
    assert timeloop.semantics["extrapolate"] and not exact.semantics["extrapolate"]


def test_partitions_floored_as_timeloop_prints_them():
    """O[q] += W[s] * I[q+s], Q=3, S=3: I has 5 points, the Buffer's partition. The Buffer's loop S3
    stays outside a fanout Q3; each PE's Reg keeps I[q+s], one point. Below the Buffer the 3 children
    span q<3 at one s: 3 points, so each child's exact share of the partition is 5 x 1 / 3 = 1.667;
    Timeloop prints (and computes) partitions as floored integers: 1. Fills do not change."""
    nodes = [Storage("Buffer"), Fanout("PEs", 3, 1), Storage("Reg"), Compute("mac")]
    maps = [NodeMapping("Buffer", (Loop("S", 3),), frozenset({"W", "I", "O"})),
            NodeMapping("PEs", (Loop("Q", 3, "X"),)), NodeMapping("Reg", (), frozenset({"I"}))]
    exact, timeloop = both(conv1d(3, 3), nodes, maps)
    assert exact.tensor("Buffer", "I").partition == timeloop.tensor("Buffer", "I").partition == 5
    assert abs(exact.tensor("Reg", "I").partition - 5 / 3) < 1e-12
    assert timeloop.tensor("Reg", "I").partition == 1
    assert exact.tensor("Reg", "I").fills == timeloop.tensor("Reg", "I").fills


# ---- the extrapolated closed form against a literal walk --------------------------------------
def literal_walk(extent: list[int], loops: list[tuple[int, list[int]]], rule: str, extrapolate: bool) -> int:
    """Words fetched into a box tile of ``extent`` whose origin moves with ``loops`` (inner to outer:
    bound, per-index translation), step by step under the stride rule. With ``extrapolate``, as
    Timeloop: each loop walks iterations 0 and 1 and counts iteration 1's cost for every later one
    (the walk's state stays where iteration 1 left it)."""
    state = {"prev": None, "stride": None}

    def points(origin):
        return set(itertools.product(*[range(o, o + e) for o, e in zip(origin, extent)]))

    def visit(origin) -> int:
        new = points(origin)
        if state["prev"] is None:
            state["prev"] = origin
            return len(new)
        tr = tuple(a - b for a, b in zip(origin, state["prev"]))
        old = points(state["prev"])
        state["prev"] = origin
        if rule == "2025" and not any(tr):
            return 0
        if state["stride"] is None or tr == state["stride"]:
            state["stride"] = tr
            return len(new - old)
        state["stride"] = None
        return len(new)

    def walk(level: int, origin) -> int:
        if level < 0:
            return visit(origin)
        bound, step = loops[level]
        total, last = 0, 0
        for i in range(bound):
            if extrapolate and i >= 2:
                total += last
                continue
            last = walk(level - 1, tuple(o + i * s for o, s in zip(origin, step)))
            total += last
        return total
    return walk(len(loops) - 1, tuple(0 for _ in extent))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2), st.data())
def test_extrapolated_closed_form_equals_literal_walk(dims, data):
    """reuse.delta_sum(extrapolate=True) equals the literal walk of Timeloop's extrapolation (and False
    the exact walk) on random tiles and loops, under both stride rules."""
    extent = data.draw(st.lists(st.integers(1, 4), min_size=dims, max_size=dims))
    n = data.draw(st.integers(1, 4))
    loops = [(data.draw(st.integers(1, 4)), data.draw(st.lists(st.integers(0, 3), min_size=dims, max_size=dims)))
             for _ in range(n)]
    rule = data.draw(st.sampled_from(["2024", "2025"]))
    ext = np.array([extent], np.int64)
    tr = np.array([[step for _, step in loops]], np.int64)
    bounds = np.array([[b for b, _ in loops]], np.int64)
    for extrapolate in (False, True):
        got = int(delta_sum(ext, tr, bounds, rule, extrapolate=extrapolate)[0])
        assert got == literal_walk(extent, loops, rule, extrapolate), (extrapolate, rule)


def test_exact_counts_stay_available_for_timeloop_inputs():
    """evaluate(..., semantics=EXACT) on a Timeloop-semantics architecture gives the exact counts and
    says so; the architecture's own conventions are used otherwise."""
    einsum = conv1d(2, 3)
    nodes = (Storage("Buffer"), Fanout("Columns", 2, 1), Fanout("PEs", 1, 3), Storage("Reg"), Compute("mac"))
    arch = Architecture("case", nodes, semantics=TIMELOOP)
    mapping = Mapping((NodeMapping("Buffer", (), frozenset({"W", "I", "O"})),
                       NodeMapping("Columns", (Loop("Q", 2, "X"),)), NodeMapping("PEs", (Loop("S", 3, "Y"),)),
                       NodeMapping("Reg", (), frozenset({"I"}))))
    assert evaluate(einsum, arch, mapping).tensor("Buffer", "I").reads == 6
    exact = evaluate(einsum, arch, mapping, semantics=EXACT)
    assert exact.tensor("Buffer", "I").reads == 4 and exact.semantics == EXACT.describe()
    assert replace(arch, semantics=EXACT).semantics == EXACT


def test_operand_kept_only_where_a_spatial_factor_exceeds_one():
    """One loop structure, two rows (the mapper's batches): Buffer loops P4 then M, a spatial M loop.
    Row 1: temporal M3, spatial M2: the MACs keep I across M3: I read 4 times (as above). Row 2:
    temporal M6, spatial M1: no fanout in effect, so every one of the 24 computes reads I: 24."""
    einsum = Einsum("mv", {"M": 6, "P": 4}, (Tensor("W", (idx(("M", 1)),)), Tensor("I", (idx(("P", 1)),)),
                                             Tensor("Z", (idx(("M", 1)), idx(("P", 1))), is_output=True)))
    arch = Architecture("case", (Storage("Buffer"), Fanout("MACs", 2, 1), Compute("mac")), semantics=TIMELOOP)
    s = build_structure(einsum, arch, [(0, "P", None), (0, "M", None), (1, "M", "X")],
                        {"W": (0,), "I": (0,), "Z": (0,)})
    nc = count_accesses(s, np.array([[4, 3, 2], [4, 6, 1]], np.int64))
    assert nc.counts[(0, "I")].reads.tolist() == [4, 24]
