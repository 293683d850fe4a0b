"""einloop says what it estimates or ignores in a Timeloop input (stderr and the JSON's ``notes``),
and never prices a component it cannot model at a silent 0."""
import json

import pytest

from timeloop_reference import PEER, input_files
from einloop.api import load_timeloop
from einloop.cli import main
from einloop.errors import SpecError
from einloop.model.evaluate import evaluate

NO_ERT = PEER / "Accelergy-Project.timeloop-python__2024-05-23.tests.test_configs"
SPARSE = PEER / "JYLiAo32.timeloop-accelergy-exercises__2025-10-16.example.sparseloop.01.2.2-SUDU-dot-product"


def need(folder):
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    return folder


def test_components_without_ert_get_library_estimates_and_say_so():
    """test_configs has no ERT: DRAM 'Offchip' (256-bit accesses), SRAM 'Glb', intmac 'Mac'. einloop
    prices them with its library (DRAM LPDDR4: 8 pJ/bit x 256 bits = 2048 pJ per access), names each
    in a note, and the total is not 0."""
    spec = load_timeloop(input_files(need(NO_ERT)))
    result = evaluate(spec.einsum, spec.arch, spec.mapping)
    assert [n.split(":")[0] for n in result.notes] == ["Offchip", "Glb", "Mac"]
    assert all("component library estimate" in n for n in result.notes)
    assert spec.arch.node("Offchip").energy.read == 2048.0
    assert result.energy > 0 and spec.arch.compute.energy > 0


def test_a_class_the_library_cannot_model_is_an_error_naming_it(tmp_path):
    """Without an ERT, a component of a class einloop's library has no model for is refused, naming
    the component and its class."""
    text = (need(NO_ERT) / "input.yaml").read_text().replace("class: SRAM", "class: mystery_buffer")
    path = tmp_path / "input.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as err:
        load_timeloop([path, NO_ERT / "map.yaml"])
    assert "Glb" in str(err.value) and "mystery_buffer" in str(err.value)


def test_sparse_optimizations_evaluated_dense_is_said(capsys):
    """Through the dense API a Sparseloop input is evaluated dense and the result says so in its notes;
    ``einloop eval`` evaluates it sparse instead (tests/test_sparse_cli.py), the dense numbers beside."""
    from einloop import api
    folder = need(SPARSE)
    files = [str(p) for p in input_files(folder)]
    result = api.evaluate_spec(api.load(files))
    assert any(n.startswith("sparse_optimizations ignored") for n in result.notes)
    assert main(["eval", *files, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "dense" in out and out["computes"]["algorithmic"] == out["dense"]["computes"]


def test_exact_flag_gives_exact_counts_and_says_so(capsys):
    """tl05 (2024-03-02): Timeloop's extrapolation counts 96 RegisterFile Input fills, the exact count
    is 90 (see test_timeloop_semantics); ``einloop eval --exact`` gives it and the JSON names it."""
    folder = need(PEER / "Accelergy-Project.timeloop-accelergy-exercises__2024-03-02.tl.05-mapper-conv1d+oc-3level.null")
    seen = {}
    for flags in ([], ["--exact"]):
        assert main(["eval", *(str(p) for p in input_files(folder)), "--reuse-rule", "2024", "--json", *flags]) == 0
        d = json.loads(capsys.readouterr().out)
        seen[d["semantics"]["name"]] = d["tensors"]["RegisterFile.Inputs"]["fills"]
    assert seen == {"timeloop": 96, "einloop": 90}
