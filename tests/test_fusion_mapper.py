"""The fused mapper (einloop/mapper/fused.py) equals brute-force enumeration of the fused mapspace.

The enumeration below is written from the mapspace's definition (mapper/fused_space.py docstring), not
from the mapper: every fusion group of the chain, every shared-loop sequence at the outermost level,
every home of every intermediate, and per Einsum every own nest as a distinct clean mapping (each
rank's tile extent split over the storage levels, every order of the loops > 1 at each level, every
keep/bypass of the other tensors); the joint product of those is evaluated one mapping at a time with
``evaluate_fused``, invalid ones (capacity) and illegal ones (SpecError: an own loop moving an
intermediate above its home) dropped. The mapper's joined Pareto search must find the same minimum
energy (and cycles for the cycles objective) on 36 random small cases: matmul chains of two and three
Einsums, 1-D convolution chains (recomputed halos), DRAM -> buffer -> MAC with small buffers.
"""
from __future__ import annotations

import itertools
import math
import random

import pytest

from einloop.errors import SpecError
from einloop.mapper.fused import map_fused, map_group
from einloop.model.fused import evaluate_fused
from einloop.model.fused_nest import chain_tilings
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Storage
from einloop.spec.fused import FusedMapping, SharedLoop
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.workload import Einsum, Workload

JOINT_LIMIT = 1000   # joint mappings per case, so the brute force stays a few seconds


