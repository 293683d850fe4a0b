"""Which is faster on a 2-core machine: points side by side (one mapper process each) or points one at
a time with the mapper's own two workers? Runs one sweep both ways, side by side in one run.

    python benchmarks/sweep_parallel.py [SWEEP.yaml]      (default: examples/sweeps/matmul_buffer.yaml)
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from einloop.sweep import read_table, run_sweep  # noqa: E402


def timed(sweep: Path, workers: int, store: Path) -> float:
    """Wall seconds of a whole sweep with ``workers`` points side by side (1: the mapper uses 2)."""
    start = time.perf_counter()
    run_sweep(sweep, store, overwrite=True, workers=workers, progress=False)
    return time.perf_counter() - start


def main() -> None:
    """Time both ways twice, alternating, and check they give the same rows."""
    sweep = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "sweeps" / "matmul_buffer.yaml"
    with tempfile.TemporaryDirectory() as d:
        rows = []
        for rep in range(2):   # alternate, so both see the same machine load
            for workers in (2, 1):
                rows.append((workers, rep, timed(sweep, workers, Path(d) / f"w{workers}.sqlite")))
        same = read_table(Path(d) / "w2.sqlite").drop(columns="seconds").equals(
            read_table(Path(d) / "w1.sqlite").drop(columns="seconds"))
    points = len(read_sweep_points(sweep))
    for workers in (2, 1):
        best = min(t for w, _, t in rows if w == workers)
        label = "points side by side, mapper workers=1" if workers == 2 else "points one at a time, mapper workers=2"
        print(f"{label:42s} best of 2: {best:6.2f} s for {points} points")
    print(f"same rows both ways: {same}")


def read_sweep_points(sweep: Path):
    """The sweep's points (to count them)."""
    from einloop.sweep import read_sweep
    return read_sweep(sweep).points


if __name__ == "__main__":
    main()
