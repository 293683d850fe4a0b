"""Fused mappings: the single-Einsum special case, two FC layers fused vs layer by layer, a conv chain
with a recomputed halo, capacity per phase, bandwidth-limited latency, bad input and the CLI."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from einloop import api
from einloop.cli import main
from einloop.errors import SpecError
from einloop.model.evaluate import evaluate
from einloop.model.fused import evaluate_fused
from einloop.spec import native
from einloop.spec.fused import FusedMapping, SharedLoop, read_fused_mapping
from einloop.spec.mapping import Mapping, NodeMapping, parse_loops
from einloop.spec.yamlio import load_yaml

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
FC = [EX / "fused" / f for f in ("two_fc.yaml", "dram_glb_mac.yaml", "two_fc_fused.yaml")]


def fc_specs(arch_changes: dict | None = None, no_leak: bool = False):
    """The two-FC example; ``arch_changes`` go into the DRAM node; ``no_leak`` zeroes every leakage."""
    wl = native.read_workload(load_yaml(FC[0])["workload"])
    arch_doc = copy.deepcopy(load_yaml(FC[1])["architecture"])
    arch_doc["nodes"][0].update(arch_changes or {})
    if no_leak:
        for n in arch_doc["nodes"]:
            if "compute" in n:
                n["leak"] = 0
            else:
                n["energy"]["leak"] = 0
    arch = native.read_architecture(arch_doc)
    fm = read_fused_mapping(load_yaml(FC[2])["fused_mapping"], str(FC[2]))
    return wl, arch, fm


def _same_stats(fused_tensors, result):
    assert len(fused_tensors) == len(result.tensors)
    for t in fused_tensors:
        want = result.tensor(t.level, t.tensor)
        assert (t.reads, t.fills, t.updates, t.utilized_capacity, t.partition, t.instances) == \
            (want.reads, want.fills, want.updates, want.utilized_capacity, want.partition, want.instances)
        assert t.energy == pytest.approx(want.energy, rel=1e-12)


EXAMPLES = [("matmul.yaml", "two_level.yaml", "matmul_two_level.yaml"),
            ("matmul.yaml", "tpu_like.yaml", "matmul_tpu_like.yaml"),
            ("conv.yaml", "eyeriss_like.yaml", "conv_eyeriss_like.yaml")]


@pytest.mark.parametrize("files", EXAMPLES, ids=[e[2] for e in EXAMPLES])
@pytest.mark.parametrize("share_outer", [False, True], ids=["no-shared", "outer-loops-shared"])
def test_single_einsum_fused_mapping_evaluates_as_evaluate(files, share_outer):
    """A fused mapping of one Einsum is the ordinary mapping: every count, cycles and energy equal
    evaluate()'s, whether the outermost level's loops are written as shared loops or as its own."""
    spec = api.load([EX / "workloads" / files[0], EX / "arch" / files[1], EX / "mappings" / files[2]])
    einsum, mapping = spec.workload.einsums[0], spec.mapping
    want = evaluate(einsum, spec.arch, mapping)
    if share_outer:
        top = spec.arch.nodes[0].name
        shared = tuple(SharedLoop(top, l.rank, l.factor) for l in mapping.for_node(top).loops)
        own = Mapping(tuple(NodeMapping(n.target, () if n.target == top else n.loops, n.keep, n.bypass)
                            for n in mapping.nodes))
        fm = FusedMapping((einsum.name,), shared, {einsum.name: own})
    else:
        fm = FusedMapping.single(einsum.name, mapping)
    got = evaluate_fused(spec.workload, spec.arch, fm)
    assert (got.valid, got.cycles, got.macs, got.computed_macs) == (want.valid, want.cycles, want.computes,
                                                                     want.computes)
    assert got.energy == pytest.approx(want.energy, rel=1e-12)
    _same_stats(got.per_einsum[0].tensors, want)
    assert got.occupancy == {l.name: [l.occupancy] for l in want.levels if l.kind == "storage"}


def _layer_by_layer(wl, arch):
    """fc1 and fc2 each on its own, same nests as the fused mapping, T written to DRAM and read back."""
    out = []
    for e, inner in (("fc1", "p8 m64 c64"), ("fc2", "p8 n64 m64")):
        m = Mapping((NodeMapping("DRAM", parse_loops("p16")), NodeMapping("GlobalBuffer", parse_loops(inner))))
        out.append(evaluate(wl.einsum(e), arch, m))
    return out


def _dram(results_tensors):
    reads = sum(t.reads for t in results_tensors if t.level == "DRAM")
    writes = sum(t.fills + t.updates for t in results_tensors if t.level == "DRAM")
    return reads, writes


def test_two_fc_layers_fused_drop_exactly_the_intermediate_traffic():
    """T[p,m] = I[p,c] W1[c,m]; Z[p,n] = T[p,m] W2[m,n]; P=128, C=M=N=64, 8-bit, DRAM -> GLB -> MAC.

    |I| = |T| = |Z| = 128*64 = 8,192, |W1| = |W2| = 64*64 = 4,096. Both ways each GLB tile is 8 rows of P
    (16 steps), the weights stay in the GLB, every I word is read once and every Z word written once.
    Layer by layer: DRAM reads I + W1 + T + W2 = 24,576, writes T + Z = 16,384. Fused over p16, T lives
    in the GLB only: reads 16,384 and writes 8,192, both exactly |T| = 8,192 lower; the same
    1,048,576 cycles (two 524,288-MAC layers on one MAC, compute-bound).

    The LoopTree tutorial's published pattern (reads 83,886,080 -> 50,331,648, writes 33,554,432 ->
    16,777,216) is in units of 2,048 per value: writes 16,384 and 8,192 values exactly. Its reads are
    40,960 and 24,576 values: it also charges one DRAM read for every output word written (the drained
    partial sum, issue 19 item 6: T and Z layer by layer, Z fused), which einloop's first-read elision
    does not; adding those 8,192-word drains to einloop's reads gives exactly its numbers.
    """
    wl, arch, fm = fc_specs()
    fused = evaluate_fused(wl, arch, fm)
    apart = _layer_by_layer(wl, arch)
    fused_reads, fused_writes = _dram([t for e in fused.per_einsum for t in e.tensors])
    apart_reads, apart_writes = _dram([t for r in apart for t in r.tensors])
    assert (apart_reads, apart_writes) == (24_576, 16_384)
    assert (fused_reads, fused_writes) == (16_384, 8_192)
    t_size = wl.einsum("fc1").tensor_size("T")
    assert apart_reads - fused_reads == t_size == apart_writes - fused_writes == 8_192
    assert fused.cycles == sum(r.cycles for r in apart) == 1_048_576
    assert fused.valid and fused.recomputed_macs == 0
    unit = 2_048
    drains_apart, drains_fused = 2 * t_size, t_size    # T and Z; Z
    assert ((apart_reads + drains_apart) * unit, (fused_reads + drains_fused) * unit) == (83_886_080, 50_331_648)
    assert (apart_writes * unit, fused_writes * unit) == (33_554_432, 16_777_216)


def test_fused_energy_is_apart_energy_minus_intermediate_dram_traffic():
    """With no leakage: the fused energy is the layer-by-layer energy minus T's DRAM update (fc1) and
    read (fc2), 8,192 words x 100 pJ each, and minus fc2's fills of T into the GLB (8,192 x 1 pJ): fused,
    fc1 leaves T there. fc1's GLB reads of T are 524,288 updates - 8,192 first writes both ways."""
    wl, arch, fm = fc_specs(no_leak=True)
    assert all(n.energy.leak == 0 for n in arch.storages) and arch.compute.leak == 0
    fused = evaluate_fused(wl, arch, fm)
    apart = _layer_by_layer(wl, arch)
    assert fused.tensor("fc1", "GlobalBuffer", "T").reads == 524_288 - 8_192
    assert apart[0].tensor("GlobalBuffer", "T").reads == 524_288 - 8_192
    assert apart[1].tensor("GlobalBuffer", "T").fills == 8_192
    assert sum(r.energy for r in apart) - fused.energy == pytest.approx(2 * 100 * 8_192 + 8_192, rel=1e-12)


