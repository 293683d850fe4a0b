"""The mapper's optimum equals brute-force enumeration of the whole mapspace on small problems.

The brute force here shares nothing with the mapper but the model: every dataplacement, every
factorization of every rank over every loop slot, every permutation of every level's loops (unit
factors included), each evaluated and checked for capacity and mesh overflow by the model.
"""
import itertools
import math
import random

import numpy as np
import pytest

from conftest import cases
from einloop.mapper.search import map_einsum
from einloop.model.evaluate import evaluate_batch
from einloop.model.nest import build_structure
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Fanout, Storage
from einloop.spec.workload import Einsum


def ordered_factorizations(n, slots):
    if slots == 1:
        return [(n,)]
    return [(d,) + rest for d in range(1, n + 1) if n % d == 0 for rest in ordered_factorizations(n // d, slots - 1)]


def brute_force(einsum, arch, objective="energy", ties_by_energy=False):
    """The lowest objective over the whole mapspace; with ``ties_by_energy``, (it, the lowest energy
    among the mappings reaching it)."""
    ranks = list(einsum.ranks)
    storages = [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]
    fan = [(i, ax) for i, n in enumerate(arch.nodes) if isinstance(n, Fanout)
           for ax, size in (("X", n.mesh_x), ("Y", n.mesh_y)) if size > 1]
    slot_nodes = [(i, None) for i in storages] + fan
    per_rank = [ordered_factorizations(einsum.ranks[r], len(slot_nodes)) for r in ranks]
    combos = np.array([sum(c, ()) for c in itertools.product(*per_rank)], np.int64)   # [K, R*slots]
    tensors = [t.name for t in einsum.tensors]
    best = (math.inf, math.inf) if ties_by_energy else math.inf
    keep_choices = itertools.product(*[[True] if i == storages[0] else [False, True]
                                       for i in storages for _ in tensors])
    for keep in keep_choices:
        flags = iter(keep)
        kept = {t: [] for t in tensors}
        for i in storages:
            for t in tensors:
                if next(flags):
                    kept[t].append(i)
        kept = {t: tuple(v) for t, v in kept.items()}
        looping = [r for r in ranks if einsum.ranks[r] > 1]   # a rank of bound 1 never loops
        for perms in itertools.product(*[itertools.permutations(looping) for _ in storages]):
            loops, cols = [], []
            order = dict(zip(storages, perms))
            for i, node in enumerate(arch.nodes):
                for r in (order.get(i, ()) if isinstance(node, Storage) else ()):
                    loops.append((i, r, None))
                    cols.append(ranks.index(r) * len(slot_nodes) + slot_nodes.index((i, None)))
                for (j, ax) in fan:
                    if j == i:
                        for r in looping:
                            loops.append((i, r, ax))
                            cols.append(ranks.index(r) * len(slot_nodes) + slot_nodes.index((i, ax)))
            s = build_structure(einsum, arch, loops, kept)
            c = evaluate_batch(s, combos[:, cols])
            value = {"energy": c.energy, "cycles": c.cycles, "edp": c.energy * c.cycles}[objective]
            value = np.where(c.valid, value, np.inf)
            j = np.lexsort((c.energy, value))[0]
            pair = (float(value[j]), float(c.energy[j]))
            best = min(best, pair) if ties_by_energy else min(best, pair[0])
    return best


def level_energy(rng: random.Random) -> ActionEnergy:
    """Random read, write and update energy per word and a leakage for one buffer level."""
    return ActionEnergy(*(round(rng.uniform(0.1, 5), 2) for _ in range(3)), round(rng.uniform(0, 0.01), 4))


def random_problem(rng: random.Random):
    kind = rng.choice(["matmul", "matmul", "conv1d"])
    if kind == "matmul":
        ranks = {r: rng.choice([1, 2, 3, 4, 6]) for r in "mnk"}
        e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", ranks, bits={"Z": rng.choice([8, 16])})
    else:
        ranks = {"k": rng.choice([1, 2]), "c": rng.choice([1, 2]), "p": rng.choice([2, 3, 4]), "r": rng.choice([1, 3])}
        stride = rng.choice([1, 2])
        e = Einsum.parse(f"O[k,p] += I[c,p*{stride}+r] * W[k,c,r]", ranks)
    nodes = [Storage("DRAM", None, 8, rng.choice([1, 2, 4]), energy=ActionEnergy(60, 60, 60)),
             Storage("Buffer", rng.choice([8, 16, 24, 48]), 8, rng.choice([1, 2]), rng.choice([None, 1.0, 2.0]),
                     energy=level_energy(rng))]
    if kind == "matmul" and rng.random() < 0.5:   # three levels: keep the brute force affordable
        e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {r: rng.choice([1, 2, 3, 4]) for r in "mnk"})
        nodes.append(Fanout("PEs", *rng.choice([(2, 1), (1, 2), (3, 1)])))
        nodes.append(Storage("Reg", rng.choice([2, 4]), 8, 1, energy=level_energy(rng)))
    nodes.append(Compute("MAC", 0.5))
    return e, Architecture("small", tuple(nodes))


@pytest.mark.parametrize("seed", range(cases(24, 50)))   # every objective six times in ci
def test_mapper_finds_the_brute_force_optimum(seed):
    rng = random.Random(seed)
    einsum, arch = random_problem(rng)
    objective = ["energy", "energy", "cycles", "edp"][seed % 4]
    found = map_einsum(einsum, arch, objective=objective, workers=1, chunk=64)
    expected = brute_force(einsum, arch, objective)
    assert found.stats.proven_optimal
    assert found.result is not None and found.result.valid
    value = {"energy": found.result.energy, "cycles": found.result.cycles,
             "edp": found.result.energy * found.result.cycles}[objective]
    assert value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", [s for s in range(50) if s % 4 == 2][:8])
def test_cycles_ties_go_to_the_lowest_energy(seed):
    """The cycles objective (two searches: the fewest cycles, then the lowest energy under that cap)
    returns brute force's fewest cycles and, among the mappings with them, its lowest energy."""
    einsum, arch = random_problem(random.Random(seed))
    found = map_einsum(einsum, arch, objective="cycles", workers=1, chunk=64)
    cycles, energy = brute_force(einsum, arch, "cycles", ties_by_energy=True)
    assert found.stats.proven_optimal
    assert found.result.cycles == cycles
    assert found.result.energy == pytest.approx(energy, rel=1e-9)


def test_mapper_is_deterministic_and_uses_both_cores_consistently():
    einsum, arch = random_problem(random.Random(7))
    one = map_einsum(einsum, arch, workers=1, chunk=16)
    two = map_einsum(einsum, arch, workers=2, chunk=16)
    assert one.mapping == two.mapping and one.result.energy == two.result.energy


def lowest_over_orders(einsum, arch, sl, kept, T):
    """Per complete tiling, the lowest energy over every permutation of every level's loops (a rank of
    bound 1 never loops, as in brute_force)."""
    storages = [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]
    per_level = [[k for k, s in enumerate(sl) if s.node == i and s.axis is None and einsum.ranks[s.rank] > 1]
                 for i in storages]
    spatial_cols = [k for k, s in enumerate(sl) if s.axis is not None and einsum.ranks[s.rank] > 1]
    lowest = np.full(len(T), np.inf)
    for perms in itertools.product(*[itertools.permutations(cols) for cols in per_level]):
        cols = [k for level in perms for k in level]
        cols = cols[:len(perms[0]) + len(perms[1])] + spatial_cols + cols[len(perms[0]) + len(perms[1]):] \
            if len(perms) > 2 else cols + spatial_cols
        s = build_structure(einsum, arch, [(sl[k].node, sl[k].rank, sl[k].axis) for k in cols], kept)
        lowest = np.minimum(lowest, evaluate_batch(s, T[:, cols]).energy)
    return lowest


def deep_problem(rng: random.Random):
    """A matmul or 1-D conv on DRAM, a buffer, a PE array and two small registers per PE (like the
    Eyeriss-like example's scratchpads): hops into the inner register are undecided for longest."""
    if rng.random() < 0.5:
        e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {r: rng.choice([2, 3, 4, 6]) for r in "mnk"})
    else:
        e = Einsum.parse("O[k,p] += I[c,p+r] * W[k,c,r]", {"k": rng.choice([2, 4]), "c": rng.choice([1, 2]),
                                                         "p": rng.choice([2, 4]), "r": rng.choice([1, 3])})

    nodes = (Storage("DRAM", None, 8, 1, energy=ActionEnergy(60, 60, 60)),
             Storage("Buffer", rng.choice([16, 32, 64]), 8, 1, energy=level_energy(rng)),
             Fanout("PEs", *rng.choice([(2, 1), (2, 2), (3, 1)])),
             Storage("RegA", rng.choice([2, 4, 8]), 8, 1, energy=level_energy(rng)),
             Storage("RegB", rng.choice([1, 2, 4]), 8, 1, energy=level_energy(rng)),
             Compute("MAC", 0.5))
    return e, Architecture("deep", nodes)


