"""Checks of Timeloop input before it is read: known keys (with "did you mean"), numbers that are
numbers (not booleans, NaN or infinity) and in range, so a misspelled ``depth`` or an ``inf`` energy
is one SpecError naming the file and the field path instead of a silent wrong result."""
from __future__ import annotations

import difflib
import math
from typing import Any, Iterable

from einloop.errors import SpecError


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'depth'?)`` when a close known key exists, else an empty string."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(data: dict, allowed: Iterable[str], file: str | None, fld: str) -> None:
    """Refuse a key outside ``allowed``, naming it, the closest allowed key and the allowed set."""
    allowed = set(allowed)
    for key in data:
        if key not in allowed and not str(key).startswith("_"):
            raise SpecError(f"unknown key {str(key)[:40]!r}{suggest(key, allowed)}; allowed: "
                            f"{', '.join(sorted(allowed))}", file=file, field=f"{fld}.{key}" if fld else str(key))


def finite(value: Any, file: str | None, fld: str, *, minimum: float | None = 0.0, positive: bool = False,
           integer: bool = False) -> float | int:
    """A finite number (YAML number or numeric string): booleans, NaN, infinity and values below
    ``minimum`` (or not above 0 when ``positive``) are refused."""
    raw = value
    if isinstance(value, str):
        try:
            value = float(value) if any(ch in value.lower() for ch in ".en") else int(value)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"expected a number, got {str(raw)[:40]!r}", file=file, field=fld)
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"expected a finite number, got {raw!r}", file=file, field=fld)
    if integer and value != int(value):
        raise SpecError(f"expected a whole number, got {raw!r}", file=file, field=fld)
    if positive and value <= 0:
        raise SpecError(f"must be > 0, got {raw!r}", file=file, field=fld)
    if minimum is not None and value < minimum:
        raise SpecError(f"must be >= {minimum:g}, got {raw!r}", file=file, field=fld)
    return int(value) if integer else value
