"""A sweep file: a base design, the parameters to vary (a grid or a list of points), mapper options.

Parameters are named by paths into the base documents, e.g. ``architecture.nodes[GlobalBuffer].depth``
(a node by its name or index), ``architecture.technology``, ``workload`` (a file or ``zoo:NAME``),
``batch``, ``seq_len`` and ``mapper.objective`` / ``mapper.time_limit`` / ``mapper.constraints``.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from einloop.errors import SpecError
from einloop.spec.yamlio import load_merged, load_yaml

SWEEP_KEYS = ("name", "architecture", "workload", "constraints", "mapper", "grid", "points", "batch", "seq_len",
              "einsums")
MAPPER_KEYS = ("objective", "time_limit", "constraints")
OBJECTIVES = ("energy", "cycles", "edp")
_STEP = re.compile(r"^([A-Za-z_][\w-]*)(?:\[([^\]]+)\])?$")


@dataclass
class Point:
    """One design point: its parameter values and everything a mapper run needs (picklable)."""

    index: int
    params: dict[str, Any]
    arch_doc: dict
    arch_file: str
    workload: str                 # a YAML file or zoo:NAME
    batch: int = 1
    seq_len: int | None = None
    einsums: tuple[str, ...] | None = None
    objective: str = "energy"
    time_limit: float | None = None
    constraints_doc: dict | None = None
    constraints_file: str = ""

    @property
    def key(self) -> str:
        """A stable identity of the point (its parameters), so a resumed sweep finds what is done."""
        text = json.dumps(self.params, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class SweepSpec:
    """The sweep file read: its name, its points in order, and a digest of its content."""

    name: str
    file: str
    points: list[Point] = field(default_factory=list)
    digest: str = ""


def _resolve(base: Path, value: str) -> str:
    """A file path relative to the sweep file (zoo names pass through)."""
    if value.startswith("zoo:"):
        return value
    p = Path(value)
    return str(p if p.is_absolute() else (base / p))


def _node_index(nodes: list, sel: str, file: str, fld: str) -> int:
    if sel.lstrip("-").isdigit():
        i = int(sel)
        if -len(nodes) <= i < len(nodes):
            return i
    for i, n in enumerate(nodes):
        if isinstance(n, dict) and sel in (n.get("storage"), n.get("fanout"), n.get("compute"), n.get("name")):
            return i
    names = [str(n.get("storage") or n.get("fanout") or n.get("compute")) for n in nodes if isinstance(n, dict)]
    raise SpecError(f"no node {sel!r}; nodes: {', '.join(names)}", file=file, field=fld)


def set_path(doc: dict, path: str, value: Any, file: str) -> None:
    """Set ``path`` (dotted, ``name[selector]`` for a list item) in ``doc``; the last key may be new."""
    steps = path.split(".")
    cur: Any = doc
    for depth, step in enumerate(steps):
        m = _STEP.match(step)
        if not m:
            raise SpecError(f"bad path step {step!r}; write name or name[node-or-index]", file=file, field=path)
        key, sel = m.groups()
        last = depth == len(steps) - 1
        if not isinstance(cur, dict) or (key not in cur and not (last and sel is None)):
            have = ", ".join(sorted(map(str, cur))) if isinstance(cur, dict) else type(cur).__name__
            raise SpecError(f"{'.'.join(steps[:depth + 1])!r} does not exist in the base design (there: {have})",
                            file=file, field=path)
        if sel is None:
            if last:
                cur[key] = value
                return
            cur = cur[key]
            continue
        items = cur[key]
        if not isinstance(items, list):
            raise SpecError(f"{key!r} is not a list; [{sel}] selects a list item", file=file, field=path)
        i = _node_index(items, sel.strip(), file, path)
        if last:
            items[i] = value
            return
        cur = items[i]


def _combinations(doc: dict, file: str) -> list[dict]:
    """The parameter dicts of the grid (Cartesian product, in file order) or of the list of points."""
    grid, points = doc.get("grid"), doc.get("points")
    if (grid is None) == (points is None):
        raise SpecError("give exactly one of 'grid' (a mapping of path: [values]) or 'points' (a list of "
                        "mappings of path: value)", file=file, field="sweep")
    if grid is not None:
        if not isinstance(grid, dict) or not grid:
            raise SpecError("must be a non-empty mapping of path: [values]", file=file, field="sweep.grid")
        for k, v in grid.items():
            if not isinstance(v, list) or not v:
                raise SpecError(f"must be a non-empty list of values, got {v!r}", file=file, field=f"sweep.grid.{k}")
        keys = list(grid)
        return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) and p for p in points):
        raise SpecError("must be a non-empty list of mappings of path: value", file=file, field="sweep.points")
    return [dict(p) for p in points]


def _options(doc: dict, file: str) -> dict:
    mapper = doc.get("mapper") or {}
    if not isinstance(mapper, dict):
        raise SpecError("must be a mapping", file=file, field="sweep.mapper")
    unknown = sorted(set(mapper) - set(MAPPER_KEYS))
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(MAPPER_KEYS)}",
                        file=file, field="sweep.mapper")
    return dict(mapper)


def _check_option(name: str, value: Any, file: str, fld: str) -> None:
    if name == "objective" and value not in OBJECTIVES:
        raise SpecError(f"objective must be one of {', '.join(OBJECTIVES)}, got {value!r}", file=file, field=fld)
    if name == "time_limit" and value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf")):
        raise SpecError(f"time_limit must be a positive number of seconds, got {value!r}", file=file, field=fld)
    if name in ("batch", "seq_len") and value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise SpecError(f"{name} must be a positive integer, got {value!r}", file=file, field=fld)


def read_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep file; every point's overrides are applied and checked before anything runs."""
    file = str(path)
    top = load_yaml(path)
    doc = top.get("sweep")
    if not isinstance(doc, dict) or set(top) != {"sweep"}:
        raise SpecError("a sweep file has one top-level section 'sweep:'", file=file)
    unknown = sorted(set(doc) - set(SWEEP_KEYS))
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(SWEEP_KEYS)}",
                        file=file, field="sweep")
    base = Path(file).resolve().parent
    for need in ("architecture", "workload"):
        if need not in doc:
            raise SpecError(f"missing '{need}' (a YAML file{' or zoo:NAME' if need == 'workload' else ''})",
                            file=file, field=f"sweep.{need}")
    defaults = dict(workload=doc["workload"], batch=doc.get("batch", 1), seq_len=doc.get("seq_len"),
                    **{f"mapper.{k}": v for k, v in _options(doc, file).items()})
    if "constraints" in doc:
        defaults.setdefault("mapper.constraints", doc["constraints"])
    arch_file = _resolve(base, str(doc["architecture"]))
    arch_top, _ = load_merged([arch_file])
    if "architecture" not in arch_top:
        raise SpecError("no 'architecture' section", file=arch_file)
    einsums = doc.get("einsums")
    if einsums is not None and (not isinstance(einsums, list) or not all(isinstance(e, str) for e in einsums)):
        raise SpecError("must be a list of Einsum names", file=file, field="sweep.einsums")
    points = [_point(i, params, defaults, arch_top, arch_file, base, file, einsums)
              for i, params in enumerate(_combinations(doc, file))]
    seen: dict[str, int] = {}
    for p in points:
        if p.key in seen:
            raise SpecError(f"points {seen[p.key]} and {p.index} are the same ({p.params}); each point once",
                            file=file, field="sweep")
        seen[p.key] = p.index
    return SweepSpec(str(doc.get("name") or Path(file).stem), file, points, _digest(points))