def window_problem(rng: random.Random):
    """A 1-D conv whose input (sliding windows) can be kept in a register per PE under a buffer: with
    only DRAM complete, the hop into the register is undecided (completion.window_fetches)."""
    k, c = rng.choice([(1, 2), (2, 1), (1, 1)])   # at most three looping ranks: brute-force orders stay cheap
    e = Einsum.parse(f"O[k,p] += I[c,p*{rng.choice([1, 2])}+r] * W[k,c,r]",
                     {"k": k, "c": c, "p": rng.choice([2, 3, 4, 6]), "r": rng.choice([2, 3])})

    nodes = (Storage("DRAM", None, 8, 1, energy=ActionEnergy(60, 60, 60)),
             Storage("Buffer", rng.choice([16, 32, 64]), 8, 1, energy=level_energy(rng)),
             Fanout("PEs", *rng.choice([(2, 1), (1, 2)])),
             Storage("Reg", rng.choice([2, 3, 4, 6, 8]), 8, 1, energy=level_energy(rng)),
             Compute("MAC", 0.5))
    return e, Architecture("window", nodes)


def sweep_problem(rng: random.Random):
    """A 1-D conv whose input (sliding windows) goes through a register of one to three words per PE:
    whatever the order above, the register refetches the window as the loops above sweep it
    (completion._window_sweeps)."""
    e = Einsum.parse(f"O[k,p] += I[p*{rng.choice([1, 2])}+r] * W[k,r]",
                     {"k": rng.choice([2, 3]), "p": rng.choice([4, 6, 8]), "r": rng.choice([2, 3])})
    nodes = (Storage("DRAM", None, 8, 1, energy=ActionEnergy(60, 60, 60)),
             Storage("Buffer", rng.choice([16, 32, 64]), 8, 1, energy=level_energy(rng)),
             Fanout("PEs", *rng.choice([(2, 1), (1, 2)])),
             Storage("Reg", rng.choice([1, 2, 3]), 8, 1, energy=level_energy(rng)),
             Compute("MAC", 0.5))
    return e, Architecture("sweep", nodes)


