"""Issue 22's acceptance sweep at full size: 16 global-buffer sizes of the Eyeriss-like design over
ResNet-18. Runs it once uninterrupted, once SIGKILLed after a third of its points and resumed, and
(with --ray) once on a local Ray cluster; compares the tables row for row.

    python benchmarks/sweep_glb_resnet18.py [--time-limit S] [--ray] [--points N]

With a time limit, a layer whose search stopped early (proven = 0) may find another mapping in
another run: such rows are counted and left out of the comparison; proven rows must be equal.
"""
from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from einloop.sweep import read_table  # noqa: E402


def sweep_file(folder: Path, time_limit: float, points: int) -> Path:
    """The benchmark's sweep with this time limit and its first ``points`` buffer sizes."""
    doc = yaml.safe_load((ROOT / "benchmarks" / "sweep_glb_resnet18.yaml").read_text())
    doc["sweep"]["architecture"] = str(ROOT / "examples" / "arch" / "eyeriss_like.yaml")
    doc["sweep"]["mapper"]["time_limit"] = time_limit
    grid = doc["sweep"]["grid"]
    key = next(iter(grid))
    grid[key] = grid[key][:points]
    out = folder / "glb.yaml"
    out.write_text(yaml.safe_dump(doc))
    return out


def run(sweep: Path, store: Path, *extra: str, kill_after: int | None = None) -> float:
    """Run ``einloop sweep``; SIGKILL its process group once ``kill_after`` points are stored."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "einloop.cli", "sweep", str(sweep), "--store", str(store), "--quiet", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    while kill_after is not None and proc.poll() is None:
        if store.exists():
            with sqlite3.connect(store, timeout=1) as db:
                if db.execute("SELECT count(*) FROM points").fetchone()[0] >= kill_after:
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
        time.sleep(0.2)
    proc.wait()
    return time.perf_counter() - start


def compare(a: Path, b: Path) -> str:
    """Row-for-row equality of the proven rows (seconds aside), and how many rows were not proven."""
    ta, tb = read_table(a), read_table(b)
    both = (ta["proven"] == 1) & (tb["proven"] == 1)
    cols = [c for c in ta.columns if c != "seconds"]
    equal = ta.loc[both, cols].equals(tb.loc[both, cols])
    same = int((ta[cols].astype(str) == tb[cols].astype(str)).all(axis=1).sum())
    return (f"{len(ta)} rows; {int(both.sum())} proven in both, equal: {equal}; {int((~both).sum())} not "
            f"compared; {same} of {len(ta)} rows identical anyway")


def main() -> None:
    """Uninterrupted, killed and resumed, and (--ray) Ray runs of the sweep, compared."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--points", type=int, default=16)
    ap.add_argument("--ray", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        sweep = sweep_file(d, args.time_limit, args.points)
        t_whole = run(sweep, d / "whole.sqlite")
        t_kill = run(sweep, d / "killed.sqlite", kill_after=max(1, args.points // 3))
        t_resume = run(sweep, d / "killed.sqlite", "--resume")
        print(f"uninterrupted {t_whole:.0f} s; killed after {max(1, args.points // 3)} points at {t_kill:.0f} s, "
              f"resumed in {t_resume:.0f} s")
        print("killed + resumed vs uninterrupted:", compare(d / "killed.sqlite", d / "whole.sqlite"))
        if args.ray:
            t_ray = run(sweep, d / "ray.sqlite", "--backend", "ray")
            print(f"ray {t_ray:.0f} s; ray vs local:", compare(d / "ray.sqlite", d / "whole.sqlite"))
        points = read_table(d / "whole.sqlite", "point")
        points["pJ_per_mac"] = points["energy"] / points["macs"]
        print(points[[c for c in points.columns if c.startswith("architecture")] + ["pJ_per_mac", "cycles",
                                                                                    "proven"]].to_string(index=False))


if __name__ == "__main__":
    main()
