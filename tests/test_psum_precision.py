"""Partial-sum precision: an output with 24-bit partial sums and 8-bit final values. Partial sums that
move (read back, refilled, spilled upward) move 24-bit words; each word's final write moves 8 bits.
The final updates per level are checked against the brute force (tests/test_model_vs_bruteforce.py)."""
import textwrap

from einloop import api
from einloop.model.evaluate import evaluate
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Storage
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.workload import Einsum

ONE = ActionEnergy(read=1.0, fill=1.0, update=1.0)


def case(psum_bits):
    """Z[m] += A[m,k] * B[k], M=4, K=6; DRAM (loops K2 then M4) -> RF (loop K3, keeps Z) -> mac; 8-bit
    words, one word per access, 1 pJ per access."""
    einsum = Einsum.parse("Z[m] += A[m,k] * B[k]", {"m": 4, "k": 6}, psum_bits=psum_bits)
    arch = Architecture("two", (Storage("DRAM", energy=ONE), Storage("RF", 64, energy=ONE), Compute("mac")))
    mapping = Mapping((NodeMapping("DRAM", (Loop("k", 2), Loop("m", 4))),
                       NodeMapping("RF", (Loop("k", 3),), frozenset({"Z"}))))
    return evaluate(einsum, arch, mapping)


def test_partial_sums_move_psum_words_final_writes_output_words():
    """Counts (either width): the RF holds one Z word and is visited 8 times (k2 x m4): 8 deltas, the
    first visit of each of the 4 words carries nothing: RF fills 4; DRAM updates 8, of which the 4
    second-half writes are final, reads 8 - 4 = 4. The MAC updates the RF 24 times (4 final, the last
    of each word), the RF reads 24 - 4 = 20 to accumulate.
    Words at 24-bit partial sums (3 words) and 8-bit outputs (1): RF updates 20 x 3 + 4 = 64, RF reads
    20 x 3 = 60, RF fills 4 x 3 = 12, DRAM updates 4 x 3 + 4 = 16, DRAM reads 4 x 3 = 12: 164 pJ of Z.
    At 8 bits throughout: 24 + 20 + 4 + 8 + 4 = 60 pJ. Charging final outputs at psum width would give
    RF updates 72 and DRAM updates 24 (180 pJ)."""
    wide, narrow = case(24), case(None)
    for r in (wide, narrow):
        rf, dram = r.tensor("RF", "Z"), r.tensor("DRAM", "Z")
        assert (rf.updates, rf.final_updates, rf.reads, rf.fills) == (24, 4, 20, 4)
        assert (dram.updates, dram.final_updates, dram.reads) == (8, 4, 4)
    rf, dram = wide.tensor("RF", "Z"), wide.tensor("DRAM", "Z")
    assert (rf.update_energy, rf.read_energy, rf.fill_energy) == (64, 60, 12)
    assert (dram.update_energy, dram.read_energy) == (16, 12)
    assert rf.energy + dram.energy == 164
    assert narrow.tensor("RF", "Z").energy + narrow.tensor("DRAM", "Z").energy == 60
    assert wide.level("RF").occupancy == 3     # the RF holds one partial sum of 3 words


def test_psum_bits_in_a_native_workload(tmp_path):
    """``psum_bits`` on an Einsum of a native workload sets its output's partial-sum width."""
    path = tmp_path / "w.yaml"
    path.write_text(textwrap.dedent("""\
        workload:
          einsums:
            - einsum: "Z[m] += A[m,k] * B[k]"
              ranks: {m: 4, k: 6}
              psum_bits: 24
        """))
    einsum = api.load([path]).workload.einsum(None)
    assert einsum.output.psum_bits == 24 and einsum.output.bits == 8
    assert all(t.psum_bits is None for t in einsum.inputs)