def bound_context(seed, kind="random"):
    from einloop.mapper import search
    from einloop.mapper.constraints import Constraints
    from einloop.mapper.space import dataplacements, slots, spatial_tilings

    problem = {"random": random_problem, "deep": deep_problem, "window": window_problem, "sweep": sweep_problem}[kind]
    einsum, arch = problem(random.Random(seed))
    cons = Constraints()
    sl = slots(einsum, arch, cons)
    ctx = search._Context(einsum, arch, cons, sl, dataplacements(einsum, arch, cons), "energy", "2024", 64)
    return ctx, cons, spatial_tilings(einsum, arch, cons, sl)


@pytest.mark.parametrize("seed", range(12))
def test_tiling_bounds_hold_for_every_loop_order(seed):
    """The bound that orders and prunes complete tilings never exceeds the energy of any loop order."""
    from einloop.mapper import search
    from einloop.mapper.space import temporal_tilings

    ctx, cons, spatial = bound_context(1000 + seed)
    checked = 0
    for dp, kept in enumerate(ctx.dps):
        T = temporal_tilings(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial)[:cases(15, 30)]
        if not len(T):
            continue
        bound = search._tiling_bounds(ctx, dp, T, joint=True)
        lowest = lowest_over_orders(ctx.einsum, ctx.arch, ctx.slots, kept, T)
        assert np.all(bound <= lowest * (1 + 1e-9)), (dp, bound - lowest)
        checked += len(T)
    assert checked > 0


