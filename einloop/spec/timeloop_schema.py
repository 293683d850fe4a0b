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


TOP_LEVEL = ("architecture", "problem", "mapping", "architecture_constraints", "mapspace_constraints",
             "sparse_optimizations", "ERT", "ART", "ERT_summary", "ART_summary", "mapper", "mapspace",
             "globals", "variables", "components", "compound_components", "dumped_by_timeloop_front_end",
             "model", "version")
NOT_USED = ("mapper", "mapspace", "globals", "variables", "components", "compound_components", "model")
# Attributes einloop reads, with their range; other attributes belong to Accelergy and are passed over,
# unless one is a near-miss of these (a misspelled ``depth`` would leave an unbounded buffer).
NUMERIC = {"depth": "zero", "size": "zero", "width": "positive", "datawidth": "positive",
           "block_size": "positive", "cluster_size": "positive", "multiple_buffering": "positive",
           "meshX": "positive", "meshY": "positive", "read_bandwidth": "positive",
           "write_bandwidth": "positive", "shared_bandwidth": "positive", "global_cycle_seconds": "positive"}
OTHER_ATTRIBUTES = ("technology", "n_banks", "n_rdwr_ports", "n_rd_ports", "n_wr_ports", "type", "name",
                    "has_power_gating", "power_gated_at", "reduction_supported", "min_utilization",
                    "allow_overbooking", "update_fifo_depth", "multiplier_width", "adder_width", "version",
                    "metadata_storage_width", "metadata_storage_depth", "metadata_datawidth", "latency",
                    "network_read", "network_fill", "network_update", "network_drain", "subclass",
                    "memory_width", "memory_depth", "nbanks", "num_ports", "ports", "resolution")
_COMPONENT_KEYS = {"_tag", "name", "class", "subclass", "attributes", "required_actions", "enabled",
                   "constraints", "area_scale", "spatial", "sparse_optimizations", "actions", "nodes",
                   "local", "subtree", "energy_scale"}


def _attributes(attrs, file: str | None, fld: str) -> None:
    if attrs is None:
        return
    if not isinstance(attrs, dict):
        raise SpecError(f"expected a mapping of attributes, got {type(attrs).__name__}", file=file, field=fld)
    for key, value in attrs.items():
        if key in NUMERIC:   # depth/size 0: a buffer that holds nothing (v0.3 DummyBuffers use it)
            if value is not None and not (isinstance(value, str) and value.strip() in ("-", "")):
                finite(value, file, f"{fld}.{key}", positive=NUMERIC[key] == "positive", minimum=0)
        elif key not in OTHER_ATTRIBUTES:
            close = difflib.get_close_matches(str(key), list(NUMERIC), n=1, cutoff=0.75)
            # a near-miss (dept, dpeth), not a longer name that contains one (DAC_datawidth)
            if close and str(key).lower() != close[0].lower() and not any(n in str(key) for n in NUMERIC) \
                    and abs(len(str(key)) - len(close[0])) <= 2:
                raise SpecError(f"unknown attribute {str(key)[:40]!r} (did you mean {close[0]!r}?); einloop "
                                f"reads {', '.join(NUMERIC)}", file=file, field=f"{fld}.{key}")


def _nodes(nodes, file: str | None, fld: str) -> None:
    if nodes is None:
        return
    if not isinstance(nodes, list):
        raise SpecError(f"expected a list, got {type(nodes).__name__}", file=file, field=fld)
    for i, node in enumerate(nodes):
        where = f"{fld}[{i}]"
        if not isinstance(node, dict):
            raise SpecError(f"expected a mapping (a component or container), got {str(node)[:40]!r}",
                            file=file, field=where)
        check_keys(node, _COMPONENT_KEYS, file, where)
        _attributes(node.get("attributes"), file, f"{where}.attributes")
        if isinstance(node.get("spatial"), dict):
            check_keys(node["spatial"], {"meshX", "meshY"}, file, f"{where}.spatial")
            for key, value in node["spatial"].items():
                finite(value, file, f"{where}.spatial.{key}", positive=True, integer=True, minimum=None)
        for child in ("nodes", "local", "subtree"):
            _nodes(node.get(child), file, f"{where}.{child}")