def test_latency_is_the_einsums_in_turn_with_bandwidth_limits():
    """DRAM read bandwidth 0.01 words/cycle: fc1 reads I + W1 = 12,288 words, so it takes 12,288 / 0.01
    = 1,228,800 cycles instead of 524,288; fc2 reads W2 = 4,096 words (409,600 cycles at that rate) and
    stays compute-bound at 524,288. In turn: 1,753,088 cycles."""
    wl, arch, fm = fc_specs({"read_bandwidth": 0.01})
    fused = evaluate_fused(wl, arch, fm)
    assert [e.cycles for e in fused.per_einsum] == [1_228_800, 524_288]
    assert fused.cycles == 1_753_088


def test_capacity_is_checked_in_every_phase():
    """During fc1 the GLB holds I's 8x64 tile (512), W1 (4,096) and T's 8x64 tile (512), and W2 (4,096)
    which stays between steps for fc2: 9,216 words; during fc2 Z's tile, T, W2 and W1 (stays): 9,216.
    A 9,215-word GLB overflows in both phases, a 9,216-word one fits."""
    for depth, valid in ((9_216, True), (9_215, False)):
        wl = native.read_workload(load_yaml(FC[0])["workload"])
        doc = copy.deepcopy(load_yaml(FC[1])["architecture"])
        doc["nodes"][1]["depth"] = depth
        arch = native.read_architecture(doc)
        fm = read_fused_mapping(load_yaml(FC[2])["fused_mapping"])
        r = evaluate_fused(wl, arch, fm)
        assert r.occupancy["GlobalBuffer"] == [9_216, 9_216]
        assert r.valid is valid
        if not valid:
            assert r.reasons == [f"level GlobalBuffer: during {e} the live tiles need 9216 words but it holds 9215"
                                 for e in ("fc1", "fc2")]