@pytest.mark.parametrize("seed", range(12))
def test_partial_tiling_bounds_hold_for_every_completion(seed):
    """A partial tiling (levels below L complete, L's first slots chosen, the rest left) is pruned by a
    bound that must not exceed the energy of any complete tiling extending it, in any loop order. A
    bound that charges the rest of every rank in the outermost level breaks this: a rank that does not
    index a tensor saves more inside L than above it."""
    from einloop.mapper import search
    from einloop.mapper.space import temporal_tilings

    ctx, cons, spatial = bound_context(3000 + seed)
    temporal = [k for k, s in enumerate(ctx.slots) if s.axis is None and s.node != ctx.storages[0]]
    checked = 0
    for dp, kept in enumerate(ctx.dps):
        T = temporal_tilings(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial)[:cases(20, 40)]
        if not len(T):
            continue
        lowest = lowest_over_orders(ctx.einsum, ctx.arch, ctx.slots, kept, T)
        for k in temporal:   # the partial tiling right after slot k was grown
            level = ctx.slots[k].node
            partial = T.copy()
            for j, s in enumerate(ctx.slots):
                if s.axis is None and (s.node < level or (s.node == level and j > k)):
                    partial[:, j] = 1
            bound = search._tiling_bounds(ctx, dp, search._complete(ctx, partial), level=level)
            assert np.all(bound <= lowest * (1 + 1e-9)), (dp, k, np.max(bound / lowest))
            checked += len(T)
    assert checked > 0


@pytest.mark.parametrize("seed,kind", [(s, "random") for s in range(4)] + [(s, "window") for s in range(4)] +
                         [(0, "deep")])
def test_order_tables_match_the_model_order_by_order(seed, kind):
    """orders.py prices each loop order of a level in closed form (a step term per loop, depending on
    the set of loops inside it). Every entry of every level's table must equal what the model computes
    under "slide" for the reference orders with that one level's order changed."""
    from einloop.mapper import orders as O
    from einloop.mapper.local import cached_structure
    from einloop.mapper.space import level_orders, temporal_tilings
    from einloop.model.reuse import BOUND_RULE

    ctx, cons, spatial = bound_context(5000 + seed, kind)
    compute = len(ctx.arch.nodes) - 1
    checked = 0
    for dp, kept in list(enumerate(ctx.dps))[::3]:
        T = temporal_tilings(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial)[:cases(20, 40)]
        if not len(T):
            continue
        hops = O.links(ctx, dp)
        ob = O.order_bounds(ctx, dp, T, np.zeros(len(T)), hops)
        ref = O.reference_orders(ctx)
        for j, (i, table) in enumerate(zip(ctx.storages, ob.tables)):
            affected = [h for h in hops if h[1] > i and h[1] != compute]
            tensors = tuple({t for _, _, t in affected})
            for g, menu in enumerate(table.menus):
                rows = np.nonzero(table.group == g)[0]
                if len(menu) < 2 or not affected:
                    continue
                energy = []
                for order in menu:
                    s, cols = cached_structure(ctx, dp, ref[:j] + (order,) + ref[j + 1:])
                    energy.append(O.link_energy(evaluate_batch(s, T[rows][:, cols], reuse_rule=BOUND_RULE,
                                                               tensors=tensors), affected))
                s, cols = cached_structure(ctx, dp, ref)
                at_ref = O.link_energy(evaluate_batch(s, T[rows][:, cols], reuse_rule=BOUND_RULE, tensors=tensors),
                                       affected)
                expected = np.stack(energy, axis=1) - at_ref[:, None]
                assert table.deltas[g] == pytest.approx(expected, rel=1e-9, abs=1e-6), (dp, i, menu)
                checked += expected.size
    assert checked > 0


