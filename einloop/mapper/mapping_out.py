"""A found mapping written in the input's own format, so that ``einloop eval`` reads it back unchanged.

einloop inputs get einloop's form (per node ``temporal``, ``spatial: {X, Y}``, ``keep``). Timeloop
inputs get Timeloop v4 directives: per storage level a ``temporal`` directive (every dimension's
factor, ``permutation`` inner to outer) and a ``bypass`` directive (``keep``/``bypass`` lists), per
fanout a ``spatial`` directive at the Timeloop level that fans out (``fanout_of``), its X dimensions
first in the permutation and ``split`` their count (spec/timeloop.py reads them so).
"""
from __future__ import annotations

from einloop.errors import SpecError
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.mapping import Mapping, loops_text
from einloop.spec.workload import Einsum


def einloop_form(mapping: Mapping) -> list[dict]:
    """A mapping in einloop's YAML form (loops outer to inner, ``RANK=FACTOR``: reads back unambiguously)."""
    out = []
    for n in mapping.nodes:
        d = {"target": n.target}
        temporal = [l for l in n.loops if not l.spatial]
        if temporal:
            d["temporal"] = loops_text(temporal)
        for axis in ("X", "Y"):
            loops = [l for l in n.loops if l.spatial == axis]
            if loops:
                d.setdefault("spatial", {})[axis] = loops_text(loops)
        if n.keep is not None:
            d["keep"] = sorted(n.keep)
        elif n.bypass:
            d["bypass"] = sorted(n.bypass)
        out.append(d)
    return out


def timeloop_form(mapping: Mapping, einsum: Einsum, arch: Architecture, fanout_of: dict[str, str]) -> list[dict]:
    """A mapping as Timeloop v4 directives (``fanout_of``: Timeloop spatial target -> einloop fanout)."""
    dims = list(einsum.ranks)
    target_of = {}
    for target, fan in fanout_of.items():
        target_of.setdefault(fan, target)
    tensors = [t.name for t in einsum.tensors]
    out = []
    for n in mapping.nodes:
        node = arch.node(n.target)
        if isinstance(node, Storage):
            inner_first = [l.rank for l in reversed(n.loops)]
            factor = {l.rank: l.factor for l in n.loops}
            out.append({"target": n.target, "type": "temporal", "factors": _factors(dims, factor),
                        "permutation": " ".join(inner_first + [d for d in dims if d not in inner_first])})
            if n.keep is not None:
                out.append({"target": n.target, "type": "bypass", "keep": sorted(n.keep),
                            "bypass": sorted(set(tensors) - set(n.keep))})
        elif isinstance(node, Fanout):
            if node.name not in target_of:
                raise SpecError(f"fanout {node.name} has no Timeloop spatial level to write its loops to",
                                field="--save-mapping")
            x = [l.rank for l in reversed(n.loops) if l.spatial == "X"]
            y = [l.rank for l in reversed(n.loops) if l.spatial == "Y"]
            factor = {l.rank: l.factor for l in n.loops}
            out.append({"target": target_of[node.name], "type": "spatial", "factors": _factors(dims, factor),
                        "permutation": " ".join(x + y + [d for d in dims if d not in x + y]), "split": len(x)})
    return out


def _factors(dims: list[str], factor: dict[str, int]) -> str:
    """Timeloop's factor string: every dimension, 1 where it does not loop."""
    return " ".join(f"{d}={factor.get(d, 1)}" for d in dims)
