"""The Sparseloop MICRO'22 artifact, Fig. 1 (timeloop-v03-cases): a 128^3 spMspM, A and B at the same
density d, bitmask (gating) and coordinate-list (skipping) designs, read in the v0.3 form unchanged.
The mapping is the one the artifact's mapper printed (timeloop-mapper.map.txt, occupancies in
parentheses dropped).

Asserted: AccelForge's own reproduction tolerances (published-numbers.md 3d: coordinate-list cycles
+-20 %, energy +-10 %; bitmask energy +-25 %) and einloop's tighter measured agreement: coordinate-list
cycles exact to one cycle (the two odd ones are Sparseloop's float rounding), bitmask cycles within 1 %
(Sparseloop's Reg adds one cycle per output, 16,384), energies as listed in docs/sparsity.md.
"""
import json
import re
from pathlib import Path

import pytest
import yaml

from einloop.model.sparse import evaluate_sparse
from einloop.spec.sparse_load import load_sparse
from einloop.spec.timeloop_maptxt import read_map_txt

V03 = Path(__file__).resolve().parents[2] / "shared" / "reference" / "timeloop-v03-cases"
PREFIX = "Accelergy-Project.micro22-sparseloop-artifact__2022-08-07.fig1.density-"
DENSITIES = ("0.01", "0.02", "0.04", "0.08", "0.1", "0.2", "0.4", "0.8")
# published-numbers.md 3d (Sparseloop artifact, Fig. 1)
CL_CYCLES = (34056, 58124, 116247, 232490, 295152, 578952, 1157904, 3698200)
BM_CYCLES = 2113536
BM_ENERGY = (1.34, 1.42, 1.62, 2.04, 2.27, 3.38, 5.93, 12.29)
CL_ENERGY = (0.39, 0.62, 1.18, 2.31, 2.92, 5.77, 11.87, 25.41)


def evaluate_case(folder: Path, tmp_path: Path):
    """The folder's inputs as the run got them (source.json), with the mapper's printed mapping."""
    inp = folder / "input"
    src = json.loads((folder / "source.json").read_text())
    files = [folder / k for k in src["files"] if k.startswith("input/") and k.endswith(".yaml")]
    printed = folder / "timeloop-mapper.map.txt"    # mapper runs: the mapping it printed
    if printed.is_file():
        text = re.sub(r" ?\(\d+\)", "", printed.read_text())
        mapping = tmp_path / "mapping.yaml"
        mapping.write_text(yaml.safe_dump({"mapping": read_map_txt(text, ["A", "B", "Z"], "map.txt")}))
        files.append(mapping)
    assert inp.is_dir()
    spec = load_sparse(files)
    return evaluate_sparse(spec.einsum, spec.arch, spec.mapping, spec.sparsity, reuse_rule="2024")


@pytest.mark.parametrize("k", range(len(DENSITIES)))
def test_fig1_coordinate_list(k, tmp_path):
    folder = V03 / f"{PREFIX}{DENSITIES[k]}.coordinate_list"
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    r = evaluate_case(folder, tmp_path)
    assert abs(r.cycles - CL_CYCLES[k]) <= 1
    assert r.energy / 1e6 == pytest.approx(CL_ENERGY[k], rel=0.10)


@pytest.mark.parametrize("k", range(len(DENSITIES)))
def test_fig1_bitmask(k, tmp_path):
    folder = V03 / f"{PREFIX}{DENSITIES[k]}.bitmask"
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    r = evaluate_case(folder, tmp_path)
    assert r.cycles == pytest.approx(BM_CYCLES, rel=0.01)
    assert r.energy / 1e6 == pytest.approx(BM_ENERGY[k], rel=0.11)
    # gating keeps every slot: the Buffer's and Reg's cycles stay near the dense 2^21 computes
    assert r.computes.algorithmic == 2 ** 21 and r.cycles >= 2 ** 21


# Table 7 (Eyeriss v1 with gating, AlexNet conv1-5, published-numbers.md 3d): cycles, energy (uJ)
TABLE7 = {"conv1": (2838528, 2059.86), "conv2": (4128768, 3160.50), "conv3": (1916929, 1534.63),
          "conv4": (1437697, 1110.05), "conv5": (958464, 756.75)}


@pytest.mark.parametrize("layer", sorted(TABLE7))
def test_table7_eyeriss_gating(layer, tmp_path):
    """Cycles exact; energy within 1 % (einloop is 0.17-0.71 % low)."""
    folder = V03 / f"Accelergy-Project.micro22-sparseloop-artifact__2022-08-07.table7.sparse.alexnet_{layer}"
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    files = [folder / "input" / "aggregated_input.yaml"] + [folder / "input" / f for f in ("map.yaml", "ERT.yaml")
                                                             if (folder / "input" / f).is_file()]
    spec = load_sparse(files)
    r = evaluate_sparse(spec.einsum, spec.arch, spec.mapping, spec.sparsity, reuse_rule="2024")
    cycles, energy = TABLE7[layer]
    assert r.cycles == cycles
    assert r.energy / 1e6 == pytest.approx(energy, rel=0.01)


# Fig. 12 (Eyeriss v2 PE, MobileNet layers, uniform densities): cycles, energy (pJ)
FIG12 = {"L07": (1592245, 4992020), "L09": (1479114, 3757580), "L13": (1114139, 2996420),
         "L19": (1407304, 4311730), "L21": (1610668, 4764760), "L23": (1791135, 5233700),
         "L25": (927185, 2713340), "L27": (729915, 2761280)}


@pytest.mark.parametrize("layer", sorted(FIG12))
def test_fig12_eyeriss_v2_uniform(layer, tmp_path):
    """Cycles within 0.05 % (expected values of uniform densities); energy 4-16 % low, asserted within
    20 % and listed in docs/sparsity.md as an open difference."""
    folder = V03 / f"Accelergy-Project.micro22-sparseloop-artifact__2022-08-07.fig12.{layer}.uniform"
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    r = evaluate_case(folder, tmp_path)
    cycles, energy = FIG12[layer]
    assert r.cycles == pytest.approx(cycles, rel=5e-4)
    assert r.energy == pytest.approx(energy, rel=0.20)
