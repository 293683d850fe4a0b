"""FFM-style join of per-Einsum partial mappings: keep the Pareto-optimal ones, combine along the chain.

A fused Einsum's nest costs the same whatever the other nests do once the shared loops and the homes
of its intermediates are fixed (model/fused.py ``evaluate_nest``), and the words it holds in each phase
add to the others' (``nest_occupancy``). So per Einsum a partial mapping is a point (objective,
words at every capped level in every phase); one whose point is <= another's everywhere can replace it
in any complete mapping, and the other is dropped. Joining along the chain adds the points, drops sums
over a capacity and keeps the Pareto-optimal sums: the minimum over what is left is the minimum over
every combination.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIE = 1e-9   # relative: objectives this close are equal


@dataclass
class Partials:
    """Partial mappings of the Einsums joined so far: objective [N], words [N, D] held at the capped
    levels per phase, and ``picks`` [N, k]: the chosen candidate of each joined Einsum."""

    objective: np.ndarray
    words: np.ndarray
    picks: np.ndarray


def pareto(objective: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats or equals in every coordinate (one of equal points)."""
    pts = np.column_stack([objective * (1 - TIE), words]) if len(objective) else np.zeros((0, 1 + words.shape[1]))
    order = np.lexsort(tuple(pts[:, c] for c in range(pts.shape[1] - 1, -1, -1)))
    kept: list[int] = []
    front = np.zeros((0, pts.shape[1]))
    for i in order:
        p = pts[i].copy()
        p[0] = objective[i]
        if len(front) and np.any(np.all(front <= p, axis=1)):
            continue
        kept.append(int(i))
        front = np.vstack([front, pts[i]])
    return np.array(kept, np.int64)


def start(objective: np.ndarray, words: np.ndarray) -> Partials:
    """The first Einsum's Pareto-optimal partial mappings."""
    keep = pareto(objective, words)
    return Partials(objective[keep], words[keep], keep[:, None])


def join(acc: Partials, objective: np.ndarray, words: np.ndarray, capacity: np.ndarray,
         bound: float = np.inf) -> Partials:
    """Add one Einsum's candidates to every partial mapping; keep the sums within ``capacity`` [D] and
    below ``bound`` (no completion can beat a known mapping from there), then the Pareto-optimal ones."""
    a, b = np.meshgrid(np.arange(len(acc.objective)), np.arange(len(objective)), indexing="ij")
    a, b = a.ravel(), b.ravel()
    obj = acc.objective[a] + objective[b]
    ok = obj <= bound * (1 + TIE)
    a, b, obj = a[ok], b[ok], obj[ok]
    w = acc.words[a] + words[b]
    fits = np.all(w <= capacity[None, :], axis=1)
    a, b, obj, w = a[fits], b[fits], obj[fits], w[fits]
    keep = pareto(obj, w)
    return Partials(obj[keep], w[keep], np.column_stack([acc.picks[a[keep]], b[keep]]))
