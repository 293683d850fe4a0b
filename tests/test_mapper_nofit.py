"""Valid but unsatisfiable problems: 'no mapping fits: <what rules every candidate out>', exit 1,
never a traceback (issue 17 item 4). Each reason is derived by hand in its case's comment."""
import json

import pytest

from conftest import ROOT
from einloop.cli import main

EX = ROOT / "examples"
MATMUL = EX / "workloads/matmul.yaml"   # Z[m,n] += A[m,k] * B[k,n], 256^3, 8-bit words

CASES = {
    # m = 256 = 2^8: a fixed factor 3 at the buffer cannot divide it
    "factor": ("two_level", "levels:\n    - target: Buffer\n      factors: {m: 3}\n",
               "constraints.Buffer.factors: the fixed factors of rank m (Buffer 3) multiply to 3, which does "
               "not divide its bound 256"),
    # the buffer's own loops m256 n256 k256 make its tiles the whole of Z, A and B: 3 x 65,536 words
    "capacity": ("two_level", "levels:\n    - target: Buffer\n      keep: [A, B, Z]\n"
                              "      factors: {m: 256, n: 256, k: 256}\n",
                 "level Buffer holds 32,768 words, but the smallest tiles it must keep (Z, A, B) need 196,608 "
                 "words"),
    # the 14 x 12 array needs all 168 PEs, but 256 = 2^8 gives at most 8 x 8 = 64 on its axes (X <= 14
    # and Y <= 12 admit powers of two up to 8 each)
    "utilization": ("eyeriss_like", "levels:\n    - target: PE_array\n      min_utilization: 1.0\n",
                    "constraints.PE_array.min_utilization: 1 needs 168 of 168 instances, but the spatial loops "
                    "the constraints allow use at most 64"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_mapping_fits_says_why_and_exits_1(case, tmp_path, capsys):
    arch, levels, reason = CASES[case]
    c = tmp_path / "c.yaml"
    c.write_text("constraints:\n  " + levels)
    code = main(["map", str(MATMUL), str(EX / f"arch/{arch}.yaml"), "--constraints", str(c)])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.err
    assert out.out.strip().splitlines() == [f"Einsum matmul: no mapping fits: {reason}" +
                                            ("" if case != "capacity" else " in every dataplacement the "
                                                                           "constraints allow")]
    code = main(["map", str(MATMUL), str(EX / f"arch/{arch}.yaml"), "--constraints", str(c), "--json"])
    out = capsys.readouterr()
    assert code == 1 and json.loads(out.out)["einsums"][0]["no_answer"].startswith("no mapping fits: ")
    assert out.err.strip().splitlines() == [f"einloop: Einsum matmul: no mapping fits: {reason}" +
                                            ("" if case != "capacity" else " in every dataplacement the "
                                                                           "constraints allow")]
