"""Fanouts without multicast or spatial reduction (``Fanout.multicast`` / ``reduction``): each child
instance's words move separately from the parent. Hand-derived counts, the point-set brute force on
random cases, einloop's and Timeloop's spellings, and the mapper's optimum under such fanouts."""
from __future__ import annotations

import random
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import einloop
from conftest import examples
from einloop.errors import SpecError
from einloop.mapper.search import map_einsum
from einloop.model.evaluate import evaluate
from einloop.spec.arch import Architecture, Compute, Fanout, Storage
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.native import read_architecture
from einloop.spec.workload import Einsum

try:
    from tests.bruteforce import simulate
    from tests.strategies import case
    from tests.test_mapper_optimal import brute_force, random_problem
    from tests.test_model_vs_bruteforce import to_einloop
except ImportError:  # pytest's rootdir-relative import
    from bruteforce import simulate
    from strategies import case
    from test_mapper_optimal import brute_force, random_problem
    from test_model_vs_bruteforce import to_einloop


def _dram(einsum, ranks, spatial, inner, multicast=True, reduction=True):
    """DRAM -> 4-wide fanout -> Reg -> MAC, every tensor kept at both levels."""
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", ranks)
    arch = Architecture("a", (Storage("DRAM"), Fanout("PEs", 4, 1, multicast, reduction), Storage("Reg"),
                              Compute("MAC")))
    m = Mapping((NodeMapping("DRAM", ()), NodeMapping("PEs", (spatial,)), NodeMapping("Reg", inner)))
    r = evaluate(e, arch, m)
    return {t.tensor: t for t in r.tensors if t.level == "DRAM"}


@pytest.mark.parametrize("multicast, a_reads, a_multicast", [(True, 2, 4.0), (False, 8, 1.0),
                                                            (frozenset({"B"}), 8, 1.0), (frozenset({"A"}), 2, 4.0)])
def test_multicast_switch_hand_derived(multicast, a_reads, a_multicast):
    """Z[m,n] += A[m,k]*B[k,n], m=1 n=4 k=2, n4 across 4 PEs, k2 in each PE's Reg. Every PE needs the
    same A[0,0..1]: multicast reads the 2 words once for all 4 PEs (2 reads, 4 served per read);
    without it each PE fetches its own (4 x 2 = 8). B[k,n] differs per PE: 8 reads either way; each
    PE writes its own Z word: 4 updates either way (reduction has nothing to merge)."""
    dram = _dram(None, {"m": 1, "n": 4, "k": 2}, Loop("n", 4, "X"), (Loop("k", 2),), multicast)
    assert (dram["A"].reads, dram["A"].multicast) == (a_reads, a_multicast)
    assert dram["B"].reads == 8 and dram["Z"].updates == 4 and dram["Z"].reads == 0


@pytest.mark.parametrize("reduction, updates, reads", [(True, 1, 0), (False, 4, 3), (frozenset({"A", "B"}), 4, 3)])
def test_reduction_switch_hand_derived(reduction, updates, reads):
    """m=1 n=1 k=4, k4 across 4 PEs: each PE makes one partial sum of Z[0,0]. Spatial reduction merges
    them into 1 DRAM update, the first of the word, so no read (1 - partition 1 = 0); without it the 4
    partial sums arrive separately: 4 updates, 3 of them read-modify-writes. A and B: 4 distinct words,
    4 reads, whatever the switches."""
    dram = _dram(None, {"m": 1, "n": 1, "k": 4}, Loop("k", 4, "X"), (), True, reduction)
    assert (dram["Z"].updates, dram["Z"].reads) == (updates, reads)
    assert dram["A"].reads == 4 and dram["B"].reads == 4


@st.composite
def unshared_case(draw):
    """A random brute-force case whose fanouts each stop sharing a random subset of the tensors."""
    c = draw(case(fanout_probability=0.7))
    names = [t["name"] for t in c["tensors"]]
    for n in c["nodes"]:
        if n["kind"] == "fanout":
            n["unshared"] = {t for t in names if draw(st.booleans())}
    return c