@pytest.mark.parametrize("seed", range(6))
def test_per_level_order_minimum_is_the_minimum_over_all_orders(seed):
    """orders.py: under "slide" dynamic energy is a sum of per-level terms, so the sum of per-level
    minima is the minimum over every combination of orders. It never exceeds any order's energy, and
    without sliding windows (matmuls) it equals the lowest dynamic energy over all orders."""
    from einloop.mapper import search
    from einloop.mapper.constraints import Constraints
    from einloop.mapper.orders import order_bounds
    from einloop.mapper.space import dataplacements, slots, spatial_tilings, temporal_tilings

    rng = random.Random(2000 + seed)
    einsum, arch = random_problem(rng)
    if seed % 2 == 0:   # a matmul over three levels: orders interact across levels
        einsum = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {r: rng.choice([2, 3, 4]) for r in "mnk"})
    cons = Constraints()
    sl = slots(einsum, arch, cons)
    ctx = search._Context(einsum, arch, cons, sl, dataplacements(einsum, arch, cons), "energy", "2024", 64)
    spatial = spatial_tilings(einsum, arch, cons, sl)
    storages = [i for i, n in enumerate(arch.nodes) if isinstance(n, Storage)]
    halo = any(len(idx.terms) > 1 for t in einsum.tensors for idx in t.indices)
    per_level = [[k for k, s in enumerate(sl) if s.node == i and s.axis is None] for i in storages]
    spatial_cols = [k for k, s in enumerate(sl) if s.axis is not None]
    checked = 0
    for dp, kept in list(enumerate(ctx.dps))[::3]:
        T = temporal_tilings(einsum, arch, cons, sl, kept, spatial)[:20]
        if not len(T):
            continue
        (bs, bc), _ = search._bound_structures_for(ctx, dp, tuple(range(len(sl))))
        optimistic = evaluate_batch(bs, T[:, bc], optimistic=True)
        ob = order_bounds(ctx, dp, T, optimistic.energy - sum(optimistic.tensor_energy.values()))
        lowest, lowest_dynamic = np.full(len(T), np.inf), np.full(len(T), np.inf)
        for perms in itertools.product(*[itertools.permutations(cols) for cols in per_level]):
            cols = [k for level in perms for k in level]
            cols = cols[:len(perms[0]) + len(perms[1])] + spatial_cols + cols[len(perms[0]) + len(perms[1]):] \
                if len(perms) > 2 else cols + spatial_cols
            s = build_structure(einsum, arch, [(sl[k].node, sl[k].rank, sl[k].axis) for k in cols], kept)
            c = evaluate_batch(s, T[:, cols])
            lowest = np.minimum(lowest, c.energy)
            lowest_dynamic = np.minimum(lowest_dynamic, sum(c.tensor_energy.values()))
        assert np.all(ob.bound <= lowest * (1 + 1e-9))
        dynamic_bound = ob.bound - (optimistic.energy - sum(optimistic.tensor_energy.values()))
        if not halo:
            assert dynamic_bound == pytest.approx(lowest_dynamic, rel=1e-9)
        checked += len(T)
    assert checked > 0


