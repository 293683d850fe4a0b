"""Plots (matplotlib): an evaluation's energy breakdown, per-layer bars, sweep curves, Pareto fronts.

Each function returns the Figure (its artists hold the plotted numbers); ``save`` writes PNG/SVG/PDF.
"""
from __future__ import annotations

import json
from pathlib import Path

from einloop.errors import SpecError

FORMATS = (".png", ".svg", ".pdf")
BREAKDOWNS = ("level", "tensor", "action")


def _figure(width: float = 7.0, height: float = 4.0):
    import matplotlib
    matplotlib.use("Agg")   # files only: no display needed
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=(width, height), layout="constrained")


def save(fig, path: str | Path) -> Path:
    """Write the figure; the format follows the suffix (.png, .svg or .pdf)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise SpecError(f"unknown plot format {path.suffix!r}; allowed: {', '.join(FORMATS)}", file=str(path))
    fig.savefig(path, dpi=120)
    return path


def breakdown_of(result, by: str = "level") -> dict[str, float]:
    """Energy (pJ) per level, level.tensor or level.tensor.action of a Result (or a stored breakdown)."""
    if by not in BREAKDOWNS:
        raise SpecError(f"by must be one of {', '.join(BREAKDOWNS)}, got {by!r}", field="--by")
    if isinstance(result, dict):
        return dict(result[by])
    from einloop.sweep.point import breakdown
    return breakdown(result)[by]


def energy_breakdown(result, by: str = "level", title: str = ""):
    """Horizontal bars of energy per level / tensor / action (zero entries left out)."""
    data = {k: v for k, v in breakdown_of(result, by).items() if v}
    fig, ax = _figure(7.0, max(2.5, 0.3 * len(data) + 1.2))
    ax.barh(list(data), list(data.values()))
    ax.invert_yaxis()
    ax.set_xlabel("energy (pJ)")
    ax.set_title(title or f"energy per {by}")
    return fig


def layer_bars(table, metric: str = "energy", title: str = ""):
    """One bar per layer of a network (a table with 'einsum' and the metric, e.g. read_table's rows of
    one point, or NetworkResult.table())."""
    if metric not in table.columns:
        raise SpecError(f"no column {metric!r}; columns: {', '.join(map(str, table.columns))}", field="--y")
    fig, ax = _figure(max(5.0, 0.35 * len(table) + 2), 4.0)
    ax.bar(range(len(table)), table[metric].astype(float).to_numpy())
    ax.set_xticks(range(len(table)), table["einsum"], rotation=90, fontsize=7)
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} per layer")
    return fig


def sweep_curve(table, x: str, y: str = "pJ_per_mac", by: str | None = None, title: str = ""):
    """``y`` against sweep parameter ``x`` (points table), one line per value of ``by`` (optional);
    x sorted, log scale when it spans more than a factor of 16."""
    for col in (x, y, by):
        if col is not None and col not in table.columns:
            raise SpecError(f"no column {col!r}; columns: {', '.join(map(str, table.columns))}", field="--x/--y/--by")
    fig, ax = _figure()
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=True))
    for value, part in groups:
        part = part.sort_values(x)
        ax.plot(part[x].astype(float).to_numpy(), part[y].astype(float).to_numpy(), marker="o",
                label=None if by is None else f"{by}={value}")
    xs = table[x].astype(float)
    if xs.min() > 0 and xs.max() / xs.min() > 16:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if by is not None:
        ax.legend()
    ax.set_title(title or f"{y} vs {x}")
    return fig


def pareto_front(xs, ys) -> list[int]:
    """Indices of the points no other point beats in both (lower is better), by increasing x."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], ys[i]))
    front, best = [], float("inf")
    for i in order:
        if ys[i] < best:
            front.append(i)
            best = ys[i]
    return front


def pareto(table, x: str = "cycles", y: str = "energy", title: str = ""):
    """Every point as a dot and the Pareto front (lower x and y are better) as a line."""
    for col in (x, y):
        if col not in table.columns:
            raise SpecError(f"no column {col!r}; columns: {', '.join(map(str, table.columns))}", field="--x/--y")
    t = table.dropna(subset=[x, y])
    xs, ys = t[x].astype(float).tolist(), t[y].astype(float).tolist()
    front = pareto_front(xs, ys)
    fig, ax = _figure()
    ax.scatter(xs, ys, s=18, color="0.6", label="points")
    ax.plot([xs[i] for i in front], [ys[i] for i in front], marker="o", color="C3", label="Pareto front")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend()
    ax.set_title(title or f"{y} vs {x}")
    return fig


def stored_breakdown(layers_table, point: int = 0, layer: int = 0) -> dict:
    """The breakdown JSON of one stored point and layer (read_table's layer rows)."""
    rows = layers_table[(layers_table.point_index == point) & (layers_table.layer == layer)]
    if rows.empty:
        raise SpecError(f"no stored point {point} layer {layer}", field="--point/--layer")
    data = json.loads(rows.iloc[0]["breakdown"])
    if data is None:
        raise SpecError(f"point {point} layer {layer} has no valid mapping (nothing to break down)", field="--point")
    return data
