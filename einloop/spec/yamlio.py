"""Safe YAML loading: files merged key by key, Timeloop's ``!Container``-style tags accepted as data."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from einloop.errors import SpecError
from einloop.spec.timeloop_folder import TEMPLATE_SUFFIXES, render_template


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads any ``!Tag`` node as plain data with a ``_tag`` key (never code)."""


def _tagged(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        data = loader.construct_mapping(node, deep=True)
        return {"_tag": suffix, **data}
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _tagged)


def load_yaml(path: str | Path) -> dict:
    """One YAML file as a dict; a missing file or broken YAML is a SpecError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise SpecError("file not found", file=str(path))
    try:
        text = p.read_text()
        if p.suffix in TEMPLATE_SUFFIXES:   # Jinja: rendered in a sandbox (spec/timeloop_folder.py)
            text = render_template(text, p)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SpecError(f"broken YAML{where}: {problem}", file=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"the top level must be a mapping of keys, got {type(data).__name__}", file=str(path))
    return data


def load_merged(paths: list[str | Path]) -> tuple[dict, dict[str, str]]:
    """Merge several files' top-level keys (later files win); also return which file gave each key."""
    merged: dict = {}
    origin: dict[str, str] = {}
    for path in paths:
        for key, value in load_yaml(path).items():
            if key in merged and value in (None, [], {}):
                continue  # an empty placeholder does not erase a real section
            merged[key] = value
            origin[key] = str(path)
    return merged, origin


def number(value: Any, *, field: str, file: str | None = None, integer: bool = False,
           minimum: float | None = None) -> float | int:
    """A numeric attribute (YAML number or numeric string); never evaluates expressions."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str):
        try:
            value = float(value) if any(ch in value for ch in ".eE") else int(value)
        except ValueError:
            value = None
    if not isinstance(value, (int, float)):
        raise SpecError(f"expected a number, got {value!r}", file=file, field=field)
    if integer:
        if float(value) != int(value):
            raise SpecError(f"expected an integer, got {value!r}", file=file, field=field)
        value = int(value)
    if minimum is not None and value < minimum:
        raise SpecError(f"must be >= {minimum}, got {value!r}", file=file, field=field)
    return value