def complete_down_to(ctx, T, level):
    """Complete tilings cut to their levels down to ``level``: the temporal loops under it set to 1."""
    partial = T.copy()
    partial[:, [j for j, sl in enumerate(ctx.slots) if sl.axis is None and sl.node > level]] = 1
    return partial


@pytest.mark.parametrize("seed,kind", [(s, "random") for s in range(12)] + [(0, "deep")] +
                         [(s, "window") for s in range(6)])
def test_outer_first_bounds_hold_for_every_completion(seed, kind):
    """Tilings built outermost level first (space.tilings_outer_first) are pruned, once a level is
    complete, by a bound that must not exceed the energy of any complete tiling extending them, in any
    loop order (decided hops at their best orders, undecided ones at the lowest over the splits of the
    rest that fit, mapper/completion.py). ``deep``: two registers per PE, so the splits span several
    levels and the hop into the inner one is undecided until the buffer is complete. ``window``: the
    input's hop into the register, undecided while only DRAM is complete, has sliding windows."""
    from einloop.mapper import search
    from einloop.mapper.space import temporal_tilings

    deep = kind == "deep"
    ctx, cons, spatial = bound_context(4000 + seed, kind)
    search._init(ctx, None)
    placements = list(enumerate(ctx.dps))
    if deep:   # 512 dataplacements, 8 checked
        placements = placements[::64]
    if kind == "window":   # those keeping the input in the register, one in four
        placements = [(dp, kept) for dp, kept in placements if ctx.storages[-1] in kept["I"]][::4]
    checked = 0
    for dp, kept in placements:
        T = temporal_tilings(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial)[:20 if deep else 40]
        if not len(T):
            continue
        lowest = lowest_over_orders(ctx.einsum, ctx.arch, ctx.slots, kept, T)
        for level in ctx.storages[:-1]:   # complete down to ``level``, the rest not yet split
            bound = search._outer_bounds(ctx, dp, complete_down_to(ctx, T, level), level)
            assert np.all(bound <= lowest * (1 + 1e-9)), (dp, level, np.max(bound / lowest))
            checked += len(T)
    assert checked > 0


@pytest.mark.parametrize("seed,kind", [(s, "random") for s in (1, 4, 7, 9)] + [(s, "window") for s in range(6)])
def test_lookup_bound_holds_for_every_completion(seed, kind):   # random seeds: those with a PE array
    """The first bound of a partial tiling above the merged levels (search._merged_floor: its group's
    merged floor without the hops into the merged levels, search._group_parts, plus the decided hops'
    lowest over the loop orders) must not exceed the energy of any complete tiling extending it, in any
    loop order. Counting the decided hops' optimistic energy in the group's part too breaks this."""
    from einloop.mapper import search
    from einloop.mapper.space import temporal_tilings

    ctx, cons, spatial = bound_context(4000 + seed, kind)
    search._init(ctx, None)
    checked = 0
    for dp, kept in enumerate(ctx.dps):
        T = temporal_tilings(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial)[:cases(20, 40)]
        if not len(T):
            continue
        _, rest = search._group_parts(ctx, dp, spatial, pairs=True)
        rests = {row.tobytes(): float(r) for row, r in zip(spatial[:, ctx.spatial_cols], rest)}
        lowest = lowest_over_orders(ctx.einsum, ctx.arch, ctx.slots, kept, T)
        for level in ctx.storages[:-1]:   # complete down to ``level``, the rest not yet split
            bound = search._merged_floor(ctx, dp, complete_down_to(ctx, T, level), level, rests)
            assert np.all(bound <= lowest * (1 + 1e-9)), (dp, level, np.max(bound / lowest))
            checked += int(np.isfinite(bound).sum())
    assert checked > 0


@pytest.mark.parametrize("seed,kind", [(2, "random"), (5, "random"), (8, "random"), (0, "deep"), (0, "window"),
                                       (2, "window"), (3, "window")])
