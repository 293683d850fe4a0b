"""The sweep's store: SQLite (standard library), one row per point and per point and layer.

Each point is written in one transaction (points row and all its layer rows, or nothing), so a run
killed at any moment leaves only whole points; a resumed run skips the points already stored.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from einloop.errors import SpecError
from einloop.sweep.point import PointResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
  key TEXT PRIMARY KEY, idx INTEGER NOT NULL, params TEXT NOT NULL, energy REAL, cycles INTEGER, area REAL,
  macs INTEGER NOT NULL, proven INTEGER NOT NULL, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS layers (
  point TEXT NOT NULL REFERENCES points(key), layer INTEGER NOT NULL, einsum TEXT NOT NULL, macs INTEGER NOT NULL,
  energy REAL, cycles INTEGER, area REAL, utilization REAL, pJ_per_mac REAL, proven INTEGER NOT NULL,
  seconds REAL NOT NULL, reused_from TEXT NOT NULL, note TEXT NOT NULL, mapping TEXT NOT NULL,
  breakdown TEXT NOT NULL, PRIMARY KEY (point, layer));
"""
LAYER_COLUMNS = ("layer", "einsum", "macs", "energy", "cycles", "area", "utilization", "pJ_per_mac", "proven",
                 "seconds", "reused_from", "note", "mapping", "breakdown")


class Store:
    """An open sweep store (one SQLite file); only the parent process writes to it."""

    def __init__(self, path: str | Path, digest: str, *, resume: bool = False, overwrite: bool = False):
        self.path = Path(path)
        if self.path.exists() and overwrite:
            self.path.unlink()
        existed = self.path.exists() and self.path.stat().st_size > 0
        self.db = sqlite3.connect(self.path, isolation_level=None)   # explicit transactions below
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key='digest'").fetchone()
        if row and row[0] != digest:
            self.db.close()
            raise SpecError("the store belongs to a different sweep (its points or base files differ); use "
                            "another --store or --overwrite", file=str(self.path))
        finished = len(self.done())
        if existed and row and not resume and finished:
            self.db.close()
            raise SpecError(f"the store already holds {finished} finished point(s); pass --resume to "
                            "continue it or --overwrite to start again", file=str(self.path))
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('digest', ?)", (digest,))

    def done(self) -> set[str]:
        """The keys of the points already stored whole."""
        return {k for (k,) in self.db.execute("SELECT key FROM points")}

    def write(self, r: PointResult) -> None:
        """Store one point and its layers in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT INTO points VALUES (?,?,?,?,?,?,?,?,?)",
                            (r.key, r.index, json.dumps(r.params, sort_keys=True, default=str), r.energy, r.cycles,
                             r.area, r.macs, int(r.proven), r.seconds))
            self.db.executemany(
                f"INSERT INTO layers VALUES (?,{','.join('?' * len(LAYER_COLUMNS))})",
                [(r.key, *(getattr(row, c) for c in LAYER_COLUMNS)) for row in r.layers])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection (every point is already committed)."""
        self.db.close()


def read_table(path: str | Path, level: str = "layer"):
    """The store as pandas: one row per point and layer (``level="layer"``) or per point (``"point"``),
    with one column per sweep parameter, ordered by point then layer."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise SpecError("no sweep store here", file=str(path))
    with closing(sqlite3.connect(p)) as db:   # read-write, so closing it cleans up the WAL files
        if level == "point":
            df = pd.read_sql_query("SELECT * FROM points ORDER BY idx", db)
        elif level == "layer":
            df = pd.read_sql_query("SELECT p.idx, p.params, l.* FROM layers l JOIN points p ON p.key = l.point "
                                   "ORDER BY p.idx, l.layer", db)
        else:
            raise SpecError(f"level must be 'layer' or 'point', got {level!r}", field="level")
    params = pd.DataFrame([json.loads(s) for s in df.pop("params")], index=df.index)
    return pd.concat([df.rename(columns={"idx": "point_index"}), params], axis=1)


def export(path: str | Path, out: str | Path, level: str = "layer") -> Path:
    """Write the store's table to CSV or Parquet (Parquet needs pyarrow: pip install pyarrow)."""
    out = Path(out)
    df = read_table(path, level)
    if out.suffix == ".csv":
        df.to_csv(out, index=False)
    elif out.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SpecError("Parquet export needs pyarrow, which is not installed (pip install pyarrow); "
                            "use a .csv file instead", file=str(out)) from None
        df.to_parquet(out, index=False)
    else:
        raise SpecError(f"unknown export format {out.suffix!r}; allowed: .csv, .parquet", file=str(out))
    return out
