"""Mapping text reads back: ``RANK=FACTOR`` from every printer, read by every reader (issue 25 item 1)."""
from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from einloop import api
from strategies import prime_factors
from einloop.cli import main
from einloop.errors import SpecError
from einloop.mapper.cli import mapping_dict
from einloop.spec.mapping import Loop, Mapping, NodeMapping, parse_loops, resolve, validate
from einloop.spec.native import read_architecture, read_mapping
from einloop.spec.workload import Einsum
from einloop.spec.yamlio import load_yaml

EX = ROOT / "examples"
ARCH = read_architecture(load_yaml(EX / "arch/tpu_like.yaml")["architecture"])
TEMPORAL, FANOUT = ("DRAM", "UnifiedBuffer", "WeightReg"), "MAC_array"


@st.composite
def einsums(draw):
    """A random three-tensor Einsum whose rank names often end in digits (n1, k12, ...)."""
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9]{0,2}[0-9]", fullmatch=True) | st.sampled_from(["n", "k", "m"]),
                          min_size=2, max_size=5, unique=True))
    bounds = {r: draw(st.integers(1, 96)) for r in names}
    half = len(names) // 2
    text = f"Z[{','.join(names[:half + 1])}] += A[{','.join(names)}] * B[{','.join(names[half:])}]"
    return Einsum.parse(text, bounds)


@st.composite
def mappings(draw, einsum: Einsum) -> Mapping:
    """Every rank's prime factors spread over the TPU-like levels and its fanout's X and Y."""
    slots = [(t, None) for t in TEMPORAL] + [(FANOUT, "X"), (FANOUT, "Y")]
    per_slot: dict[tuple, list[Loop]] = {s: [] for s in slots}
    for rank, bound in einsum.ranks.items():
        chosen: dict[tuple, int] = {}
        for p in prime_factors(bound):
            slot = draw(st.sampled_from(slots))
            chosen[slot] = chosen.get(slot, 1) * p
        for slot, factor in chosen.items():
            per_slot[slot].append(Loop(rank, factor, slot[1]))
    nodes = []
    tensors = [t.name for t in einsum.tensors]
    for target in TEMPORAL + (FANOUT,):
        loops = tuple(draw(st.permutations([l for (t, _), ls in per_slot.items() if t == target for l in ls])))
        kind = "none" if target in ("DRAM", FANOUT) else draw(st.sampled_from(["none", "keep", "bypass"]))
        chosen = frozenset(draw(st.lists(st.sampled_from(tensors), unique=True)))
        nodes.append(NodeMapping(target, loops, chosen if kind == "keep" else None,
                                 chosen if kind == "bypass" else frozenset()))
    return Mapping(tuple(nodes))


def read_back(mapping: Mapping, einsum: Einsum) -> Mapping:
    """The mapping as `einloop map --json` prints it, dumped to YAML and read as `einloop eval` does."""
    text = yaml.safe_dump({"mapping": mapping_dict(mapping)})
    return resolve(read_mapping(yaml.safe_load(text)["mapping"], "printed.yaml"), einsum)


def _loops(mapping: Mapping) -> dict[str, tuple]:
    """Per node: loops (temporal in order, spatial in order per axis: the YAML form groups X, then Y),
    and what it keeps and bypasses."""
    return {n.target: ([(l.rank, l.factor, l.spatial) for l in sorted(n.loops, key=lambda l: l.spatial or "")],
                       n.keep, n.bypass)
            for n in mapping.nodes if n.loops or n.keep is not None or n.bypass}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.data())
def test_printed_mapping_reads_back(data):
    """Random workloads with digit-ending rank names: the printed mapping reads back loop for loop,
    with the same keep and bypass sets."""
    einsum = data.draw(einsums())
    mapping = data.draw(mappings(einsum))
    back = read_back(mapping, einsum)
    assert _loops(back) == _loops(mapping)


def test_every_example_and_zoo_einsum_reads_back():
    """One spread mapping per Einsum of every zoo network and example workload reads back exactly."""
    from einloop.workloads import zoo
    workloads = [zoo.get(n) for n in zoo.names()]
    workloads += [api.load([EX / f"workloads/{w}.yaml"]).workload for w in ("matmul", "conv")]
    checked = 0
    for wl in workloads:
        for einsum in wl.einsums:
            nodes = [NodeMapping("DRAM", tuple(Loop(r, b) for r, b in einsum.ranks.items() if b > 1))]
            inner = [Loop(r, 1) for r in einsum.ranks]   # unit loops print and read back too
            mapping = Mapping(tuple(nodes) + (NodeMapping("UnifiedBuffer", tuple(inner)),))
            assert _loops(read_back(mapping, einsum)) == _loops(mapping), einsum.name
            checked += 1
    assert checked > 800


def test_printer_writes_rank_equals_factor():
    m = Mapping((NodeMapping("DRAM", (Loop("n1", 4), Loop("k", 16))),
                 NodeMapping("MAC_array", (Loop("n12", 2, "X"), Loop("m", 3, "Y")))))
    assert mapping_dict(m) == [{"target": "DRAM", "temporal": "n1=4 k=16"},
                               {"target": "MAC_array", "spatial": {"X": "n12=2", "Y": "m=3"}}]


@pytest.mark.parametrize("ranks,text,expected", [
    ({"n1": 4, "k": 1}, "n14", ("n1", 4)),       # only n1 is a rank: n1 x 4
    ({"n": 14, "k": 1}, "n14", ("n", 14)),       # only n is a rank: n x 14
    ({"n1": 4, "k": 1}, "n1=4", ("n1", 4)),
    ({"n": 10, "n1": 1}, "n10", ("n", 10)),      # n1 x 0 is no loop, so only n x 10 reads
    ({"m": 64}, "m64", ("m", 64)),
])
def test_older_form_is_read_where_unambiguous(ranks, text, expected):
    einsum = Einsum.parse(f"Z[{','.join(ranks)}] += A[{','.join(ranks)}]", ranks)
    mapping = resolve(Mapping((NodeMapping("DRAM", parse_loops(text)),)), einsum)
    loop = mapping.nodes[0].loops[0]
    assert (loop.rank, loop.factor) == expected


def test_ambiguous_older_form_is_refused():
    einsum = Einsum.parse("Z[n,n1] += A[n,n1]", {"n": 14, "n1": 4})
    with pytest.raises(SpecError, match=r"'n14' is ambiguous.*'n=14' or 'n1=4'"):
        resolve(Mapping((NodeMapping("DRAM", parse_loops("n14")),)), einsum)


def test_map_json_output_evaluates_with_digit_rank_names(tmp_path, capsys):
    """`einloop map --json` on ranks n1, k12 prints a mapping that `einloop eval` reads to the same energy."""
    wl = tmp_path / "wl.yaml"
    wl.write_text("workload:\n  einsums:\n    - name: mm\n      einsum: 'Z[m,n1] += A[m,k12] * B[k12,n1]'\n"
                  "      ranks: {m: 16, n1: 14, k12: 8}\n")
    arch = EX / "arch/two_level.yaml"
    assert main(["map", str(wl), str(arch), "--json", "--workers", "1", "--quiet"]) == 0
    found = json.loads(capsys.readouterr().out)["einsums"][0]
    assert any("n1=" in n.get("temporal", "") for n in found["mapping"])
    mp = tmp_path / "map.yaml"
    mp.write_text(yaml.safe_dump({"mapping": found["mapping"]}))
    assert main(["eval", str(wl), str(arch), str(mp), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["energy"] == pytest.approx(found["result"]["energy"], rel=1e-12)
    assert again["cycles"] == found["result"]["cycles"]
