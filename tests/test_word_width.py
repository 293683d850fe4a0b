"""Word width per (level, tensor): ``Storage.tensor_bits`` (einloop YAML: ``bits: {Z: 24}`` at a
storage level) sets a tensor's bits per value at that level only: capacity, vector accesses (so
energy) and bandwidth demand there, composing with the output's ``psum_bits`` elsewhere."""
from __future__ import annotations

import pytest

from einloop.errors import SpecError
from einloop.mapper.search import map_einsum
from einloop.model.evaluate import evaluate
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Storage
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.native import read_architecture
from einloop.spec.workload import Einsum

E = ActionEnergy(read=1.0, fill=2.0, update=3.0)


def _run(acc_bits=(), psum_bits=None, acc_size=None, read_bw=None, dram_k=1):
    """Z[m,n] += A[m,k]*B[k,n], m=n=2, k=4, 8-bit values, on DRAM -> Acc (keeps only Z) -> MAC; DRAM
    loops (k ``dram_k``, outermost) m2 n2, Acc loops the rest of k."""
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 2, "n": 2, "k": 4}, psum_bits=psum_bits)
    arch = Architecture("w", (Storage("DRAM", energy=E),
                              Storage("Acc", acc_size, 8, 1, read_bw, energy=E, tensor_bits=acc_bits),
                              Compute("MAC", 1.0)))
    dram = ((Loop("k", dram_k),) if dram_k > 1 else ()) + (Loop("m", 2), Loop("n", 2))
    m = Mapping((NodeMapping("DRAM", dram), NodeMapping("Acc", (Loop("k", 4 // dram_k),), frozenset({"Z"}))))
    return evaluate(e, arch, m)


def test_accumulator_width_hand_derived():
    """Acc holds one Z value at a time; the 16 MACs update it 16 times, 12 of them read back (the first
    update of each of the 4 words needs no read). At 8 bits a value is 1 word: 16 update + 12 read
    vectors = 16*3 + 12*1 = 60 pJ; at 24 bits 3 words: 180 pJ. Acc's 4 updates of DRAM carry final
    values: DRAM's width (8 bits), 4 x 3 pJ = 12 pJ both ways. Occupancy 1 word vs 3."""
    narrow, wide = _run(), _run(acc_bits=(("Z", 24),))
    n, w = narrow.tensor("Acc", "Z"), wide.tensor("Acc", "Z")
    assert (n.updates, n.reads) == (16, 12) and (w.updates, w.reads) == (16, 12)
    assert n.energy == pytest.approx(60.0) and w.energy == pytest.approx(180.0)
    assert narrow.tensor("DRAM", "Z").energy == wide.tensor("DRAM", "Z").energy == pytest.approx(12.0)
    assert narrow.tensor("DRAM", "A").energy == wide.tensor("DRAM", "A").energy


def test_accumulator_width_capacity_and_bandwidth():
    """A 2-word Acc fits an 8-bit Z value (1 word) but not a 24-bit one (3 words). With 1 word/cycle
    of read bandwidth, 12 reads in 16 cycles fit at 8 bits; at 24 bits 36 words need 36 cycles."""
    assert _run(acc_size=2).valid and not _run(acc_bits=(("Z", 24),), acc_size=2).valid
    assert _run(read_bw=1.0).cycles == 16
    assert _run(acc_bits=(("Z", 24),), read_bw=1.0).cycles == 36


def test_level_width_composes_with_psum_bits():
    """k split 2 x 2 (DRAM's outermost loop x Acc): each Z word leaves Acc twice, so DRAM receives 8
    updates, 4 of them final, and 4 reads of partial sums. With
    ``psum_bits: 24`` everywhere the 4 non-final ones move 3 words: 4*3 + 4*1 = 16 update vectors, and
    its 4 reads of partial sums 12 vectors: 16*3 + 12*1 = 60 pJ. With 24 bits only at Acc, DRAM moves
    8-bit words: 8*3 + 4*1 = 28 pJ. At Acc (16 updates, 12 reads, 4 fills of partial sums): the level's
    24 bits hold for every action, (16*3*3 + 12*3*1 + 4*3*2) = 204 pJ; with psum_bits the 4 final updates
    carry 8-bit values: (12*3 + 4)*3 + 36 + 24 = 180 pJ."""
    everywhere = _run(psum_bits=24, dram_k=2)
    acc_only = _run(acc_bits=(("Z", 24),), dram_k=2)
    assert everywhere.tensor("DRAM", "Z").updates == acc_only.tensor("DRAM", "Z").updates == 8
    assert everywhere.tensor("DRAM", "Z").energy == pytest.approx(60.0)
    assert acc_only.tensor("DRAM", "Z").energy == pytest.approx(28.0)
    acc = acc_only.tensor("Acc", "Z")
    assert (acc.updates, acc.reads, acc.fills) == (16, 12, 4)
    assert acc.energy == pytest.approx(204.0) and everywhere.tensor("Acc", "Z").energy == pytest.approx(180.0)


def test_mapper_respects_level_width():
    """The mapper's capacity prefilter and bounds use the level's width: with a 2-word Acc that must
    hold 24-bit Z values, every mapping keeping Z at Acc is invalid, so the optimum bypasses it."""
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 2, "n": 2, "k": 4})
    arch = Architecture("w", (Storage("DRAM", energy=ActionEnergy(50, 50, 50)),
                              Storage("Acc", 2, 8, 1, energy=E, tensor_bits=(("Z", 24),)), Compute("MAC", 1.0)))
    found = map_einsum(e, arch, workers=1, chunk=64)
    assert found.result.valid and found.stats.proven_optimal
    assert all(t.level != "Acc" or t.tensor != "Z" for t in found.result.tensors)
    narrow = Architecture("w", (arch.nodes[0], Storage("Acc", 2, 8, 1, energy=E), arch.nodes[2]))
    kept = map_einsum(e, narrow, workers=1, chunk=64).result
    assert any(t.level == "Acc" and t.tensor == "Z" for t in kept.tensors)


def test_native_spelling_and_errors():
    """``bits: {Z: 24}`` on a storage node; a non-positive or non-integer width is one SpecError."""
    node = {"storage": "Acc", "class": "SRAM", "depth": 64, "bits": {"Z": 24},
            "energy": {"read": 1, "write": 1}, "area": 0}
    arch = {"nodes": [node, {"compute": "MAC", "energy": 1, "leak": 0, "area": 0}]}
    assert read_architecture(arch, "a.yaml").nodes[0].bits_of("Z") == 24
    assert read_architecture(arch, "a.yaml").nodes[0].bits_of("A") is None
    node["bits"] = {"Z": 0}
    with pytest.raises(SpecError, match=r"a\.yaml: architecture\.nodes\[0\]\.bits\.Z: Input should be greater than 0"):
        read_architecture(arch, "a.yaml")
    node["bits"] = {"Z": "wide"}
    with pytest.raises(SpecError, match=r"a\.yaml"):
        read_architecture(arch, "a.yaml")


def test_same_shape_einsums_are_searched_apart_when_widths_name_tensors():
    """Acc sets 24 bits for Z only: the matmul writing Z and an identical one writing Y are not the same
    problem there, so map_workload searches both (no reuse) and only Z's result pays 24-bit words."""
    from einloop.mapper.network import map_workload
    from einloop.spec.workload import Workload
    a = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 2, "n": 2, "k": 4}, name="a")
    b = Einsum.parse("Y[m,n] += C[m,k] * D[k,n]", {"m": 2, "n": 2, "k": 4}, name="b")
    arch = Architecture("w", (Storage("DRAM", energy=ActionEnergy(50, 50, 50)),
                              Storage("Acc", 64, 8, 1, energy=E, tensor_bits=(("Z", 24),)), Compute("MAC", 1.0)))
    out = map_workload(Workload("w", (a, b)), arch, workers=1, chunk=64)
    assert out.reused == {} and [r.einsum.name for r in out.layers] == ["a", "b"]
    plain = Architecture("w", (arch.nodes[0], Storage("Acc", 64, 8, 1, energy=E), arch.nodes[2]))
    assert map_workload(Workload("w", (a, b)), plain, workers=1, chunk=64).reused == {"b": "a"}


def test_widths_naming_no_tensor_of_the_einsum_are_said_ignored():
    """``bits: {Q: 24}`` at Acc for an Einsum without Q changes nothing and the result says so."""
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 2, "n": 2, "k": 4})
    arch = Architecture("w", (Storage("DRAM", energy=E), Storage("Acc", None, 8, 1, energy=E,
                                                                 tensor_bits=(("Q", 24),)), Compute("MAC", 1.0)))
    m = Mapping((NodeMapping("DRAM", (Loop("m", 2), Loop("n", 2))), NodeMapping("Acc", (Loop("k", 4),))))
    r = evaluate(e, arch, m)
    assert any("Acc: per-tensor setting(s) for Q ignored" in n for n in r.notes), r.notes
    plain = Architecture("w", (arch.nodes[0], Storage("Acc", None, 8, 1, energy=E), arch.nodes[2]))
    assert r.energy == evaluate(e, plain, m).energy and not evaluate(e, plain, m).notes
