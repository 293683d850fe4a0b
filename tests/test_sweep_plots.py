"""Plots: the numbers in the figure's artists are the data (bar widths/heights, line x/y, front)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import einloop
from einloop.errors import SpecError
from einloop.report import plots

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def conv_result():
    spec = einloop.load([ROOT / "examples/workloads/conv.yaml", ROOT / "examples/arch/eyeriss_like.yaml",
                         ROOT / "examples/mappings/conv_eyeriss_like.yaml"])
    return einloop.evaluate_spec(spec)


@pytest.mark.parametrize("by", ["level", "tensor", "action"])
def test_breakdown_bars_are_the_energies_and_sum_to_the_total(conv_result, by):
    fig = plots.energy_breakdown(conv_result, by)
    bars = fig.axes[0].patches
    widths = np.array([b.get_width() for b in bars])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    expected = {k: v for k, v in plots.breakdown_of(conv_result, by).items() if v}
    assert labels == list(expected) and np.allclose(widths, list(expected.values()))
    assert widths.sum() == pytest.approx(conv_result.energy, rel=1e-9)   # energy is conserved


def test_level_breakdown_matches_the_level_table(conv_result):
    fig = plots.energy_breakdown(conv_result, "level")
    widths = {t.get_text(): b.get_width() for t, b in zip(fig.axes[0].get_yticklabels(), fig.axes[0].patches)}
    table = conv_result.level_table()["energy"]
    assert widths == {k: v for k, v in table.items() if v}


def test_pareto_front_by_hand():
    """(cycles, energy): (1,9) (2,5) (3,6) (4,2) (5,2) (2,7): the front is (1,9) (2,5) (4,2); (3,6) is
    beaten by (2,5), (5,2) by (4,2), (2,7) by (2,5)."""
    t = pd.DataFrame({"cycles": [1, 2, 3, 4, 5, 2], "energy": [9, 5, 6, 2, 2, 7]})
    assert plots.pareto_front(t.cycles.tolist(), t.energy.tolist()) == [0, 1, 3]
    fig = plots.pareto(t)
    line = fig.axes[0].lines[0]
    assert line.get_xdata().tolist() == [1, 2, 4] and line.get_ydata().tolist() == [9, 5, 2]
    dots = fig.axes[0].collections[0].get_offsets()
    assert len(dots) == 6


def test_sweep_curve_sorts_x_and_splits_lines():
    t = pd.DataFrame({"depth": [4096, 256, 1024, 256, 4096, 1024], "obj": ["e", "e", "e", "d", "d", "d"],
                      "pJ_per_mac": [3.0, 1.0, 2.0, 1.5, 3.5, 2.5]})
    fig = plots.sweep_curve(t, "depth", by="obj")
    lines = {l.get_label(): (l.get_xdata().tolist(), l.get_ydata().tolist()) for l in fig.axes[0].lines}
    assert lines == {"obj=d": ([256, 1024, 4096], [1.5, 2.5, 3.5]), "obj=e": ([256, 1024, 4096], [1.0, 2.0, 3.0])}
    assert fig.axes[0].get_xscale() == "linear"   # 4096 / 256 = 16: not above 16
    with pytest.raises(SpecError, match="no column 'size'"):
        plots.sweep_curve(t, "size")


def test_layer_bars_heights():
    t = pd.DataFrame({"einsum": ["c1", "c2", "fc"], "energy": [5.0, 7.0, 1.0]})
    fig = plots.layer_bars(t)
    assert [b.get_height() for b in fig.axes[0].patches] == [5.0, 7.0, 1.0]
    assert [x.get_text() for x in fig.axes[0].get_xticklabels()] == ["c1", "c2", "fc"]


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_save_formats(tmp_path, suffix, magic):
    fig = plots.layer_bars(pd.DataFrame({"einsum": ["a"], "energy": [1.0]}))
    out = plots.save(fig, tmp_path / f"p{suffix}")
    assert out.read_bytes().startswith(magic)
    with pytest.raises(SpecError, match="allowed: .png, .svg, .pdf"):
        plots.save(fig, tmp_path / "p.jpg")


def test_plot_cli_from_a_store(tmp_path):
    """einloop plot on a stored sweep: curve, pareto, layers and breakdown files are written; a missing
    --x is one error (exit 2, no traceback)."""
    (tmp_path / "mm.yaml").write_text("workload:\n  name: mm\n  bits: 8\n  einsums:\n    - name: mm\n"
                                      "      einsum: \"Z[m,n] += A[m,k] * B[k,n]\"\n      ranks: {m: 32, n: 32, k: 32}\n")
    (tmp_path / "s.yaml").write_text(f"sweep:\n  architecture: {ROOT / 'examples/arch/two_level.yaml'}\n"
                                     "  workload: mm.yaml\n  grid:\n    architecture.nodes[Buffer].depth: [64, 512]\n")
    cli = [sys.executable, "-m", "einloop.cli"]
    store = tmp_path / "s.sqlite"
    assert subprocess.run(cli + ["sweep", str(tmp_path / "s.yaml"), "--quiet"], cwd=ROOT).returncode == 0
    for kind in ("curve", "pareto", "layers", "breakdown"):
        out = subprocess.run(cli + ["plot", kind, str(store), "-o", str(tmp_path / f"{kind}.svg"),
                                    "--x", "architecture.nodes[Buffer].depth"], cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert (tmp_path / f"{kind}.svg").stat().st_size > 1000
    bad = subprocess.run(cli + ["plot", "curve", str(store), "-o", str(tmp_path / "c.png")], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--x" in bad.stderr and "Traceback" not in bad.stderr


def test_plot_breakdown_of_an_evaluation(tmp_path):
    """einloop plot breakdown on eval files: the SVG holds one bar per action with energy (compute included)."""
    files = [str(ROOT / f) for f in ("examples/workloads/conv.yaml", "examples/arch/eyeriss_like.yaml",
                                     "examples/mappings/conv_eyeriss_like.yaml")]
    out = subprocess.run([sys.executable, "-m", "einloop.cli", "plot", "breakdown", *files, "--by", "action",
                          "-o", str(tmp_path / "b.svg")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "MAC.compute" in (tmp_path / "b.svg").read_text()
