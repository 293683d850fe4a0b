"""Safe YAML reading for every einloop reader (its own specs and Timeloop's).

Paths are checked, files read as bytes with a size limit and decoded as UTF-8, and YAML is parsed by
a SafeLoader (never code) with limits on nesting depth and on alias expansion, duplicate keys refused;
Timeloop's ``!Container``-style tags are read as data. Limits are in :mod:`einloop.spec.limits`.
"""
from __future__ import annotations

import math
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from einloop.errors import SpecError
from einloop.spec.limits import (MAX_ECHO, MAX_FILE_BYTES, MAX_PATH_CHARS, MAX_YAML_DEPTH, MAX_YAML_NODES,
                                 shorten)

_MERGE = "tag:yaml.org,2002:merge"
_MAX_INT_DIGITS = 40
from einloop.spec.timeloop_folder import TEMPLATE_SUFFIXES, render_template


class _Loader(yaml.SafeLoader):
    """SafeLoader with a nesting limit and duplicate-key check; any ``!Tag`` is data with a ``_tag`` key."""

    def __init__(self, stream):
        super().__init__(stream)
        self.nesting = 0

    def compose_node(self, parent, index):
        """PyYAML's composer, refusing nesting past MAX_YAML_DEPTH (no RecursionError)."""
        self.nesting += 1
        try:
            if self.nesting > MAX_YAML_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels (einloop's limit)",
                                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.nesting -= 1

    def construct_mapping(self, node, deep=False):
        """PyYAML's mapping constructor, refusing a key given twice (merge keys excepted)."""
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE or not isinstance(key_node, ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise ConstructorError(None, None, f"duplicate key {shorten(key)} (first given at line "
                                                       f"{seen[key] + 1}); give each key once",
                                           key_node.start_mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        """PyYAML's integer constructor, refusing integers of more than 40 digits."""
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > _MAX_INT_DIGITS:
            raise ConstructorError(None, None, f"an integer of {digits} digits; einloop's ceilings are below "
                                               f"{_MAX_INT_DIGITS} digits", node.start_mark)
        return super().construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _tagged(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        data = loader.construct_mapping(node, deep=True)
        return {"_tag": suffix, **data}
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _tagged)


def checked_path(path: str | Path) -> Path:
    """``path`` if it names a readable regular file; otherwise a SpecError saying what is wrong with it."""
    text = str(path)
    where = shorten(text, MAX_PATH_CHARS if len(text) <= MAX_PATH_CHARS else MAX_ECHO).strip("'\"")
    if not text.strip():
        raise SpecError("empty file name; give the path of a YAML file")
    if "\x00" in text:
        raise SpecError("the file name contains a NUL character", file=where)
    if len(text) > MAX_PATH_CHARS or any(len(part.encode()) > 255 for part in Path(text).parts):
        raise SpecError(f"file name too long ({len(text)} characters; at most {MAX_PATH_CHARS}, "
                        "255 bytes per folder or file name)", file=where)
    try:
        info = Path(text).stat()
    except (FileNotFoundError, NotADirectoryError):
        raise SpecError("file not found", file=where) from None
    except PermissionError:
        raise SpecError("permission denied: cannot read this file", file=where) from None
    except OSError as err:
        raise SpecError(f"cannot read this file: {err.strerror or type(err).__name__}", file=where) from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecError("is a folder, not a YAML file", file=where)
    if not stat.S_ISREG(info.st_mode):
        raise SpecError("not a regular file (a device, pipe or socket); give a YAML file", file=where)
    if info.st_size > MAX_FILE_BYTES:
        raise SpecError(f"the file has {info.st_size:,} bytes; einloop reads YAML files of at most "
                        f"{MAX_FILE_BYTES:,} bytes", file=where)
    return Path(text)


def read_text(path: str | Path) -> str:
    """The UTF-8 text of a checked file; a binary or non-UTF-8 file is a SpecError naming it."""
    p = checked_path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise SpecError(f"cannot read this file: {err.strerror or type(err).__name__}", file=str(path)) from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(f"the file has more than {MAX_FILE_BYTES:,} bytes (einloop's limit)", file=str(path))
    if b"\x00" in data:
        raise SpecError(f"a binary file (NUL byte at offset {data.index(0)}), not YAML text", file=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SpecError(f"not UTF-8 text: byte 0x{data[err.start]:02x} at offset {err.start} cannot be decoded; "
                        "save the file as UTF-8", file=str(path)) from None


def _check_expansion(root: Node) -> None:
    """Refuse a document whose alias expansion has more than MAX_YAML_NODES nodes or nests too deep."""
    memo: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)
    active: set[int] = set()

    def visit(node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in memo:
            size, height = memo[key]
        else:
            if key in active:
                raise ComposerError(None, None, "an alias refers to a node that contains it (recursive YAML)",
                                    node.start_mark)
            if depth > MAX_YAML_DEPTH:
                raise ComposerError(None, None, f"aliases nest the document deeper than {MAX_YAML_DEPTH} levels",
                                    node.start_mark)
            active.add(key)
            children = (node.value if isinstance(node, SequenceNode) else
                        [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else [])
            parts = [visit(child, depth + 1) for child in children]
            active.discard(key)
            size = 1 + sum(p[0] for p in parts)
            height = 1 + max((p[1] for p in parts), default=0)
            memo[key] = (min(size, MAX_YAML_NODES + 1), height)
        if size > MAX_YAML_NODES:
            raise ComposerError(None, None, f"the document has more than {MAX_YAML_NODES:,} nodes with aliases "
                                            "expanded (einloop's limit against alias bombs)", node.start_mark)
        if depth + height - 1 > MAX_YAML_DEPTH:
            raise ComposerError(None, None, f"aliases nest the document deeper than {MAX_YAML_DEPTH} levels",
                                node.start_mark)
        return size, height

    visit(root, 1)


def _parse(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> dict:
    """One YAML file as a dict; a bad path, bad bytes or broken YAML is a SpecError naming the file."""
    text = read_text(path)
    try:
        if Path(path).suffix in TEMPLATE_SUFFIXES:   # Jinja: rendered in a sandbox (spec/timeloop_folder.py)
            text = render_template(text, Path(path))
            if len(text.encode()) > MAX_FILE_BYTES:
                raise SpecError(f"the rendered template has more than {MAX_FILE_BYTES:,} bytes (einloop's limit)",
                                file=str(path))
        data = _parse(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SpecError(f"broken YAML{where}: {problem}", file=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"the top level must be a mapping of keys, got {type(data).__name__}", file=str(path))
    odd = [k for k in data if not isinstance(k, str)]
    if odd:
        raise SpecError(f"top-level key {shorten(odd[0])} is not a name; section names are text",
                        file=str(path))
    return data


def load_merged(paths: list[str | Path]) -> tuple[dict, dict[str, str]]:
    """Merge several files' top-level keys (later files win); also return which file gave each key."""
    if not paths:
        raise SpecError("no input files given")
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
           minimum: float | None = None, maximum: float | None = None) -> float | int:
    """A finite numeric attribute (YAML number or numeric string); never evaluates expressions.

    Booleans are not numbers; NaN and infinity are refused; ``minimum``/``maximum`` bound it.
    """
    given = value
    if isinstance(value, bool):
        value = None
    if isinstance(value, str):
        try:
            value = float(value) if any(ch in value for ch in ".eE") else int(value)
        except (ValueError, OverflowError):
            value = None
    if not isinstance(value, (int, float)):
        raise SpecError(f"expected a number, got {shorten(given)}", file=file, field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"expected a finite number, got {given!r}", file=file, field=field)
    if integer:
        if float(value) != int(value):
            raise SpecError(f"expected an integer, got {shorten(given)}", file=file, field=field)
        value = int(value)
    if minimum is not None and value < minimum:
        raise SpecError(f"must be >= {minimum}, got {shorten(given)}", file=file, field=field)
    if maximum is not None and value > maximum:
        raise SpecError(f"must be <= {maximum:g}, got {shorten(given)}", file=file, field=field)
    return value