def test_group_bounds_hold_for_every_tiling_and_order(seed, kind):
    """A group (dataplacement and spatial factors) is pruned before any of its tilings is built, by a
    bound (search._group_bounds: the levels above the PE array merged into one level with a free order,
    the PE buffers at every split that fits, completion.merged_energy, its two innermost ranks chosen)
    that must not exceed the energy of any tiling of the group in any loop order. Checked where the merged floor raises the bound, against
    the group's lowest energy over all its tilings and orders (where a bound too high shows)."""
    from einloop.mapper import search
    from einloop.mapper.space import temporal_tilings

    ctx, cons, spatial = bound_context(6000 + seed, kind)
    search._init(ctx, None)
    checked = 0
    for dp, kept in list(enumerate(ctx.dps))[::8 if kind == "deep" else 1]:
        if checked >= (4 if kind == "deep" else 12):   # a deep group's orders are many (four levels)
            break
        bound = search._group_bounds(ctx, dp, spatial, pairs=True)
        raised = bound > search._tiling_bounds(ctx, dp, search._complete(ctx, spatial), level=ctx.innermost)
        for g in np.nonzero(raised & np.isfinite(bound))[0][:2]:
            T = temporal_tilings(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial[g:g + 1])
            if len(T):
                lowest = lowest_over_orders(ctx.einsum, ctx.arch, ctx.slots, kept, T).min()
                assert bound[g] <= lowest * (1 + 1e-9), (dp, g, bound[g] / lowest)
                checked += 1
    assert checked >= 4


@pytest.mark.parametrize("seed", [7003, 7010, 7016, 7017, 7020])   # those where the floor raises bounds
def test_window_sweep_floor_holds_for_every_tiling_and_order(seed):
    """The group bound's floor for an operand with sliding windows (completion._window_sweeps: the
    register refetches the window once per iteration of the loops above the innermost one, and above
    the second: completion._window_sweeps) must not exceed the group's lowest energy over all its
    tilings and orders, checked where it raises the bound. Dropping the division by the innermost
    loop's factor breaks this, and so does charging a tensor the second rank indexes for the innermost
    rank's loops."""
    from einloop.mapper import completion, search
    from einloop.mapper.space import temporal_tilings

    ctx, cons, spatial = bound_context(seed, "sweep")
    search._init(ctx, None)
    sweeps, checked = completion._window_sweeps, 0
    for dp, kept in enumerate(ctx.dps):
        bound = search._group_bounds(ctx, dp, spatial, pairs=True)
        try:
            completion._window_sweeps = lambda *args: {}
            without = search._group_bounds(ctx, dp, spatial, pairs=True)
        finally:
            completion._window_sweeps = sweeps
        for g in np.nonzero((bound > without * (1 + 1e-9)) & np.isfinite(bound))[0][:1]:
            T = temporal_tilings(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial[g:g + 1])
            lowest = lowest_over_orders(ctx.einsum, ctx.arch, ctx.slots, kept, T).min()
            assert bound[g] <= lowest * (1 + 1e-9), (dp, g, bound[g] / lowest)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("seed", range(8))
def test_outer_first_enumeration_builds_the_same_tilings(seed):
    """Both builders give the same tilings, except that a level keeping nothing loops nowhere (its
    loops are the level above's innermost ones; the brute-force tests check no optimum is lost)."""
    from einloop.mapper.space import _idle_levels, temporal_tilings, tilings_outer_first

    ctx, cons, spatial = bound_context(5000 + seed)
    built = 0
    for kept in ctx.dps:
        idle = [k for k, s in enumerate(ctx.slots)
                if s.axis is None and s.node in _idle_levels(ctx.einsum, ctx.arch, cons, ctx.slots, kept)]
        inner = temporal_tilings(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial)
        inner = inner[np.all(inner[:, idle] == 1, axis=1)]
        outer = tilings_outer_first(ctx.einsum, ctx.arch, cons, ctx.slots, kept, spatial)
        assert sorted(map(tuple, inner)) == sorted(map(tuple, outer))
        built += len(outer)
    assert built > 0
