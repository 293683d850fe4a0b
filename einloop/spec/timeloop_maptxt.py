"""Timeloop's printed mapping (``timeloop-mapper.map.txt``) read back as mapping directives, so the
mapping a Timeloop mapper run chose can be evaluated when no ``map.yaml`` was written (2019-2022 runs).

The printout lists, outer to inner, each storage level as ``NAME [ T:words ... ]`` (the tensors it keeps;
the others bypass it) followed by its loops ``for R in [0:3)``; loops marked ``(Spatial-X)`` /
``(Spatial-Y)`` are the fanout below that level. Unit loops (``[0:1)``) are placeholders.
"""
from __future__ import annotations

import re

from einloop.errors import SpecError

_LEVEL = re.compile(r"^(\S+) \[(.*)\]\s*$")
_LOOP = re.compile(r"^[|\s]*for (\w+) in \[0:(\d+)\)\s*(\((Spatial-[XY])\))?\s*$")


def read_map_txt(text: str, tensors: list[str], file: str = "") -> list[dict]:
    """Directives (temporal, spatial with split, bypass) equivalent to the printed loop nest."""
    levels: list[tuple[str, list[str], list[tuple[str, int, str | None]]]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or set(line.strip()) <= {"-"} or "<< Compute >>" in line:
            continue
        m = _LEVEL.match(line)
        if m:
            kept = [t.split(":")[0] for t in m.group(2).split()]
            levels.append((m.group(1), kept, []))
            continue
        m = _LOOP.match(line)
        if not m or not levels:
            raise SpecError(f"cannot read line {n} of a Timeloop map.txt: {line.strip()[:60]!r}", file=file)
        levels[-1][2].append((m.group(1), int(m.group(2)), m.group(4)))
    if not levels:
        raise SpecError("no storage level in this map.txt", file=file)
    out = []
    for name, kept, loops in levels:
        out.append({"target": name, "type": "bypass", "keep": kept,
                    "bypass": [t for t in tensors if t not in kept]})
        temporal = [(r, f) for r, f, axis in loops if axis is None and f > 1]
        out.append({"target": name, "type": "temporal", "factors": " ".join(f"{r}={f}" for r, f in temporal),
                    "permutation": " ".join(r for r, _ in reversed(temporal))})
        xs = [(r, f) for r, f, axis in loops if axis == "Spatial-X"]
        ys = [(r, f) for r, f, axis in loops if axis == "Spatial-Y"]
        if xs or ys:
            perm = list(reversed(xs)) + list(reversed(ys))
            out.append({"target": name, "type": "spatial", "factors": " ".join(f"{r}={f}" for r, f in perm),
                        "permutation": " ".join(r for r, _ in perm), "split": len(xs)})
    return out