def _factorizations(n, parts):
    if parts == 1:
        return [(n,)]
    return [(d,) + rest for d in range(1, n + 1) if n % d == 0 for rest in _factorizations(n // d, parts - 1)]


def _own_mappings(e, extents, levels, homes):
    """Every distinct own nest of one Einsum (its tile extents), as clean mappings."""
    ranks = [r for r in e.ranks if extents[r] > 1]
    keeps = []
    for t in e.tensors:
        if t.name in homes:
            keeps.append([tuple(lv == homes[t.name] for lv in levels)])
        else:
            keeps.append([(True,) + rest for rest in itertools.product((False, True), repeat=len(levels) - 1)])
    out = []
    for split in itertools.product(*[_factorizations(extents[r], len(levels)) for r in ranks]):
        per_level = [[(r, s[lv]) for r, s in zip(ranks, split) if s[lv] > 1] for lv in range(len(levels))]
        for orders in itertools.product(*[itertools.permutations(p) for p in per_level]):
            for keep in itertools.product(*keeps):
                out.append(Mapping(tuple(
                    NodeMapping(name, tuple(Loop(r, f) for r, f in orders[lv]),
                                frozenset(t.name for t, k in zip(e.tensors, keep) if k[lv]))
                    for lv, name in enumerate(levels))))
    return out


def _group_space(wl, arch, names, max_loops):
    """Every joint fused mapping of one group, lazily; and how many there are."""
    levels = [n.name for n in arch.nodes if isinstance(n, Storage)]
    einsums = [wl.einsum(n) for n in names]
    last = einsums[-1]
    shared_opts = [()]
    if len(names) > 1:
        ranks = [r for r, b in last.ranks.items() if b > 1]
        for n in range(1, max_loops + 1):
            for seq in itertools.permutations(ranks, n):
                for fs in itertools.product(*[[d for d in range(2, last.ranks[r] + 1) if last.ranks[r] % d == 0]
                                              for r in seq]):
                    shared_opts.append(tuple(SharedLoop(levels[0], r, f) for r, f in zip(seq, fs)))
    inter = [e.output.name for e in einsums[:-1]]
    spaces = []
    for shared in shared_opts:
        try:
            tilings = chain_tilings(einsums, shared)
        except SpecError:
            continue
        for home in itertools.product(levels[1:], repeat=len(inter)):
            homes = dict(zip(inter, home))
            per = [_own_mappings(e, {r: t.extent for r, t in til.items()}, levels,
                                 {x: homes[x] for x in homes if x in {t.name for t in e.tensors}})
                   for e, til in zip(einsums, tilings)]
            spaces.append((shared, per))
    return spaces, sum(math.prod(len(p) for p in per) for _, per in spaces)


def _brute_group(wl, arch, names, max_loops, objective):
    """The minimum objective over the group's joint fused mappings (inf: none valid)."""
    best = math.inf
    spaces, _ = _group_space(wl, arch, names, max_loops)
    for shared, per in spaces:
        for nests in itertools.product(*per):
            fm = FusedMapping(tuple(names), shared, dict(zip(names, nests)))
            try:
                r = evaluate_fused(wl, arch, fm)
            except SpecError:
                continue
            if r.valid:
                best = min(best, r.energy if objective == "energy" else r.cycles)
    return best


def _arch(rng):
    """DRAM -> GLB -> MAC with random energies and a small GLB (a third level makes the joint space too
    large to enumerate here: 5,120 joint mappings for two 2-element vector products)."""
    nodes = [Storage("DRAM", None, energy=ActionEnergy(*(rng.uniform(50, 200) for _ in range(3)))),
             Storage("GLB", rng.choice([2, 3, 4, 5, 6, 8, 12]), energy=ActionEnergy(*(rng.uniform(1, 5) for _ in range(3))))]
    return Architecture("case", tuple(nodes + [Compute("MAC", 0.5)]))


def _workload(rng):
    """A matmul chain (two or three Einsums) or a two-conv 1-D chain, tiny bounds."""
    kind = rng.choice(["mm2", "mm2", "mm3", "conv"])
    if kind == "conv":
        p, r1, r2 = rng.choice([2, 4]), rng.choice([1, 2]), rng.choice([1, 2, 3])
        k = rng.choice([1, 2])
        return Workload("conv", (
            Einsum.parse("T[k,p] += I[p+r] * W1[k,r]", {"k": k, "p": p + r2 - 1, "r": r1}, name="c1"),
            Einsum.parse("Z[p] += T[k,p+u] * W2[k,u]", {"k": k, "p": p, "u": r2}, name="c2")))
    n = 2 if kind == "mm2" else 3
    m = rng.choice([2, 4]) if n == 2 else 2
    w = [rng.choice([1, 2, 3] if n == 2 else [1, 2]) for _ in range(n + 1)]
    es = []
    for i in range(n):
        src, out = ("A" if i == 0 else f"T{i - 1}"), ("Z" if i == n - 1 else f"T{i}")
        es.append(Einsum.parse(f"{out}[m,b] += {src}[m,a] * W{i}[a,b]", {"m": m, "a": w[i], "b": w[i + 1]},
                               name=f"e{i}"))
    return Workload(kind, tuple(es))


def _case(seed):
    """A random case small enough to enumerate (redrawn until its joint space is under JOINT_LIMIT)."""
    rng = random.Random(seed)
    while True:
        wl, arch = _workload(rng), _arch(rng)
        names = [e.name for e in wl.einsums]
        loops = rng.choice([1, 2])
        if _group_space(wl, arch, names, loops)[1] <= JOINT_LIMIT:
            return wl, arch, names, loops


@pytest.mark.parametrize("seed", range(36))
def test_fused_mapper_equals_enumeration(seed):
    wl, arch, names, loops = _case(seed)
    objective = "cycles" if seed % 6 == 5 else "energy"
    got = map_group(wl, arch, tuple(names), max_fused_loops=loops, objective=objective)
    want = _brute_group(wl, arch, names, loops, objective)
    if want == math.inf:
        assert got.mapping is None
    else:
        assert got.mapping is not None and got.result.valid
        assert math.isclose(got.objective, want, rel_tol=1e-9), (got.objective, want)
    # the partition: min over groupings of the enumerated groups' minima
    groups = [(i, j) for i in range(len(names)) for j in range(i, len(names))]
    brute = {(i, j): (want if (i, j) == (0, len(names) - 1) else _brute_group(wl, arch, names[i:j + 1], loops, objective))
             for i, j in groups}
    best = [0.0] + [math.inf] * len(names)
    for j in range(1, len(names) + 1):
        best[j] = min(best[i] + brute[(i, j - 1)] for i in range(j))
    net = map_fused(wl, arch, max_fused_loops=loops, objective=objective)
    total = net.total(objective)
    if math.isfinite(best[-1]):
        assert math.isclose(total, best[-1], rel_tol=1e-9), (total, best[-1], [g.einsums for g in net.groups])
    assert net.proven_optimal


def test_two_fc_fused_beats_layer_by_layer():
    """examples/fused/two_fc on dram_glb_mac: the whole T (8,192 words) fits the 65,536-word buffer, so the
    best fused mapping keeps T on chip: DRAM traffic drops by T's write and read (8,192 each), and the
    energy equals the hand-written fused example's 7,183,395.84 pJ (no shared loop is cheaper: every
    loop order of the unfused optimum still holds, without T's 100 pJ DRAM write and read per word)."""
    from pathlib import Path

    from einloop import api
    root = Path(__file__).resolve().parents[1]
    spec = api.load([str(root / "examples/fused/two_fc.yaml"), str(root / "examples/fused/dram_glb_mac.yaml")])
    net = map_fused(spec.workload, spec.arch, max_fused_loops=1)
    assert [g.einsums for g in net.groups] == [("fc1", "fc2")]
    assert math.isclose(net.total("energy"), 7183395.836023977, rel_tol=1e-9)
    fused = net.groups[0].result
    single = [g.result for g in net.layer_by_layer]
    dram = lambda rs, a: sum(r.total("DRAM", a) for r in rs)
    assert dram(single, "reads") - dram([fused], "reads") == 8192
    assert dram(single, "updates") - dram([fused], "updates") == 8192
    assert net.proven_optimal


def _two_fc_files():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    return [str(root / "examples/fused/two_fc.yaml"), str(root / "examples/fused/dram_glb_mac.yaml")]


def test_map_fuse_cli_json(capsys):
    """`einloop map ... --fuse --json`: the fused group, both totals and the per-layer DRAM words (fc1 alone
    moves I 8,192 + W1 4,096 + T 8,192 = 20,480; fused, T's 8,192 stay on chip)."""
    import json

    from einloop.cli import main
    assert main(["map", *_two_fc_files(), "--fuse", "--max-fused-loops", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [g["einsums"] for g in out["groups"]] == [["fc1", "fc2"]]
    assert math.isclose(out["fused"]["energy"], 7183395.836023977, rel_tol=1e-9)
    assert math.isclose(out["layer_by_layer"]["energy"], 8829987.836023977, rel_tol=1e-9)
    assert [r[4] for r in out["rows"]] == [12288, 12288] and [r[7] for r in out["rows"]] == [20480, 20480]
    assert out["proven_optimal"] is True


def test_map_fuse_refuses_edp(capsys):
    """The fused mapper minimizes energy or cycles; --objective edp is one clear error (exit 2)."""
    from einloop.cli import main
    assert main(["map", *_two_fc_files(), "--fuse", "--objective", "edp"]) == 2
    err = capsys.readouterr().err
    assert "--objective" in err and "energy or cycles" in err


def test_tradeoff_small_cascade():
    """Orojenesis on T[p,m] = I[p,c] W1[c,m]; Z[p,n] = T[p,m] W2[m,n], p=4, c=m=n=2 (I, T, Z: 8 values,
    W1, W2: 4). With 64 words on chip everything fits: fused, DRAM moves only I + W1 + W2 + Z = 24;
    layer by layer also T's write and read, 40. Smaller buffers never move less, fused never more."""
    from einloop.mapper.fused_tradeoff import tradeoff
    wl = Workload("two", (Einsum.parse("T[p,m] += I[p,c] * W1[c,m]", {"p": 4, "c": 2, "m": 2}, name="fc1"),
                          Einsum.parse("Z[p,n] += T[p,m] * W2[m,n]", {"p": 4, "m": 2, "n": 2}, name="fc2")))
    pts = tradeoff(wl, [2, 4, 8, 16, 64])
    assert (pts[-1].fused_words, pts[-1].unfused_words) == (24, 40)
    assert all(p.fused_words <= p.unfused_words for p in pts)
    assert all(a.fused_words >= b.fused_words and a.unfused_words >= b.unfused_words for a, b in zip(pts, pts[1:]))
    assert pts[0].unfused_words > 40 and all(p.proven_optimal for p in pts)


def test_map_fuse_flag_checks(capsys):
    """--max-fused-loops below 0 is one clear error naming the flag; a fused_mapping given is said ignored."""
    from einloop.cli import main
    assert main(["map", *_two_fc_files(), "--fuse", "--max-fused-loops", "-1"]) == 2
    assert "--max-fused-loops" in capsys.readouterr().err
    files = _two_fc_files()
    files.append(files[0].replace("two_fc.yaml", "two_fc_fused.yaml"))
    assert main(["map", files[0], files[1], files[2], "--fuse", "--max-fused-loops", "0", "--json"]) == 0
    assert "fused_mapping in the given files is ignored" in capsys.readouterr().err


def test_large_path_with_a_fanout():
    """With a fanout the group goes through fused_large.py (map_einsum per own nest): the fused mapping it
    returns is valid, evaluates to its reported energy, moves T's 2 x 32 DRAM words less than layer by
    layer (T[p,m], 8 x 4, kept on chip), and is not claimed optimal; singletons are map_einsum's optima."""
    from einloop.spec.arch import Fanout
    wl = Workload("two", (Einsum.parse("T[p,m] += I[p,c] * W1[c,m]", {"p": 8, "c": 4, "m": 4}, name="fc1"),
                          Einsum.parse("Z[p,n] += T[p,m] * W2[m,n]", {"p": 8, "m": 4, "n": 4}, name="fc2")))
    arch = Architecture("fan", (Storage("DRAM", None, energy=ActionEnergy(100, 100, 100)),
                                Storage("GLB", 64, energy=ActionEnergy(1, 1, 1)), Fanout("PE", 2, 1),
                                Storage("RF", 4, energy=ActionEnergy(0.1, 0.1, 0.1)), Compute("MAC", 0.5)))
    net = map_fused(wl, arch)
    assert [g.einsums for g in net.groups] == [("fc1", "fc2")]
    g = net.groups[0]
    assert g.result.valid and not g.proven_optimal and not net.proven_optimal
    assert math.isclose(evaluate_fused(wl, arch, g.mapping).energy, g.objective, rel_tol=1e-12)
    words = lambda rs: sum(r.total("DRAM", "reads") + r.total("DRAM", "updates") for r in rs)
    assert words([x.result for x in net.layer_by_layer]) - words([g.result]) == 64
    assert all(x.proven_optimal for x in net.layer_by_layer)
    assert net.total("energy") < net.total("energy", layer_by_layer=True)


def test_fold_elementwise_links_conv_blocks():
    """ResNet-18: batch norms and ReLUs (no MACs, indexed like their input) fold into their convolution, so
    each basic block's conv1 -> conv2 becomes a fusion group (8 of them); residual adds (two produced
    inputs) and max pooling (a window) stay, so nothing else links."""
    from einloop.mapper.fused import chain
    from einloop.mapper.fused_space import fold_elementwise, fusable_groups
    from einloop.workloads import zoo
    wl, notes = fold_elementwise(zoo.get("resnet18"))
    names = chain(wl)
    pairs = [(names[i], names[j]) for i, j in fusable_groups(wl, names) if i != j]
    assert len(pairs) == 8 and all(a.endswith("conv1") and b.endswith("conv2") for a, b in pairs)
    assert "relu (elementwise, no MACs) folded into conv1's output" in notes
    assert wl.einsum("layer1_0_conv2").inputs[0].name == "T_layer1_0_conv1"
