"""Temporal reuse: how many words a parent must deliver to keep a child's tile current.

The child's tile visits positions in odometer order of the temporal loops outside it. When loop k
advances (every inner loop wrapping back) the tile moves by ``w_k = v_k - sum_{i<k} (b_i - 1) v_i``
and only the points not in the previous tile are fetched (``d_k = |tile| - overlap``), unless
Timeloop's stride rule declares a stride change: then the whole tile is re-fetched
(`timeloop-semantics.md` section 2). Two versions of the rule exist:

* ``"2024"``: every translation, zero included, is recorded (Timeloop before commit a12fff5; all the
  reference outputs in ../shared were produced with it);
* ``"2025"``: a zero translation (stationary step) neither costs nor records anything.

The mapper also uses ``"slide"``: every step fetches only the points new to the tile (``d_k``), as if
no stride change ever forced a re-fetch. It is a lower bound for both rules, equal to them for tensors
without sliding windows, and each loop's cost then depends only on the order of its own level.

Closed form. Let loop ``a`` be the innermost loop that steps (bound > 1; under "2025" also w != 0).
Every other step is preceded by a step of ``a`` and followed by one, so the recorded stride before it
is always ``w_a``: the step reuses (costs ``d_k``) iff ``w_k == w_a``, else it costs the whole tile;
every step of ``a`` costs ``d_a``. With ``N_k = (b_k - 1) * prod_{i>k} b_i`` steps of loop k:

    fetched = |tile| + sum_k N_k * (d_k if w_k == w_a else |tile|)

(checked against a literal step-by-step simulation in tests/test_model_vs_bruteforce.py). Timeloop's
temporal extrapolation (``extrapolate=True``) changes only the tile each step starts from: inner loops
stand at index min(b - 1, 1), so ``w_k = v_k - sum_{i<k} (min(b_i, 2) - 1) v_i``.
"""
from __future__ import annotations

import numpy as np

RULES = ("2024", "2025")
BOUND_RULE = "slide"


def overlap(extents: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Points shared by a box and its translate: prod over dims of max(0, extent - |shift|)."""
    return np.prod(np.maximum(extents - np.abs(shift), 0), axis=-1)


def delta_sum(extents: np.ndarray, translations: np.ndarray, bounds: np.ndarray, rule: str = "2025", *,
              extrapolate: bool = False) -> np.ndarray:
    """Total words fetched into a tile over the whole run (first fill included), per batch row.

    extents:      [B, J]    tile extent per tensor dimension
    translations: [B, n, J] per-step translation of each temporal loop outside the tile, inner to outer
    bounds:       [B, n]    loop bounds
    extrapolate:  Timeloop's temporal extrapolation: every loop evaluates its iterations 0 and 1 and
                  counts iteration 1 for each later one, so the tile an outer loop steps from is the one
                  where every inner loop stands at index min(b - 1, 1), not b - 1. It hides the reuse
                  across an outer loop's boundary that the exact count (False) keeps.
    """
    if rule not in RULES and rule != BOUND_RULE:
        raise ValueError(f"reuse rule must be one of {RULES}")
    B, n = bounds.shape
    full = np.prod(extents, axis=-1).astype(np.int64)
    if n == 0:
        return full
    w = translations.copy()
    back = np.minimum(bounds[:, :-1, None], 2) if extrapolate else bounds[:, :-1, None]
    w[:, 1:] -= np.cumsum((back - 1) * translations[:, :-1], axis=1)
    cost = full[:, None] - overlap(extents[:, None, :], w)                       # d_k
    outer = np.concatenate([np.cumprod(bounds[:, ::-1], axis=1)[:, ::-1][:, 1:], np.ones((B, 1), np.int64)], axis=1)
    steps = (bounds - 1) * outer                                                  # N_k
    moving = bounds > 1
    if rule == "2025":
        moving &= np.any(w != 0, axis=-1)
    a = np.argmax(moving, axis=1)                                                 # innermost stepping loop
    w_a = w[np.arange(B), a]
    same = np.all(w == w_a[:, None, :], axis=-1)
    per_step = cost if rule == BOUND_RULE else np.where(same, cost, full[:, None])
    return full + np.sum(np.where(moving, steps * per_step, 0), axis=1)
