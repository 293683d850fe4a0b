"""Value types for einloop's pydantic spec models, and pydantic errors turned into one SpecError.

Booleans are never numbers, NaN and infinity are refused, and every size, bound and energy has a
ceiling (:mod:`einloop.spec.limits`) whose reason the message says.
"""
from __future__ import annotations

import difflib
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError

from einloop.errors import SpecError
from einloop.spec.limits import BOUND_REASON, shorten


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value}")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def ceiling(limit: float, reason: str = BOUND_REASON) -> AfterValidator:
    """A validator refusing values above ``limit``, saying why einloop has that ceiling."""
    def check(value):
        if value > limit:
            shown = f"2**{int(math.log2(limit))}" if isinstance(limit, int) and limit & (limit - 1) == 0 else f"{limit:g}"
            raise ValueError(f"must be at most {shown} ({reason}), got {shorten(value)}")
        return value
    return AfterValidator(check)


#: an integer that is not a boolean
Int = Annotated[int, BeforeValidator(_not_bool)]
#: a finite real number that is not a boolean
Real = Annotated[float, BeforeValidator(_not_bool), AfterValidator(_finite)]


def field_path(section: str, loc: tuple) -> str:
    """``architecture.nodes[2].depth`` from a pydantic location (union tags dropped)."""
    out = section
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).endswith("Spec"):
            out += f".{part}"
    return out


def _message(e: dict) -> str:
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "int_parsing_size":
        msg = "too large for an integer; einloop's ceilings are at most 2**47"
    if e["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "int_from_float",
                     "int_parsing", "float_parsing", "int_type", "float_type", "string_type", "dict_type",
                     "list_type", "literal_error", "int_parsing_size", "finite_number", "bool_type", "model_type", "union_tag_invalid"):
        msg += f", got {shorten(e.get('input'))}"
    return msg


def validated(model: type[BaseModel], data: Any, file: str, section: str):
    """``model.model_validate(data)``, or one SpecError naming the file, the field path and what is allowed."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = field_path(section, e["loc"])
        if e["type"] == "extra_forbidden":
            owner = model_at(model, e["loc"][:-1])
            names = [f.alias or name for name, f in owner.model_fields.items()] if owner else []
            close = difflib.get_close_matches(str(e["loc"][-1]), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"unknown field {shorten(e['loc'][-1])}{hint}; allowed fields: "
                            f"{', '.join(names) or 'see the README'}", file=file, field=loc) from None
        raise SpecError(_message(e), file=file, field=loc) from None


def model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model at a location (to list its allowed fields); union members are named by tag."""
    cur: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        tagged = [m for m in _models_in(cur) if m.__name__ == part]
        if tagged:
            cur = tagged[0]
            continue
        if not (isinstance(cur, type) and issubclass(cur, BaseModel)):
            found = _models_in(cur)
            if len(found) != 1:
                return None
            cur = found[0]
        f = cur.model_fields.get(part) or next((f for f in cur.model_fields.values() if f.alias == part), None)
        if f is None:
            return cur
        cur = f.annotation
    if isinstance(cur, type) and issubclass(cur, BaseModel):
        return cur
    found = _models_in(cur)
    return found[0] if len(found) == 1 else None


def _models_in(annotation: Any, depth: int = 0) -> list[type[BaseModel]]:
    """Every pydantic model class inside a (nested) type annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if depth > 6:
        return []
    out: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) + tuple(getattr(annotation, "__metadata__", ())):
        out += _models_in(arg, depth + 1)
    return out
