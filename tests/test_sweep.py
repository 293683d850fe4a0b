"""Sweeps: the store survives SIGKILL (resume equals an uninterrupted run row for row), parameters by
path change the design they name, bad sweep files are one SpecError naming file and field."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from einloop.errors import SpecError
from einloop.mapper.network import map_workload
from einloop.spec import native
from einloop.spec.yamlio import load_yaml
from einloop.sweep import read_sweep, read_table, run_sweep
from einloop.sweep.point import LayerRow, PointResult
from einloop.sweep.spec import set_path
from einloop.sweep.store import Store

ROOT = Path(__file__).resolve().parents[1]
TWO_LEVEL = ROOT / "examples" / "arch" / "two_level.yaml"
DEPTHS = [64, 128, 256, 512, 1024, 2048, 4096, 8192]
MATMUL = """workload:
  name: mm
  bits: 8
  einsums:
    - name: mm
      einsum: "Z[m,n] += A[m,k] * B[k,n]"
      ranks: {m: 64, n: 64, k: 128}
    - name: mm2
      einsum: "Y[m,j] += Z[m,n] * C[n,j]"
      ranks: {m: 64, n: 64, j: 32}
"""
# Timings differ from run to run; everything else (energies, cycles, mappings, breakdowns) must not.
TIMING = ["seconds"]


def _sweep(tmp_path: Path, depths=DEPTHS, extra: str = "") -> Path:
    (tmp_path / "mm.yaml").write_text(MATMUL)
    f = tmp_path / "s.yaml"
    f.write_text(f"sweep:\n  architecture: {TWO_LEVEL}\n  workload: mm.yaml\n{extra}  grid:\n"
                 f"    architecture.nodes[Buffer].depth: {list(depths)}\n")
    return f


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "einloop.cli", *args]


def _stored(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.1) as db:
            return db.execute("SELECT count(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:   # not created yet
        return 0


@pytest.mark.parametrize("after, workers", [(0, "2"), (2, "1")])
def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path, after, workers):
    """SIGKILL the whole process group (the sweep, its pool or the mapper's workers) once ``after`` of 8
    points are stored (0: one second in, during the first searches; points side by side with 2 workers,
    one at a time with 1); --resume computes only the missing points; the table equals a run never
    interrupted."""
    sweep = _sweep(tmp_path)
    killed, whole = tmp_path / "killed.sqlite", tmp_path / "whole.sqlite"
    proc = subprocess.Popen(_cli("sweep", str(sweep), "--store", str(killed), "--workers", workers, "--quiet"),
                            cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while _stored(killed) < after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    if after == 0:
        time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = _stored(killed)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert after <= at_kill < len(DEPTHS), f"the kill must land mid-sweep, {at_kill} of {len(DEPTHS)} stored"
    if killed.exists():   # every stored point has all its layers (one transaction)
        with sqlite3.connect(killed) as db:
            per_point = db.execute("SELECT p.key, count(l.layer) FROM points p LEFT JOIN layers l "
                                   "ON l.point = p.key GROUP BY p.key").fetchall()
        assert all(n == 2 for _, n in per_point) and len(per_point) == at_kill

    out = subprocess.run(_cli("sweep", str(sweep), "--store", str(killed), "--resume", "--quiet"), cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"{len(DEPTHS) - at_kill} point(s) computed, {at_kill} already stored" in out.stdout
    run_sweep(sweep, whole, progress=False)
    a, b = read_table(killed), read_table(whole)
    assert len(a) == 2 * len(DEPTHS)
    assert a.drop(columns=TIMING).equals(b.drop(columns=TIMING))


def test_resume_keeps_finished_points_and_refuses_without_flag(tmp_path):
    sweep = _sweep(tmp_path, DEPTHS[:2])
    store = tmp_path / "s.sqlite"
    first = run_sweep(sweep, store, progress=False)
    assert (first.computed, first.skipped) == (2, 0)
    seconds = read_table(store, "point")["seconds"].tolist()
    again = run_sweep(sweep, store, resume=True, progress=False)
    assert (again.computed, again.skipped) == (0, 2)
    assert read_table(store, "point")["seconds"].tolist() == seconds   # untouched, not recomputed
    with pytest.raises(SpecError, match="--resume"):
        run_sweep(sweep, store, progress=False)
    (tmp_path / "other").mkdir()
    other = _sweep(tmp_path / "other", DEPTHS[2:4])
    with pytest.raises(SpecError, match="different sweep"):
        run_sweep(other, store, resume=True, progress=False)
    (tmp_path / "mm.yaml").write_text(MATMUL.replace("k: 128", "k: 256"))   # the base changed under it
    with pytest.raises(SpecError, match="base files differ"):
        run_sweep(sweep, store, resume=True, progress=False)


def test_a_failed_write_leaves_no_half_point(tmp_path):
    """Two layer rows with the same index violate the primary key: the points row is rolled back too."""
    store = Store(tmp_path / "s.sqlite", "d")
    row = LayerRow(0, "mm", 1, 1.0, 1, 1.0, 1.0, 1.0, True, 0.0, "", "", "null", "null")
    with pytest.raises(sqlite3.IntegrityError):
        store.write(PointResult("k", 0, {}, 1.0, 1, 1.0, 1, True, 0.0, [row, row]))
    assert store.done() == set()
    store.close()


def test_stored_values_are_the_mappers_on_the_changed_design(tmp_path):
    """Point 1 (Buffer depth 128) stores exactly what map_workload finds on two_level.yaml with depth 128;
    the area grows with depth (a bigger SRAM), the MACs are 64*64*128 + 64*64*32."""
    sweep = _sweep(tmp_path, [128, 1024])
    run_sweep(sweep, tmp_path / "s.sqlite", progress=False, workers=1)
    table = read_table(tmp_path / "s.sqlite")
    doc = load_yaml(TWO_LEVEL)["architecture"]
    doc["nodes"][1]["depth"] = 128
    wl = native.read_workload(load_yaml(tmp_path / "mm.yaml")["workload"])
    net = map_workload(wl, native.read_architecture(doc), workers=1)
    got = table[table.point_index == 0]
    assert got["energy"].tolist() == [r.result.energy for r in net.layers]
    assert got["cycles"].tolist() == [r.result.cycles for r in net.layers]
    points = read_table(tmp_path / "s.sqlite", "point")
    assert points["macs"].tolist() == [64 * 64 * 128 + 64 * 64 * 32] * 2
    assert points["area"][1] > points["area"][0]
    assert points["architecture.nodes[Buffer].depth"].tolist() == [128, 1024]


def test_paths_select_nodes_by_name_or_index():
    doc = {"architecture": {"technology": "45nm", "nodes": [{"storage": "DRAM"}, {"fanout": "PE", "mesh_x": 4}]}}
    set_path(doc, "architecture.nodes[PE].mesh_x", 8, "f")
    set_path(doc, "architecture.nodes[0].width", 128, "f")
    set_path(doc, "architecture.technology", "22nm", "f")
    assert doc["architecture"] == {"technology": "22nm", "nodes": [{"storage": "DRAM", "width": 128},
                                                                   {"fanout": "PE", "mesh_x": 8}]}
    with pytest.raises(SpecError, match="no node 'GLB'; nodes: DRAM, PE"):
        set_path(doc, "architecture.nodes[GLB].depth", 1, "f")
    with pytest.raises(SpecError, match="does not exist"):
        set_path(doc, "architecture.nodez[0].depth", 1, "f")


@pytest.mark.parametrize("body, field, words", [
    ("  grid:\n    architecture.nodes[Buffer].depth: []\n", "sweep.grid.architecture.nodes[Buffer].depth",
     "non-empty list"),
    ("  grid:\n    architecture.nodes[Bufer].depth: [1]\n", "architecture.nodes[Bufer].depth", "no node 'Bufer'"),
    ("  grid:\n    mapper.objective: [speed]\n", "mapper.objective", "energy, cycles, edp"),
    ("  grid:\n    mapper.time_limit: [-1]\n", "mapper.time_limit", "positive number"),
    ("  grid:\n    colour: [1]\n", "colour", "unknown parameter"),
    ("  grid:\n    batch: [0]\n", "batch", "positive integer"),
    ("  grid:\n    batch: [2]\n", "batch", "applies to zoo workloads (zoo:NAME) only"),
    ("  points: [{}]\n", "sweep.points", "non-empty list"),
    ("  points:\n    - mapper.time_limit: 5\n      mapper.objective: edp\n    - mapper.objective: edp\n      mapper.time_limit: 5\n", "sweep",
     "points 0 and 1 are the same"),
    ("  grid:\n    workload: [zoo:resnet19]\n", "workload", "did you mean resnet18"),
    ("  grid:\n    architecture.nodes[Buffer].depth: [-5]\n", "point 0", "greater than 0"),
])
def test_bad_sweep_files_are_one_spec_error(tmp_path, body, field, words):
    (tmp_path / "mm.yaml").write_text(MATMUL)
    f = tmp_path / "s.yaml"
    f.write_text(f"sweep:\n  architecture: {TWO_LEVEL}\n  workload: mm.yaml\n{body}")
    with pytest.raises(SpecError) as err:
        run_sweep(f, tmp_path / "s.sqlite", progress=False)
    assert field in str(err.value) and words in str(err.value)
    assert err.value.file == str(f) and not (tmp_path / "s.sqlite").exists()   # nothing ran, no store
    out = subprocess.run(_cli("sweep", str(f), "--store", str(tmp_path / "t.sqlite")), cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr and field in out.stderr


def test_unknown_sweep_key_names_the_allowed_ones(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("sweep:\n  architecture: a.yaml\n  workload: w.yaml\n  gird: {}\n")
    with pytest.raises(SpecError, match="unknown key\\(s\\) gird; allowed: name, architecture"):
        read_sweep(f)


def test_zoo_workload_and_list_of_points(tmp_path):
    """A list of points over a zoo network: lab1_mnist's layers, one row per point and layer; the 22 nm
    design spends less energy and area than the same design at 45 nm."""
    f = tmp_path / "s.yaml"
    f.write_text(f"sweep:\n  architecture: {TWO_LEVEL}\n  workload: zoo:lab1_mnist\n"
                 "  mapper: {time_limit: 20}\n"
                 "  points:\n    - architecture.technology: 45nm\n    - architecture.technology: 22nm\n")
    run_sweep(f, tmp_path / "s.sqlite", progress=False)
    from einloop.workloads import zoo
    layers = [e for e in zoo.get("lab1_mnist").einsums if e.macs]
    table = read_table(tmp_path / "s.sqlite")
    assert len(table) == 2 * len(layers)
    assert table[table.point_index == 0]["einsum"].tolist() == [e.name for e in layers]
    points = read_table(tmp_path / "s.sqlite", "point")
    assert points["energy"].notna().all()
    assert points["energy"][1] < points["energy"][0] and points["area"][1] < points["area"][0]   # 22 nm < 45 nm


def test_ray_backend_on_a_local_cluster_gives_the_same_rows(tmp_path):
    """The same sweep on a local Ray cluster (2 CPUs, worker processes started by Ray) and on the local
    pool: equal tables (search seconds aside), written to the one store by the driver."""
    try:
        import ray
    except ImportError:
        reason = "ray is not installed (pip install 'einloop[ray]'): the Ray backend is not tested here"
        warnings.warn(reason)   # in the warnings summary too, which pytest prints without -rs
        pytest.skip(reason)
    sweep = _sweep(tmp_path, DEPTHS[:4])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        assert ray.cluster_resources().get("CPU") == 2
        r = run_sweep(sweep, tmp_path / "ray.sqlite", backend="ray", progress=False)
    finally:
        ray.shutdown()
    assert (r.computed, r.skipped) == (4, 0)
    run_sweep(sweep, tmp_path / "local.sqlite", progress=False)
    a, b = read_table(tmp_path / "ray.sqlite"), read_table(tmp_path / "local.sqlite")
    assert len(a) == 8 and a.drop(columns=TIMING).equals(b.drop(columns=TIMING))


def test_ray_backend_without_ray_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)   # as if not installed
    with pytest.raises(SpecError, match=r"pip install 'einloop\[ray\]'"):
        run_sweep(_sweep(tmp_path, DEPTHS[:1]), tmp_path / "s.sqlite", backend="ray", progress=False)


def test_constraints_parameter_a_larger_mapspace_is_never_worse(tmp_path):
    """TPU-like, 64^3 matmul: the architecture file's weight-stationary constraints vs a constraints file
    lifting the dataflow. Both searches finish (proven), and the unconstrained mapspace contains the
    weight-stationary one, so its optimal energy is lower or equal."""
    (tmp_path / "mm.yaml").write_text(MATMUL.replace("k: 128", "k: 64").split("    - name: mm2")[0])
    (tmp_path / "free.yaml").write_text("constraints:\n  dataflow: unconstrained\n")
    f = tmp_path / "s.yaml"
    f.write_text(f"sweep:\n  architecture: {ROOT / 'examples/arch/tpu_like.yaml'}\n  workload: mm.yaml\n"
                 "  points:\n    - mapper.objective: energy\n    - mapper.constraints: free.yaml\n")
    run_sweep(f, tmp_path / "s.sqlite", progress=False)
    points = read_table(tmp_path / "s.sqlite", "point")
    assert points["proven"].tolist() == [1, 1]
    assert points["energy"][1] <= points["energy"][0]


def test_cli_flag_checks(tmp_path):
    sweep = _sweep(tmp_path, DEPTHS[:1])
    for args, words in ((["--workers", "0"], "workers must be a positive integer"),
                        (["--export", str(tmp_path / "t.xlsx")], "allowed: .csv, .parquet")):
        out = subprocess.run(_cli("sweep", str(sweep), "--quiet", "--overwrite", *args), cwd=ROOT,
                             capture_output=True, text=True)
        assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr, out.stderr
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        out = subprocess.run(_cli("sweep", str(sweep), "--resume", "--quiet", "--export", str(tmp_path / "t.parquet")),
                             cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 2 and "needs pyarrow, which is not installed" in out.stderr
    out = subprocess.run(_cli("sweep", str(sweep), "--resume", "--quiet", "--export", str(tmp_path / "t.csv")),
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    import pandas as pd
    csv = pd.read_csv(tmp_path / "t.csv")
    assert csv["energy"].tolist() == read_table(sweep.with_suffix(".sqlite"))["energy"].tolist()


def test_a_layer_without_mapping_is_stored_empty_and_exits_1(tmp_path, monkeypatch, capsys):
    """A point whose layer has no valid mapping: its row has no energy (never a zero), the point's
    totals are empty, and the command says so and exits 1."""
    import argparse

    from einloop.mapper import network
    from einloop.mapper.search import MapResult, SearchStats
    from einloop.sweep.cli import run

    def none_fit(wl, arch, cons, **kw):
        return network.NetworkResult([MapResult(e, None, None, SearchStats(proven_optimal=True))
                                      for e in wl.einsums])
    monkeypatch.setattr(network, "map_workload", none_fit)
    sweep = _sweep(tmp_path, DEPTHS[:1])
    args = argparse.Namespace(file=str(sweep), store=None, resume=False, overwrite=False, workers=1, backend="local",
                              ray_address=None, export=[], quiet=True)
    assert run(args) == 1
    assert "1 point(s) have a layer with no valid mapping" in capsys.readouterr().err
    layers, points = read_table(sweep.with_suffix(".sqlite")), read_table(sweep.with_suffix(".sqlite"), "point")
    assert layers["energy"].isna().all() and (layers["proven"] == 0).all() and layers["mapping"].eq("null").all()
    assert points["energy"].isna().all() and points["cycles"].isna().all()
