"""Timeloop's ``factors`` and ``permutation`` strings, read strictly (shared by mappings and constraints)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from einloop.errors import SpecError

_FACTOR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*?)\s*(<=|>=|==|=)?\s*(-?\d+)")


@dataclass(frozen=True)
class Factor:
    """One ``factors`` term: rank, relation (``=``, ``<=``, ``>=``) and value."""

    rank: str
    op: str
    value: int


def parse_factors(text, dims: list[str], file: str, fld: str) -> list[Factor]:
    """``"M=8 N<=4"``, ``"N=1,C=1"``, ``"M8"`` or a YAML list of such terms; anything else is refused."""
    items = [str(x) for x in text] if isinstance(text, list) else [str(text)]
    out = []
    for item in items:
        pos = 0
        for m in _FACTOR.finditer(item):
            gap = item[pos:m.start()]
            if gap.strip(" ,\t"):
                break
            if m.group(1) not in dims:
                raise SpecError(f"unknown dimension {m.group(1)!r} in factors; dimensions: {', '.join(dims)}",
                                file=file, field=fld)
            out.append(Factor(m.group(1), {"==": "=", None: "="}.get(m.group(2), m.group(2)), int(m.group(3))))
            pos = m.end()
        if item[pos:].strip(" ,\t"):
            raise SpecError(f"cannot read factor {item[pos:].strip()[:40]!r}; write DIM=N, DIMN or DIM<=N with "
                            f"DIM in {', '.join(dims)}", file=file, field=fld)
    return out


def parse_permutation(text, dims: list[str], file: str, fld: str) -> list[str]:
    """Dimensions inner to outer: a string of one-letter names (``"NCPQ"``, spaces and commas allowed),
    names separated by spaces or commas, or a YAML list."""
    if isinstance(text, list):
        perm = [str(x) for x in text]
    elif all(len(d) == 1 for d in dims):
        perm = [ch for ch in str(text) if not ch.isspace() and ch != ","]
    else:
        perm = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
    bad = [p for p in perm if p not in dims]
    if bad:
        raise SpecError(f"unknown dimension(s) {', '.join(bad)} in permutation; dimensions: {', '.join(dims)}",
                        file=file, field=fld)
    dup = sorted({p for p in perm if perm.count(p) > 1})
    if dup:
        raise SpecError(f"dimension(s) {', '.join(dup)} listed twice in permutation", file=file, field=fld)
    return perm