CONV = {
    "workload": {"name": "conv-chain", "einsums": [
        {"name": "c1", "einsum": "T[k,p] += I[c,p+r] * W1[k,c,r]", "ranks": {"k": 2, "c": 2, "p": 10, "r": 3}},
        {"name": "c2", "einsum": "Z[j,p] += T[k,p+s] * W2[j,k,s]", "ranks": {"j": 2, "k": 2, "p": 8, "s": 3}}]},
    "architecture": {"name": "dram-glb", "nodes": [
        {"storage": "DRAM", "class": "DRAM", "energy": {"read": 100, "write": 100}},
        {"storage": "GLB", "depth": 1024, "energy": {"read": 1, "write": 1}},
        {"compute": "MAC", "energy": 1}]},
    "fused_mapping": {"einsums": ["c1", "c2"], "shared": [{"target": "DRAM", "temporal": "p2"}], "nests": {
        "c1": [{"target": "DRAM", "bypass": ["T"]}, {"target": "GLB", "temporal": "k2 p6 c2 r3"}],
        "c2": [{"target": "DRAM", "bypass": ["T"]}, {"target": "GLB", "temporal": "j2 p4 k2 s3"}]}},
}


def _conv(changes=None):
    doc = copy.deepcopy(CONV)
    for path, value in (changes or {}).items():
        cur = doc
        *head, last = path
        for k in head:
            cur = cur[k]
        cur[last] = value
    return (native.read_workload(doc["workload"]), native.read_architecture(doc["architecture"]),
            read_fused_mapping(doc["fused_mapping"], "chain.yaml"))


def test_conv_chain_recomputes_the_halo():
    """c2 (P=8, S=3) tiled p2: each step needs 4 + 3 - 1 = 6 rows of T, the steps 4 apart, so c1 computes
    rows 0-5 then 4-9: 12 rows instead of 10, 2 x 2 x 3 = 12 MACs a row, 24 recomputed (144 vs 120; with
    c2's 2 x 2 x 8 x 3 = 96: 240 computed for the chain's 216).
    I (12 rows x 2 channels = 24 words) comes from DRAM once: c1's GLB tile of I is 6 + 3 - 1 = 8 rows,
    the second step's tile overlaps the first by 4 rows and fetches only 4 new ones (16 + 8 = 24), so
    the tile stays in the GLB through c2's phase. T's 2 x 6 tile lives in the GLB only: c1 updates it
    144 times (once per MAC), 2 x 12 of them first writes of each step's fresh tile, 120 reads; c2 reads it
    once per MAC, 2 x 4 x 2 x 3 x 2 = 96."""
    wl, arch, fm = _conv()
    r = evaluate_fused(wl, arch, fm)
    assert (r.macs, r.computed_macs, r.recomputed_macs) == (216, 240, 24)
    assert r.einsum("c1").recomputed_macs == 24 and r.einsum("c2").recomputed_macs == 0
    assert r.tensor("c1", "DRAM", "I").reads == 24
    assert r.tensor("c1", "GLB", "I").utilized_capacity == 16 and r.tensor("c1", "GLB", "I").fills == 24
    t = r.tensor("c1", "GLB", "T")
    assert (t.utilized_capacity, t.updates, t.partition, t.reads) == (12, 144, 24, 120)
    assert r.tensor("c2", "GLB", "T").reads == 96
    # GLB during c1: I 16 + W1 12 + T 12, plus c2's W2 (12, stationary); Z's 2x4 tile moves without overlap
    # during c2: Z 8 + T 12 + W2 12, plus c1's I (16, overlaps its next tile) and W1 (12)
    assert r.occupancy["GLB"] == [52, 60]
    assert r.valid


