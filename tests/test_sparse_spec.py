"""einloop's native sparsity section and Sparseloop's inputs: what they read, and one clear SpecError
(file, field, what is allowed) for every wrong value."""
import json
import textwrap

import numpy as np
import pytest

from conftest import ROOT, reference_case
from einloop.errors import SpecError
from einloop.model.evaluate import evaluate
from einloop.model.sparse import evaluate_sparse
from einloop.spec.sparse import read_sparsity
from einloop.spec.sparse_load import load_sparse
from einloop.spec.sparse_timeloop import load_sparse_timeloop

EXAMPLE = [ROOT / "examples/workloads/matmul.yaml", ROOT / "examples/arch/two_level.yaml",
           ROOT / "examples/mappings/matmul_two_level.yaml"]
TENSORS, LEVELS = ("Z", "A", "B"), ("DRAM", "Buffer")


def write(tmp_path, text: str):
    path = tmp_path / "sparsity.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_native_skipping_matmul(tmp_path):
    """A (2:4 structured) and B (1:2) in UOP-CP at the Buffer, Z skipped on both: computes =
    256^3 x 0.5 x 0.5 = 4,194,304; Buffer A reads 256^3 x 0.5 (compressed) x 0.5 (skipped on B)."""
    path = write(tmp_path, """
        sparsity:
          densities: {A: "2:4", B: "1:2"}
          levels:
            Buffer:
              formats: {A: [UOP, CP], B: [UOP, CP]}
              skip: {A: [B], B: [A], Z: [A, B]}
              metadata: {width: 8, datawidth: 8}
        """)
    inp = load_sparse(EXAMPLE + [path])
    result = evaluate_sparse(inp.einsum, inp.arch, inp.mapping, inp.sparsity)
    assert result.computes.random == 256 ** 3 // 4
    a = result.action("Buffer", "A", "read")
    assert (a.algorithmic, a.random, a.skipped, a.absent) == (256 ** 3, 256 ** 3 // 4, 256 ** 3 // 4, 256 ** 3 // 2)
    assert result.tensor("Buffer", "A").data_occupancy == 64 * 256 // 2
    dense = evaluate(inp.einsum, inp.arch, inp.mapping)
    assert result.energy < dense.energy and result.cycles < dense.cycles
    json.dumps(result.to_dict())
    assert set(result.action_table().columns) >= {"random", "gated", "skipped", "energy_pJ"}
    assert "metadata_bits" in result.tensor_table().columns


def test_actual_data_array_overrides_the_density():
    a = np.zeros((256, 256))
    a[:, :64] = 1.0          # a quarter of A's columns (k) are nonzero
    doc = {"levels": {"Buffer": {"formats": {"A": ["UOP", "CP"]}}}}
    sp = read_sparsity(doc, "x.yaml", TENSORS, LEVELS, arrays={"A": a})
    assert sp.density("A").distribution == "actual" and sp.density("A").density == 0.25


@pytest.mark.parametrize("doc, field, words", [
    ({"densites": {}}, "sparsity.densites", "did you mean 'densities'"),
    ({"densities": {"Q": 0.5}}, "sparsity.densities.Q", "allowed: Z, A, B"),
    ({"densities": {"A": 1.5}}, "sparsity.densities.A", "in [0, 1]"),
    ({"densities": {"A": float("nan")}}, "sparsity.densities.A", "in [0, 1]"),
    ({"densities": {"A": True}}, "sparsity.densities.A", "in [0, 1]"),
    ({"densities": {"A": "5:4"}}, "sparsity.densities.A", "N:M"),
    ({"densities": {"A": {"distribution": "banded", "density": 0.5}}}, "sparsity.densities.A.distribution",
     "not modelled"),
    ({"levels": {"Bufer": {}}}, "sparsity.levels.Bufer", "did you mean 'Buffer'"),
    ({"levels": {"Buffer": {"formats": {"A": ["CSR"]}}}}, "sparsity.levels.Buffer.formats.A[0]",
     "allowed: U, B, CP, UOP, RLE"),
    ({"levels": {"Buffer": {"skip": {"Z": ["C"]}}}}, "sparsity.levels.Buffer.skip.Z.condition_on", "no tensor 'C'"),
    ({"levels": {"Buffer": {"skip": {"Z": ["Z"]}}}}, "sparsity.levels.Buffer.skip.Z.condition_on", "itself"),
    ({"levels": {"Buffer": {"gate": {"Z": []}}}}, "sparsity.levels.Buffer.gate.Z.condition_on", "at least one"),
    ({"levels": {"Buffer": {"metadata": {"width": -4}}}}, "sparsity.levels.Buffer.metadata.width", "non-negative"),
])
def test_native_errors_name_the_field(doc, field, words):
    with pytest.raises(SpecError) as err:
        read_sparsity(doc, "s.yaml", TENSORS, LEVELS)
    assert err.value.file == "s.yaml" and err.value.field == field and words in str(err.value)


def test_unknown_top_level_section(tmp_path):
    path = write(tmp_path, "sparsty: {}\n")
    with pytest.raises(SpecError, match="unknown top-level section.*sparsty"):
        load_sparse(EXAMPLE + [path])


def _timeloop_doc_error(tmp_path, case, patch):
    import yaml
    ref = reference_case(case) / "ref-output"
    doc = yaml.safe_load((ref / "parsed-processed-input.yaml").read_text())
    patch(doc)
    path = tmp_path / "input.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecError) as err:
        load_sparse_timeloop([path] + sorted(ref.glob("*mapper.map.yaml")) + sorted(ref.glob("*.ERT.yaml")))
    return err.value


def test_timeloop_condition_on_unknown_tensor(tmp_path):
    def patch(doc):
        doc["sparse_optimizations"]["targets"][0]["action_optimization"][0]["options"][0]["condition_on"] = ["W"]
    err = _timeloop_doc_error(tmp_path, "sparse_02_SUDU_dot_product_gating", patch)
    assert err.field == "sparse_optimizations.targets[0].action_optimization[0].options[0].condition_on"
    assert "no tensor 'W'" in str(err)


def test_timeloop_unknown_level_and_type(tmp_path):
    def level(doc):
        doc["sparse_optimizations"]["targets"][0]["name"] = "Bufer"
    assert "did you mean 'Buffer'" in str(_timeloop_doc_error(tmp_path, "sparse_02_SUDU_dot_product_gating", level))

    def kind(doc):
        doc["sparse_optimizations"]["targets"][0]["action_optimization"][0]["type"] = "gateing"
    assert "did you mean 'gating'" in str(_timeloop_doc_error(tmp_path, "sparse_02_SUDU_dot_product_gating", kind))


def test_timeloop_compute_optimization_on_a_storage_level_is_an_error(tmp_path):
    def patch(doc):
        doc["sparse_optimizations"]["targets"][0]["compute_optimization"] = [{"type": "gating"}]
    err = _timeloop_doc_error(tmp_path, "sparse_02_SUDU_dot_product_gating", patch)
    assert "belongs on the compute level 'mac'" in str(err)


def test_compute_gating_keeps_cycles_skipping_saves_them():
    """sparse_02 with MAC gating added: the 4 issued computes all have A nonzero and B dense, so none
    is gated; with B at density 0.5 too, 16 x 0.25 x 0.5 = 2 effectual, 2 gated (cycles 4 kept at
    the MAC) or 2 skipped (MAC cycles 2)."""
    import dataclasses
    from einloop.api import timeloop_files
    from einloop.spec.sparse import Density
    spec = load_sparse_timeloop(timeloop_files(reference_case("sparse_02_SUDU_dot_product_gating") / "ref-output"))
    e, arch, m = spec.dense.einsum, spec.dense.arch, spec.dense.mapping
    gated = evaluate_sparse(e, arch, m, dataclasses.replace(spec.sparse, compute="gating"))
    assert (gated.computes.random, gated.computes.gated) == (4, 0)
    half = {**spec.sparse.densities, "B": Density("fixed_structured", 0.5)}
    gated = evaluate_sparse(e, arch, m, dataclasses.replace(spec.sparse, densities=half, compute="gating"))
    skipped = evaluate_sparse(e, arch, m, dataclasses.replace(spec.sparse, densities=half, compute="skipping"))
    assert (gated.computes.random, gated.computes.gated, gated.compute_cycles) == (2, 2, 4)
    assert (skipped.computes.random, skipped.computes.skipped, skipped.compute_cycles) == (2, 2, 2)
    # the ERT has no gated compute energy and the Buffer's bandwidth holds both at 16 cycles
    assert gated.cycles == skipped.cycles == 16
    assert gated.energy == pytest.approx(skipped.energy, rel=1e-12)