def _digest(points: list[Point]) -> str:
    """What the sweep computes: every point's full design (so an edited base file is noticed on resume)."""
    h = hashlib.sha256()
    for p in points:
        h.update(json.dumps({**asdict(p), "index": 0}, sort_keys=True, default=str).encode())
        if not p.workload.startswith("zoo:") and Path(p.workload).is_file():
            h.update(Path(p.workload).read_bytes())
    return h.hexdigest()[:16]


def _point(index: int, params: dict, defaults: dict, arch_top: dict, arch_file: str, base: Path, file: str,
           einsums) -> Point:
    """Apply one point's parameter values to copies of the base documents."""
    values = {**defaults, **params}
    arch_doc = copy.deepcopy(arch_top["architecture"])
    holder = {"architecture": arch_doc}
    for key, value in params.items():
        fld = f"sweep point {index}: {key}"
        if key.startswith("architecture."):
            set_path(holder, key, value, file)
        elif key not in ("workload", "batch", "seq_len") and key.removeprefix("mapper.") not in MAPPER_KEYS:
            raise SpecError(f"unknown parameter; allowed: architecture.<path>, workload, batch, seq_len, "
                            f"mapper.{{{','.join(MAPPER_KEYS)}}}", file=file, field=fld)
    for name in ("objective", "time_limit", "batch", "seq_len"):
        key = name if name in ("batch", "seq_len") else f"mapper.{name}"
        _check_option(name, values.get(key, "energy" if name == "objective" else None), file, key)
    workload = str(values["workload"])
    given = [k for k in ("batch", "seq_len") if k in params or (k == "seq_len" and values.get(k) is not None)
             or (k == "batch" and values.get(k, 1) != 1)]
    if given and not workload.startswith("zoo:"):
        raise SpecError(f"{given[0]} applies to zoo workloads (zoo:NAME) only; {workload} is a file: "
                        "set the ranks in it instead", file=file, field=f"sweep point {index}: {given[0]}")
    cons = values.get("mapper.constraints")
    cons_doc, cons_file = arch_top.get("constraints"), arch_file
    if cons is not None:
        cons_file = _resolve(base, str(cons))
        cons_doc = load_yaml(cons_file).get("constraints")
        if cons_doc is None:
            raise SpecError("no 'constraints' section", file=cons_file)
    return Point(index, params, holder["architecture"], arch_file, _resolve(base, workload),
                 values.get("batch", 1), values.get("seq_len"), tuple(einsums) if einsums else None,
                 values.get("mapper.objective", "energy"), values.get("mapper.time_limit"), cons_doc, cons_file)
