"""Temporal reuse: how many words a parent must deliver to keep a child's tile current.

The child's tile visits positions in odometer order of the temporal loops outside it. Between two
consecutive positions only the new points move (delta = tile minus the overlap with the previous tile),
except that Timeloop re-fetches the whole tile when the translation differs from the recorded stride
(`timeloop-semantics.md` section 2). Two rules exist:

* ``"2024"``: every translation, zero included, is recorded (Timeloop before commit a12fff5; all the
  reference outputs in ../shared were produced with it);
* ``"2025"``: a zero translation (a stationary step) is transparent: it neither costs nor records.

The sequence of translations is recursive -- loop k steps once, then every inner loop replays -- so the
sum is computed in closed form over the loop bounds: each loop's effect is a small state machine (state =
which stride is recorded), composed loop by loop and raised to the loop's bound by repeated squaring.
Everything is vectorized over a batch of mappings of the same loop structure.
"""
from __future__ import annotations

import numpy as np

RULES = ("2024", "2025")


def _compose(first: tuple[np.ndarray, np.ndarray], then: tuple[np.ndarray, np.ndarray]):
    """Run table ``first`` and then table ``then``; tables are (cost[B,S], next_state[B,S])."""
    c1, n1 = first
    c2, n2 = then
    return c1 + np.take_along_axis(c2, n1, axis=1), np.take_along_axis(n2, n1, axis=1)


def _power(table, exponent: np.ndarray, identity):
    """``table`` applied ``exponent`` times (per batch row), by repeated squaring."""
    result = identity
    square = table
    e = exponent.astype(np.int64).copy()
    while np.any(e > 0):
        odd = (e & 1).astype(bool)[:, None]
        if odd.any():
            stepped = _compose(result, square)
            result = (np.where(odd, stepped[0], result[0]), np.where(odd, stepped[1], result[1]))
        e >>= 1
        if np.any(e > 0):
            square = _compose(square, square)
    return result


def overlap(extents: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Points shared by a box and its translate: prod over dims of max(0, extent - |shift|)."""
    return np.prod(np.maximum(extents - np.abs(shift), 0), axis=-1)


def delta_sum(extents: np.ndarray, translations: np.ndarray, bounds: np.ndarray, rule: str = "2024") -> np.ndarray:
    """Total words fetched into a tile over the whole run (first fill included), per batch row.

    extents:      [B, J]    tile extent per tensor dimension
    translations: [B, n, J] per-step translation of each temporal loop outside the tile, inner to outer
    bounds:       [B, n]    loop bounds
    """
    if rule not in RULES:
        raise ValueError(f"reuse rule must be one of {RULES}")
    B, n = bounds.shape
    full = np.prod(extents, axis=-1).astype(np.int64)
    if n == 0:
        return full
    # w_k: translation when loop k advances and every inner loop wraps back to its start.
    wrapped = np.cumsum((bounds[:, :, None] - 1) * translations, axis=1)
    w = translations.copy()
    w[:, 1:] -= wrapped[:, :-1]
    step_cost = full[:, None] - overlap(extents[:, None, :], w)          # [B, n]
    zero = np.all(w == 0, axis=-1)                                       # [B, n]
    # canonical state for each w_k: 1 + first j with w_j == w_k (state 0 = no recorded stride)
    same = np.all(w[:, :, None, :] == w[:, None, :, :], axis=-1)         # [B, k, j]
    canon = 1 + np.argmax(same, axis=2)                                  # [B, n]
    S = n + 1
    states = np.broadcast_to(np.arange(S), (B, S))
    identity = (np.zeros((B, S), np.int64), states.copy())
    f = identity
    for k in range(n):
        ck = canon[:, k:k + 1]
        reuse = (states == 0) | (states == ck)
        cost = np.where(reuse, step_cost[:, k:k + 1], full[:, None])
        nxt = np.where(states == 0, ck, np.where(reuse, states, 0))
        if rule == "2025":
            zk = zero[:, k:k + 1]
            cost = np.where(zk, 0, cost)
            nxt = np.where(zk, states, nxt)
        g = _compose((cost.astype(np.int64), nxt), f)
        f = _compose(f, _power(g, bounds[:, k] - 1, identity))
    return full + f[0][:, 0]