def check(c, rule):
    einsum, arch, mapping = to_einloop(c)
    outputs = {t["name"] for t in c["tensors"] if t["output"]}
    nodes = []
    for node, spec in zip(arch.nodes, c["nodes"]):
        if isinstance(node, Fanout):
            share = frozenset(t.name for t in einsum.tensors) - spec["unshared"]
            node = Fanout(node.name, node.mesh_x, node.mesh_y, share - outputs, share & outputs)
        nodes.append(node)
    result = evaluate(einsum, Architecture("case", tuple(nodes)), mapping, reuse_rule=rule)
    expected = simulate(c["ranks"], c["tensors"], c["nodes"], rule)
    for (level, tensor), want in expected.items():
        got = result.tensor(level, tensor)
        for key in ("reads", "fills", "updates", "utilized_capacity", "final_updates"):
            assert getattr(got, key) == want[key], (level, tensor, key, getattr(got, key), want[key])


@settings(max_examples=examples(400), deadline=None, suppress_health_check=list(HealthCheck))
@given(unshared_case(), st.sampled_from(["2024", "2025"]))
def test_unshared_fanouts_equal_bruteforce(c, rule):
    check(c, rule)


def test_bruteforce_unshared_is_not_vacuous():
    """The brute force's switch changes counts (so the property above can fail): the hand case with
    A unshared reads A 8 times instead of 2."""
    nodes = [{"kind": "storage", "name": "DRAM", "loops": [], "keep": {"A", "B", "Z"}},
             {"kind": "fanout", "name": "PEs", "loops": [("n", 4, "X")], "unshared": {"A"}},
             {"kind": "storage", "name": "Reg", "loops": [("k", 2)], "keep": {"A", "B", "Z"}},
             {"kind": "compute", "name": "MAC"}]
    tensors = [{"name": "A", "dims": [[("m", 1)], [("k", 1)]], "output": False},
               {"name": "B", "dims": [[("k", 1)], [("n", 1)]], "output": False},
               {"name": "Z", "dims": [[("m", 1)], [("n", 1)]], "output": True}]
    ranks = {"m": 1, "n": 4, "k": 2}
    assert simulate(ranks, tensors, nodes)[("DRAM", "A")]["reads"] == 8
    nodes[1]["unshared"] = set()
    assert simulate(ranks, tensors, nodes)[("DRAM", "A")]["reads"] == 2


def test_native_spelling_and_errors():
    """``multicast: false`` / ``reduction: [Z]`` on a fanout; anything else is one SpecError naming it."""
    base = {"nodes": [{"storage": "DRAM", "class": "DRAM", "energy": {"read": 1, "write": 1}, "area": 0},
                      {"fanout": "PEs", "mesh_x": 4, "multicast": False, "reduction": ["Z"]},
                      {"compute": "MAC", "energy": 1, "leak": 0, "area": 0}]}
    fan = read_architecture(base, "a.yaml").nodes[1]
    assert fan.multicast is False and fan.reduction == frozenset({"Z"})
    assert not fan.shares("A", False) and fan.shares("Z", True) and not fan.shares("Y", True)
    base["nodes"][1]["multicast"] = "sometimes"
    with pytest.raises(SpecError, match=r"a\.yaml: architecture\.nodes\[1\]\.multicast.*valid boolean"):
        read_architecture(base, "a.yaml")


def test_timeloop_no_multicast_constraints_set_the_fanout(tmp_path):
    """``no_multicast_no_reduction`` of A at Buffer and ``no_reduction`` (every data space) switch off,
    at the fanout below Buffer, A's multicast and every tensor's reduction; B keeps multicasting. On
    the same mapping that raises Buffer's reads of A and nothing else of A's."""
    from tests.test_timeloop_inputs import ARCH
    f = tmp_path / "in.yaml"
    mapping = textwrap.dedent("""
        mapping:
        - {target: MainMemory, type: temporal, factors: M=16 N=2 K=32, permutation: KNM}
        - {target: PE, type: spatial, factors: N=4 M=1 K=1, permutation: NMK, split: 1}
        - {target: Buffer, type: temporal, factors: M=1 N=1 K=1}
        - {target: Reg, type: temporal, factors: M=1 N=1 K=1}
        """)
    f.write_text(ARCH + mapping)
    plain = einloop.evaluate_spec(einloop.load([f], format="timeloop"))
    f.write_text(ARCH + mapping + textwrap.dedent("""
        mapspace_constraints:
          targets:
          - {target: Buffer, type: no_multicast_no_reduction, datatypes: [A]}
          - {target: Buffer, type: no_reduction}
        """))
    spec = einloop.load([f], format="timeloop")
    fan = next(n for n in spec.arch.nodes if isinstance(n, Fanout))
    assert fan.multicast == frozenset({"B", "Z"}) and fan.reduction == frozenset()
    off = einloop.evaluate_spec(spec)
    a0, a1 = plain.tensor("Buffer", "A"), off.tensor("Buffer", "A")
    assert a1.reads == 4 * a0.reads and a0.multicast == 4 and a1.multicast == 1
    assert off.tensor("Buffer", "B").reads == plain.tensor("Buffer", "B").reads


