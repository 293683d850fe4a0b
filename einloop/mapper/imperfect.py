"""Imperfect factorization: a rank's factors may multiply to more than its bound, as padding.

With ``imperfect: {P: 0.1}`` in the constraints, rank P (bound 56, say) may be mapped as if its bound
were any ``ceil(56 / t) * t`` up to 10% more (57, 58, 60: the outer loops run ``ceil(56 / t)`` times
over tiles of ``t``, e.g. 5 x 12 on a 12-wide array where 56 has no factor near 12). einloop models
the extra positions as padding: the hardware runs the padded loops as they are, moving and computing
the padded values (zeros) like any other, as an array without residual control does. So every count
of a padded mapping is that of the padded Einsum, exactly (the model is unchanged), and the MACs the
result reports include the padding. Timeloop's residual model (``X=a,b``) moves only real data in a
partial last tile; its counts are lower by at most the padded fraction.

The search maps every combination of padded bounds, least padding first, each under the best
objective found so far (search.map_einsum's ``limit``: most combinations are pruned by their group
bounds before any tiling is built). The best over all is optimal under the constraints.
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace

import numpy as np

from einloop.errors import SpecError
from einloop.spec.arch import Architecture
from einloop.spec.workload import Einsum

MAX_COMBINATIONS = 64   # padded-bound combinations searched at most (each is one search)


def padded_bounds(bound: int, fraction: float) -> list[int]:
    """The bounds a rank may be padded to: ``ceil(bound / t) * t`` for every tile ``t``, at most
    ``fraction`` more than ``bound`` (``bound`` itself first)."""
    top = math.floor(bound * (1 + fraction) + 1e-9)
    return sorted({-(-bound // t) * t for t in range(1, bound + 1)} & set(range(bound, top + 1)))


def combinations(einsum: Einsum, imperfect: dict[str, float]) -> list[dict[str, int]]:
    """Every combination of padded bounds the constraints allow (ranks not padded keep theirs), least
    padded MACs first; an error naming the field when there are more than MAX_COMBINATIONS."""
    options = {r: padded_bounds(b, imperfect.get(r, imperfect.get("*", 0.0))) for r, b in einsum.ranks.items()}
    count = math.prod(len(v) for v in options.values())
    if count > MAX_COMBINATIONS:
        per_rank = ", ".join(f"{r}: {len(v)}" for r, v in options.items() if len(v) > 1)
        raise SpecError(f"imperfect factorization allows {count:,} combinations of padded bounds ({per_rank}); "
                        f"at most {MAX_COMBINATIONS}: pad fewer ranks or by a smaller fraction",
                        field="constraints.imperfect")
    combos = [dict(zip(options, values)) for values in itertools.product(*options.values())]
    return sorted(combos, key=lambda c: (math.prod(c.values()), tuple(c.values())))


def map_padded(einsum: Einsum, arch: Architecture, cons, *, objective: str, time_limit: float | None, **options):
    """search.map_einsum over every padded-bound combination; the best mapping, its result on the
    padded Einsum (``MapResult.einsum``), and the search statistics summed over the combinations."""
    from einloop.mapper.search import MapResult, SearchStats, _pareto, map_einsum

    start = time.perf_counter()
    plain = replace(cons, imperfect={})
    best, stats, front = None, SearchStats(), []
    for bounds in combinations(einsum, cons.imperfect):
        left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - start))
        if left == 0.0 or (options.get("deadline") is not None and time.time() >= options["deadline"]):
            stats.proven_optimal = False
            break
        padded = einsum if bounds == einsum.ranks else einsum.padded(bounds)
        limit = np.inf if best is None or objective == "pareto" else _objective_value(best, objective)
        r = map_einsum(padded, arch, plain, objective=objective, time_limit=left, limit=limit, **options)
        stats.add(r.stats)
        front += r.pareto
        if r.result is not None and (best is None or _key(r, objective) < _key(best, objective)):
            best = r   # ties to less padding (searched first); cycles ties to lower energy, as unpadded
    stats.seconds = time.perf_counter() - start
    if best is None:
        return MapResult(einsum, None, None, stats)
    padding = {k: (einsum.ranks[k], v) for k, v in best.einsum.ranks.items() if v != einsum.ranks[k]}
    note = "; ".join(f"{k} padded {a} -> {b}" for k, (a, b) in padding.items())
    return MapResult(best.einsum, best.mapping, best.result, stats,
                     _pareto(front, order=lambda p: (p[1].energy, p[1].cycles)), note=note,
                     padding=padding)


def _key(r, objective: str) -> tuple[float, float]:
    """How two combinations' answers compare: the objective, then energy (the search's own tie-break)."""
    return _objective_value(r, objective), r.result.energy


def _objective_value(r, objective: str) -> float:
    from einloop.mapper.search import _objective

    return float(_objective(objective, r.result.energy, r.result.cycles))