BAD = [
    ({("fused_mapping", "sharde"): []}, "fused_mapping.sharde", "unknown field 'sharde'; allowed fields: einsums"),
    ({("fused_mapping", "halo"): "retain"}, "fused_mapping.halo", "'retain' is not modeled yet"),
    ({("fused_mapping", "halo"): "bogus"}, "fused_mapping.halo", "'recompute' or 'retain'"),
    ({("fused_mapping", "einsums"): ["c1", "c3"]}, "fused_mapping.nests", "no nest for c3"),
    ({("fused_mapping", "shared"): [{"target": "DRAM", "temporal": "q2"}]}, "fused_mapping.shared[0]",
     "unknown rank 'q'"),
    ({("fused_mapping", "shared"): [{"target": "DRAM", "temporal": "p3"}]}, "fused_mapping.shared",
     "multiply to 3, which does not divide its bound 8"),
    ({("fused_mapping", "shared"): [{"target": "DRAM", "temporal": "p=x"}]}, "fused_mapping.shared[0].temporal",
     "cannot read loop"),
    ({("fused_mapping", "shared"): [{"target": "MAC", "temporal": "p2"}]}, "fused_mapping.shared[0]",
     "temporal loops of storage levels"),
    ({("fused_mapping", "nests", "c1"): [{"target": "GLB", "temporal": "k2 p4 c2 r3"}]}, "fused_mapping.nests.c1",
     "rank p multiply to 4, but one shared tile of c1 spans 6"),
    ({("fused_mapping", "nests", "c1"): [{"target": "GLB", "temporal": "k2 p6 c2 r3"}]}, "fused_mapping.nests",
     "intermediate T must live at the same outermost level for c1 and c2 (got DRAM, GLB)"),
    ({("fused_mapping", "nests", "c1"): [{"target": "GLB", "temporal": "k2 p6 c2 r3"}],
      ("fused_mapping", "nests", "c2"): [{"target": "GLB", "temporal": "j2 p4 k2 s3"}]}, "fused_mapping.nests",
     "intermediate T is kept at DRAM, at or above the shared loops"),
    ({("fused_mapping", "nests", "c1"): [{"target": "DRAM", "bypass": ["T"], "temporal": "k2"},
                                          {"target": "GLB", "temporal": "p6 c2 r3"}]}, "fused_mapping.nests.c1",
     "loop k2 at DRAM is above GLB, where intermediate T lives"),
    ({("fused_mapping", "nests", "c1"): [{"target": "GLB", "temporl": "p6"}]}, "fused_mapping.nests.c1[0].temporl",
     "unknown field 'temporl'"),
    ({("fused_mapping", "einsums"): ["c2", "c1"]}, "fused_mapping.einsums",
     "c2's output Z is read by no later fused Einsum"),
    ({("workload", "einsums", 1, "einsum"): "Z[j,p] += T[p+s] * W2[j,k,s]"}, "fused_mapping",
     "c1 writes T with 2 coordinates but c2 reads it with 1"),
    ({("workload", "einsums", 1, "ranks", "p"): 6}, "fused_mapping",
     "c2 reads 8 positions of T's coordinate 1 over the shared loops, but c1's rank p has bound 10"),
]