def _tables(section, key: str, file: str | None) -> None:
    if section is None:
        return
    if not isinstance(section, dict):
        raise SpecError(f"expected a mapping with 'tables', got {type(section).__name__}", file=file, field=key)
    check_keys(section, {"version", "tables"}, file, key)
    tables = section.get("tables") or []
    if not isinstance(tables, list):
        raise SpecError("expected a list of tables", file=file, field=f"{key}.tables")
    for i, t in enumerate(tables):
        where = f"{key}.tables[{i}]"
        if not isinstance(t, dict) or "name" not in t:
            raise SpecError("each table needs a 'name'", file=file, field=where)
        if key == "ART":
            check_keys(t, {"name", "area"}, file, where)
            finite(t.get("area", 0), file, f"{where}.area")
            continue
        check_keys(t, {"name", "actions"}, file, where)
        for j, act in enumerate(t.get("actions") or []):
            if not isinstance(act, dict) or "name" not in act:
                raise SpecError("each action needs a 'name' and an 'energy'", file=file, field=f"{where}.actions[{j}]")
            check_keys(act, {"name", "arguments", "energy"}, file, f"{where}.actions[{j}]")
            finite(act.get("energy", 0), file, f"{where}.actions[{j}].energy")


BOUND_CEILING = 2 ** 40     # one rank; the product of all ranks stays below 2**62 (exact int64 counts)


def _problem(prob, file: str | None) -> None:
    if prob is None:
        return
    if not isinstance(prob, dict):
        raise SpecError(f"expected a mapping with 'shape' and 'instance', got {type(prob).__name__}", file=file,
                        field="problem")
    check_keys(prob, {"version", "shape", "instance"}, file, "problem")
    shape, inst = prob.get("shape"), prob.get("instance")
    if isinstance(shape, dict):
        check_keys(shape, {"name", "dimensions", "coefficients", "data_spaces", "version"}, file, "problem.shape")
        for i, ds in enumerate(shape.get("data_spaces") or []):
            if isinstance(ds, dict):
                check_keys(ds, {"name", "projection", "read_write"}, file, f"problem.shape.data_spaces[{i}]")
    if isinstance(inst, dict) and isinstance(shape, dict):
        dims = [str(d) for d in shape.get("dimensions") or []]
        total = 1
        for d in dims:
            if d in inst:
                total *= finite(inst[d], file, f"problem.instance.{d}", positive=True, integer=True, minimum=None)
                if inst[d] > BOUND_CEILING:
                    raise SpecError(f"a rank bound is at most 2**40 = {BOUND_CEILING:,}, got {inst[d]}", file=file,
                                    field=f"problem.instance.{d}")
        if total >= 2 ** 62:
            raise SpecError("the product of the rank bounds must stay below 2**62 so every count is exact in "
                            "64-bit integers", file=file, field="problem.instance")


def _mapping(mapping, file: str | None, fld: str = "mapping") -> None:
    if mapping is None:
        return
    if not isinstance(mapping, list):
        raise SpecError(f"expected a list of directives, got {type(mapping).__name__}", file=file, field=fld)
    for i, d in enumerate(mapping):
        if isinstance(d, dict):
            # no_link_transfer: einloop never forwards data between neighbouring instances, so it holds anyway
            check_keys(d, {"target", "type", "factors", "permutation", "split", "keep", "bypass", "no_link_transfer"},
                       file, f"{fld}[{i}]")


def validate(doc: dict, origin: dict[str, str]) -> None:
    """Every section of a (v0.4-form) Timeloop input checked before it is read; the first problem found
    is one SpecError naming the file and the field path."""
    check_keys(doc, TOP_LEVEL, origin.get(next((k for k in doc if k not in TOP_LEVEL), ""), None), "")
    arch = doc.get("architecture")
    if isinstance(arch, dict):
        file = origin.get("architecture")
        check_keys(arch, {"version", "nodes", "subtree", "_tag", "name", "attributes", "local"}, file, "architecture")
        _attributes(arch.get("attributes"), file, "architecture.attributes")
        _nodes(arch.get("nodes"), file, "architecture.nodes")
        _nodes(arch.get("subtree"), file, "architecture.subtree")
    _problem(doc.get("problem"), origin.get("problem"))
    _mapping(doc.get("mapping"), origin.get("mapping"))
    for key in ("ERT", "ART"):
        _tables(doc.get(key), key, origin.get(key))
