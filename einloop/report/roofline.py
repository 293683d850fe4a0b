"""Roofline figure: each MAC Einsum of a workload as a point under the compute and memory roofs.

The figure is drawn with matplotlib's object interface on an Agg canvas, so it never opens a
window, never touches pyplot's global state and works on machines without a display. The data
comes from :func:`einloop.workloads.analysis.roofline`; this module only draws it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from einloop.errors import SpecError
from einloop.workloads.analysis import Roofline

_FORMATS = (".png", ".svg", ".pdf")


def plot_roofline(roof: Roofline, path: str | Path | None = None, *, title: str | None = None,
                  labels: bool | None = None, dpi: int = 150) -> Figure:
    """Draw the roofline of ``roof`` (attainable GMAC/s vs MACs/byte, log-log) and save it to ``path``.

    Each Einsum with MACs is a point at (operational intensity, attainable performance), coloured by
    whether memory or compute bounds it; a star marks the whole workload run layer by layer.
    Einsums without MACs have intensity 0 and cannot sit on a log axis; the legend counts them.
    ``labels`` writes Einsum names next to the points (default: only when there are at most 25).
    The format follows the suffix of ``path``: .png, .svg or .pdf.
    """
    if path is not None and Path(path).suffix.lower() not in _FORMATS:
        raise SpecError(f"cannot save a roofline as {Path(path).suffix or 'a file without suffix'!r}; "
                        f"use one of {', '.join(_FORMATS)}", field="path")
    t = roof.table
    macs = t[t.macs > 0]
    scale = roof.clock_hz / 1e9  # MACs/cycle -> GMAC/s
    fig = Figure(figsize=(7.5, 5.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()

    oi = macs.operational_intensity.to_numpy(dtype=float)
    total = roof.total
    lo = min([roof.ridge, *oi, total.operational_intensity or roof.ridge]) / 10
    hi = max([roof.ridge, *oi]) * 10
    x = np.geomspace(lo, hi, 256)
    ax.plot(x, np.minimum(roof.peak_macs_per_cycle, roof.bandwidth_bytes_per_cycle * x) * scale, color="black",
            lw=2, label=f"roof: {roof.peak_macs_per_s / 1e9:g} GMAC/s, {roof.bandwidth_bytes_per_s / 1e9:g} GB/s")
    ax.axvline(roof.ridge, color="grey", ls=":", lw=1)
    ax.annotate(f"ridge {roof.ridge:.3g} MAC/B", (roof.ridge, roof.peak_macs_per_cycle * scale),
                textcoords="offset points", xytext=(4, -14), fontsize=8, color="grey")
    for bound, color in (("memory", "tab:blue"), ("compute", "tab:orange")):
        sel = macs[macs.bound == bound]
        if len(sel):
            ax.scatter(sel.operational_intensity, sel.attainable_macs_per_cycle * scale, s=22, color=color,
                       alpha=0.8, zorder=3, label=f"{len(sel)} {bound}-bound Einsum(s)")
    if total.operational_intensity > 0:
        ax.scatter([total.operational_intensity], [roof.attainable(total.operational_intensity) * scale],
                   marker="*", s=160, color="tab:red", zorder=4, label="whole workload (layer by layer)")
    skipped = int((t.macs == 0).sum())
    if skipped:
        ax.plot([], [], " ", label=f"{skipped} Einsum(s) without MACs not shown")
    if labels if labels is not None else len(macs) <= 25:
        spots = sorted(_coincident(macs, scale).items())
        for i, ((px, py), names) in enumerate(spots):
            text = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
            ax.annotate(text, (px, py), textcoords="offset points", xytext=(3, 4 if i % 2 == 0 else -11),
                        fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("operational intensity [MAC / byte off-chip]")
    ax.set_ylabel("attainable performance [GMAC/s]")
    ax.set_title(title or f"Roofline of {roof.workload}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    return fig


def _coincident(points, scale: float) -> dict[tuple[float, float], list[str]]:
    """Einsum names grouped by points that fall on the same spot of a log-log plot."""
    groups: dict[tuple[float, float], list[str]] = {}
    where: dict[tuple[float, float], tuple[float, float]] = {}
    for name, row in points.iterrows():
        x, y = row.operational_intensity, row.attainable_macs_per_cycle * scale
        key = (round(float(np.log10(x)), 1), round(float(np.log10(y)), 1))
        where.setdefault(key, (x, y))
        groups.setdefault(key, []).append(str(name))
    return {where[k]: v for k, v in groups.items()}


__all__ = ["plot_roofline"]
