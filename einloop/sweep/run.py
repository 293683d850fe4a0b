"""Run a sweep's points (a local process pool by default, or Ray) and store each as it finishes."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from einloop.errors import SpecError
from einloop.sweep.point import PointResult, design, run_point
from einloop.sweep.spec import Point, SweepSpec, read_sweep
from einloop.sweep.store import Store

BACKENDS = ("local", "ray")


@dataclass
class SweepRun:
    """What a call to run_sweep did: the store, points computed now and points found done."""

    store: Path
    computed: int
    skipped: int


def _job(args: tuple[Point, int]) -> PointResult:
    point, workers = args
    return run_point(point, workers)


def _local(points: list[Point], workers: int):
    """Points side by side, one per process, each mapper on one core; or, with one worker, points one
    at a time with the mapper's two processes (docs/sweeps.md measures both)."""
    if not points:
        return
    if workers <= 1 or len(points) == 1:
        for p in points:
            yield run_point(p, 2 if workers > 1 else 1)
        return
    from einloop.mapper.search import process_context
    with process_context().Pool(min(workers, len(points))) as pool:
        yield from pool.imap_unordered(_job, [(p, 1) for p in points])


def _ray(points: list[Point], address: str | None):
    """Points as Ray tasks (one core each); the results come back here, where the store is written."""
    try:
        import ray
    except ImportError:
        raise SpecError("--backend ray needs Ray: pip install 'einloop[ray]'", field="--backend") from None
    started = not ray.is_initialized()
    if started:   # workers import this einloop (a checkout run with python -m is not installed)
        here = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        task = ray.remote(num_cpus=1)(run_point)
        pending = [task.remote(p, 1) for p in points]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield ray.get(ready[0])
    finally:
        if started:
            ray.shutdown()


def _check(p: Point, file: str) -> None:
    """One SpecError naming the sweep file, the point and its parameters for a design einloop rejects."""
    try:
        design(p)
    except SpecError as err:
        inside = f" (in the design read from {err.file})" if err.file and err.file != file else ""
        raise SpecError(f"point {p.index} {p.params}: {err.message}{inside}", file=file, field=err.field) from None


def run_sweep(sweep: str | Path | SweepSpec, store: str | Path | None = None, *, resume: bool = False,
              overwrite: bool = False, workers: int | None = None, backend: str = "local",
              ray_address: str | None = None, progress: bool = True) -> SweepRun:
    """Run every point of a sweep not yet in ``store`` (default: beside the sweep file, NAME.sqlite)."""
    spec = sweep if isinstance(sweep, SweepSpec) else read_sweep(sweep)
    if backend not in BACKENDS:
        raise SpecError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}", field="--backend")
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecError(f"workers must be a positive integer, got {workers!r}", field="--workers")
    path = Path(store) if store else Path(spec.file).with_suffix(".sqlite")
    for p in spec.points:   # every point's design is checked before the store is opened or a search starts
        _check(p, spec.file)
    db = Store(path, spec.digest, resume=resume, overwrite=overwrite)
    try:
        done = db.done()
        todo = [p for p in spec.points if p.key not in done]
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(spec.points), initial=len(spec.points) - len(todo), desc=spec.name,
                       unit="point", file=sys.stderr)
        results = _ray(todo, ray_address) if backend == "ray" else _local(todo, workers)
        for r in results:
            db.write(r)
            if bar:
                bar.update(1)
        if bar:
            bar.close()
    finally:
        db.close()
    return SweepRun(path, len(todo), len(spec.points) - len(todo))
