"""``einloop eval`` on a Sparseloop input evaluates it sparse (report/sparse_cli.py)."""
import json

import pytest

from conftest import reference_case
from einloop.api import timeloop_files
from einloop.cli import main


def test_eval_of_a_sparseloop_case_is_sparse(capsys):
    """sparse_03 (SCDU dot product, skipping): Sparseloop prints 4 cycles, 4 actual of 16 algorithmic
    computes and 655.5 fJ per algorithmic compute; the dense evaluation would be 16 cycles."""
    files = [str(p) for p in timeloop_files(reference_case("sparse_03_SCDU_dot_product_skipping") / "ref-output")]
    assert main(["eval", *files, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cycles"] == 4 and out["dense"]["cycles"] == 16
    assert out["computes"]["algorithmic"] == 16 and out["computes"]["random"] == 4
    assert out["energy_per_algorithmic_compute_pJ"] == pytest.approx(0.6555, abs=5e-5)
    assert main(["eval", *files]) == 0
    text = capsys.readouterr().out
    assert "Sparse evaluation: valid" in text and "0.6555 pJ per dense compute" in text