@pytest.mark.parametrize("changes,field,message", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_fused_mapping_names_field_and_what_is_allowed(changes, field, message):
    with pytest.raises(SpecError) as err:
        wl, arch, fm = _conv(changes)
        evaluate_fused(wl, arch, fm)
    assert err.value.field == field
    assert message in err.value.message


def test_reader_errors_name_the_file():
    with pytest.raises(SpecError) as err:
        read_fused_mapping({"einsums": ["a"], "nests": {"a": []}, "extra": 1}, "f.yaml")
    assert str(err.value).startswith("f.yaml: fused_mapping.extra: unknown field 'extra'")
    with pytest.raises(SpecError, match="fused_mapping must be a mapping"):
        read_fused_mapping(["a"], "f.yaml")


def test_cli_eval_prints_the_tree_and_json(capsys, tmp_path):
    assert main(["eval", *map(str, FC)]) == 0
    out = capsys.readouterr().out
    assert "| for p in [0:16) (shared)" in out and "|   # fc1: p += 8 (tile 8)" in out
    assert "|-- fc1: T[p,m] += I[p,c] * W1[c,m] (524,288 MACs)" in out and "`-- fc2:" in out
    assert main(["eval", *map(str, FC), "--json", "--einsum", "fc1"]) == 0
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    assert d["per_einsum"]["fc1"]["tensors"]["DRAM.I"]["reads"] == 8192
    assert d["ignored"] == ["--einsum fc1 is ignored: the fused mapping names its Einsums"]
    assert "--einsum fc1 is ignored" in captured.err
    small = tmp_path / "small.yaml"
    doc = load_yaml(FC[1])
    doc["architecture"]["nodes"][1]["depth"] = 100
    import yaml
    small.write_text(yaml.safe_dump(doc))
    assert main(["eval", str(FC[0]), str(small), str(FC[2])]) == 1
    assert "INVALID fused mapping: level GlobalBuffer: during fc1" in capsys.readouterr().out


def test_tables_carry_units():
    wl, arch, fm = fc_specs()
    r = evaluate_fused(wl, arch, fm)
    tt = r.tensor_table()
    assert list(tt.columns)[:3] == ["tile [values]", "partition [values]", "reads [values]"]
    assert tt.loc[("fc2", "DRAM", "Z"), "updates [values]"] == 8192
    assert r.einsum_table().loc["fc1", "MACs"] == 524_288
    assert r.occupancy_table().loc["GlobalBuffer", "during fc1 [words]"] == 9_216
    json.dumps(r.to_dict())


def test_batch_of_tilings_equals_one_by_one():
    """A mapper's view: one plan's structure, the shared p factor f and the GLB's p factor 128/f varied
    together over a batch; every row's energy, cycles, validity and occupancy equal evaluate_fused of
    that fused mapping. f = 1 is one step holding whole tensors: during fc1 T 8,192 + I 8,192 + W1 4,096
    = 20,480 words (no shared step, so fc2's W2 need not stay), more than a 16,384-word GLB holds."""
    from einloop.model.fused import evaluate_fused_batch, nest_shape
    from einloop.model.fused_nest import plan_fused
    wl = native.read_workload(load_yaml(FC[0])["workload"])
    doc = copy.deepcopy(load_yaml(FC[1])["architecture"])
    doc["nodes"][1]["depth"] = 16_384
    arch = native.read_architecture(doc)
    fm = read_fused_mapping(load_yaml(FC[2])["fused_mapping"])
    fp = plan_fused(wl, arch, fm)
    rows = [1, 2, 4, 8, 16, 32, 64, 128]
    shapes = [nest_shape(n, arch) for n in fp.nests]
    assert [list(sh.factors[0]) for sh in shapes] == [[16, 8, 64, 64], [16, 8, 64, 64]]
    batch = evaluate_fused_batch(fp, arch, [np.array([[f, 128 // f, 64, 64] for f in rows])] * 2)
    for b, f in enumerate(rows):
        one = FusedMapping(fm.einsums, (SharedLoop("DRAM", "p", f),), {
            e: Mapping(tuple(NodeMapping(n.target, tuple(l if l.rank != "p" else type(l)("p", 128 // f)
                                                          for l in n.loops), n.keep, n.bypass)
                             for n in m.nodes)) for e, m in fm.nests.items()})
        r = evaluate_fused(wl, arch, one)
        assert batch.energy[b] == pytest.approx(r.energy, rel=1e-12)
        assert (int(batch.cycles[b]), bool(batch.valid[b])) == (r.cycles, r.valid)
        assert list(batch.occupancy[1][b]) == r.occupancy["GlobalBuffer"]
    assert list(batch.valid) == [False, True, True, True, True, True, True, True]
    assert list(batch.occupancy[1][0]) == [20_480, 20_480]


def test_conv_chain_example_counts_and_tree(capsys):
    """examples/fused/conv_chain.yaml: Z 16 x 16 (3x3 filters over T 18 x 18 over I 20 x 20, 8 -> 16 -> 16
    channels), shared p4 q4. A 4 x 4 tile of Z needs 6 x 6 of T: conv1 computes 16 steps x 36 positions x
    16 x 8 x 9 = 663,552 MACs instead of 18 x 18 x 1,152 = 373,248 (290,304 recomputed). conv1's GLB tile
    of I is 8 x 8 x 8 = 512 words; along q it slides by 4 columns and fetches 256 new words, when p steps
    the tile moves diagonally back (a stride change) and is fetched whole: 4 rows x (512 + 3 x 256) = 5,120
    DRAM reads of I's 3,200 words."""
    spec = api.load([EX / "fused" / "conv_chain.yaml", EX / "fused" / "dram_glb_mac.yaml"])
    r = evaluate_fused(spec.workload, spec.arch, spec.fused_mapping)
    assert (r.einsum("conv1").macs, r.einsum("conv1").recomputed_macs, r.einsum("conv2").macs) == (
        663_552, 290_304, 589_824)
    assert r.tensor("conv1", "DRAM", "I").reads == 5_120
    assert r.tensor("conv1", "GlobalBuffer", "I").utilized_capacity == 512
    # GLB during conv1: T 576 + I 512 + W1 1,152 + W2 2,304 (stays); during conv2: Z 256 + T 576 + W2 2,304
    # + I 512 (slides, stays) + W1 1,152
    assert r.occupancy["GlobalBuffer"] == [4_544, 4_800]
    assert main(["eval", str(EX / "fused" / "conv_chain.yaml"), str(EX / "fused" / "dram_glb_mac.yaml")]) == 0
    out = capsys.readouterr().out
    assert "|   # conv1: p += 4 (tile 6, overlap 2 recomputed)" in out
    assert "|-- conv1: T[k,p,q] += I[c,p+r,q+s] * W1[k,c,r,s] (663,552 MACs, 290,304 recomputed)" in out


def test_mapping_and_fused_mapping_together_is_an_error(tmp_path, capsys):
    both = tmp_path / "both.yaml"
    both.write_text("mapping:\n  - target: DRAM\n    temporal: p128\n")
    assert main(["eval", *map(str, FC), str(both)]) == 2
    assert "give either 'mapping' (one Einsum) or 'fused_mapping', not both" in capsys.readouterr().err


def _paths(d, pre=()):
    """Every key path of nested dicts and lists."""
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    for k, v in items:
        yield pre + (k,)
        yield from _paths(v, pre + (k,))


def test_every_field_replaced_by_junk_is_one_spec_error_with_a_field():
    """Each field of the example fused mapping replaced by None, 0, -1, 1.5, NaN, inf, text, empty and
    odd containers, zero and unknown loops: either it still evaluates or one SpecError naming a field
    of fused_mapping, never another exception."""
    wl, arch, _ = fc_specs()
    base = load_yaml(FC[2])["fused_mapping"]
    junk = [None, 0, -1, 1.5, float("nan"), float("inf"), "x", [], {}, [1], {"a": 1}, True, "p0", "q16"]
    errors = 0
    for path in _paths(base):
        for value in junk:
            doc = copy.deepcopy(base)
            cur = doc
            for k in path[:-1]:
                cur = cur[k]
            cur[path[-1]] = value
            try:
                evaluate_fused(wl, arch, read_fused_mapping(doc, "f.yaml"))
            except SpecError as err:
                errors += 1
                assert err.field and err.field.startswith("fused_mapping"), (path, value, err)
    assert errors > 250


def test_matmul_chain_on_the_tpu_like_example():
    """examples/fused/matmul_chain_tpu.yaml: T = A B, Z = T C (256 each) fused over m16 on the TPU-like
    example. DRAM: A, B, C read once (65,536 words each: B and C stay in the UnifiedBuffer for all 16
    steps), Z written once, T never. Each Einsum is 16,777,216 MACs on the 16 x 16 array: 65,536 cycles,
    131,072 in turn. UnifiedBuffer during mm1: A 16 x 256 = 4,096 + B 65,536 + T 4,096 + C 65,536 (stays)
    = 139,264; during mm2: Z 4,096 + T 4,096 + C + B = 139,264, within its 262,144 words."""
    spec = api.load([EX / "fused" / "matmul_chain_tpu.yaml", EX / "arch" / "tpu_like.yaml"])
    r = evaluate_fused(spec.workload, spec.arch, spec.fused_mapping)
    dram = {(e.einsum, t.tensor): (t.reads, t.updates) for e in r.per_einsum for t in e.tensors if t.level == "DRAM"}
    assert dram == {("mm1", "A"): (65_536, 0), ("mm1", "B"): (65_536, 0), ("mm2", "C"): (65_536, 0),
                    ("mm2", "Z"): (0, 65_536)}
    assert [e.cycles for e in r.per_einsum] == [65_536, 65_536] and r.cycles == 131_072
    assert r.occupancy["UnifiedBuffer"] == [139_264, 139_264] and r.valid