@pytest.mark.parametrize("seed", [1, 7, 14, 31, 39, 46])   # random_problem's seeds with a fanout and a
# brute force under 2 s (odd: nothing shared; even: all but the first input)
def test_mapper_optimum_without_multicast(seed):
    """The mapper's bounds stay lower bounds with unshared fanouts: its proven optimum equals the brute
    force over the whole mapspace (the bounds price the fanout's groups exactly, as the model does;
    pricing them with multicast would only be lower still, since unshared fanouts only add accesses)."""
    einsum, arch = random_problem(random.Random(seed))
    assert any(isinstance(n, Fanout) for n in arch.nodes)
    names = frozenset(t.name for t in einsum.tensors)
    share = frozenset() if seed % 2 else names - {einsum.tensors[0].name}
    nodes = tuple(Fanout(n.name, n.mesh_x, n.mesh_y, share, share) if isinstance(n, Fanout) else n
                  for n in arch.nodes)
    arch = Architecture(arch.name, nodes)
    found = map_einsum(einsum, arch, workers=1, chunk=64)
    assert found.stats.proven_optimal and found.result.valid
    assert found.result.energy == pytest.approx(brute_force(einsum, arch), rel=1e-9)


@pytest.mark.parametrize("extra", [
    "mapspace_constraints: {targets: [{target: PE, type: spatial, no_multicast_no_reduction: [A]}]}\n",
    "mapspace_constraints: {targets: [{target: PE, type: spatial, no_reuse: [A]}]}\n",
    "mapspace_constraints: {targets: [{target: Buffer, type: no_multicast_no_reduction, datatypes: [A]}]}\n",
    "MAPPING_KEY"])
def test_timeloop_spatial_key_spellings(tmp_path, extra):
    """Timeloop's own form is a key of a spatial constraint or mapping directive
    (``no_multicast_no_reduction: [A]``, timeloopfe's ``no_reuse``); each switches off A's multicast
    and reduction at the fanout and nothing else."""
    from tests.test_timeloop_inputs import ARCH
    mapping = textwrap.dedent("""
        mapping:
        - {target: MainMemory, type: temporal, factors: M=16 N=2 K=32, permutation: KNM}
        - {target: PE, type: spatial, factors: N=4 M=1 K=1, permutation: NMK, split: 1%s}
        """) % (", no_multicast_no_reduction: [A]" if extra == "MAPPING_KEY" else "")
    f = tmp_path / "in.yaml"
    f.write_text(ARCH + mapping + ("" if extra == "MAPPING_KEY" else textwrap.dedent(extra)))
    spec = einloop.load([f], format="timeloop")
    fan = next(n for n in spec.arch.nodes if isinstance(n, Fanout))
    assert fan.multicast == fan.reduction == frozenset({"B", "Z"})
    assert einloop.evaluate_spec(spec).tensor("Buffer", "A").multicast == 1


def test_timeloop_spatial_key_bad_data_space(tmp_path):
    from tests.test_timeloop_inputs import ARCH
    f = tmp_path / "in.yaml"
    f.write_text(ARCH + "mapspace_constraints: {targets: [{target: PE, type: spatial, no_reuse: [Q]}]}\n")
    with pytest.raises(SpecError, match=r"in\.yaml: mapspace_constraints\.targets\[0\]\.no_reuse: unknown data "
                                        r"space\(s\) Q"):
        einloop.load([f], format="timeloop")
