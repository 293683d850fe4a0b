"""Design-space sweeps: a grid or list of design points, each a mapper run, stored in SQLite.

``run_sweep("sweep.yaml")`` runs (or resumes) a sweep; ``read_table`` gives pandas; ``export`` CSV/Parquet.
"""
from einloop.sweep.run import SweepRun, run_sweep
from einloop.sweep.spec import Point, SweepSpec, read_sweep
from einloop.sweep.store import export, read_table

__all__ = ["Point", "SweepRun", "SweepSpec", "export", "read_sweep", "read_table", "run_sweep"]
