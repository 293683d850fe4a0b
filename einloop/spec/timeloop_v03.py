"""Timeloop v0.2 / v0.3 input (2019-2023 exercises, Sparseloop) rewritten into the v0.4 form that
``spec/timeloop.py`` reads, so both reach the same internal spec.

What changes between the versions (documented decisions):
* keys with hyphens become underscores (``data-spaces``, ``read-write``, ``word-bits``, ``block-size``,
  ``cluster-size``); ``word-bits`` is the ``datawidth``; Sparseloop's ``data_storage_depth`` /
  ``data_storage_width`` are ``depth`` / ``width``; an ``arch:`` root is ``architecture:``.
* instance counts: a v0.2/v0.3 name ``X[0..15]`` means 16 instances (v0.4 writes ``X[1..16]``), and a
  subtree's range multiplies every component below it. Each component is given its total count in the
  v0.4 form; ``meshX`` (default: all instances in X) is kept.
* ERT/ART table names carry such ranges too (``system.PE[0..127].LRF``); they are reduced to the
  component name. A register's single ``access`` action prices its reads, fills and updates.
* ``sparse_optimizations`` and per-tensor ``densities`` below 1 are not modelled yet: the input is
  evaluated dense and they are reported as ignored. Sparseloop's ``stream`` of a kept tensor changes
  nothing; of a bypassed tensor it is refused (see ``_mapping``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from einloop.errors import SpecError
from einloop.spec.timeloop_factors import parse_factors
from einloop.spec.timeloop_folder import unfold_containers
from einloop.spec.timeloop_schema import NOT_USED, validate

_KEYS = {"data-spaces": "data_spaces", "read-write": "read_write", "word-bits": "datawidth",
         "block-size": "block_size", "cluster-size": "cluster_size", "data_storage_depth": "depth",
         "data_storage_width": "width", "multiple-buffering": "multiple_buffering",
         "read-bandwidth": "read_bandwidth", "write-bandwidth": "write_bandwidth"}
_RANGE = re.compile(r"^(.*)\[(\d+)\.\.(\d+)\]$")


@dataclass(frozen=True)
class Upgraded:
    """The input in v0.4 form and what einloop ignores in it (said on stderr and in the JSON)."""

    doc: dict
    ignored: tuple[str, ...] = ()


def is_legacy(doc: dict) -> bool:
    """v0.2/v0.3: a version below 0.4, an ``arch`` root, or hyphenated v0.2 keys in the problem."""
    arch = doc.get("architecture", doc.get("arch"))
    version = arch.get("version") if isinstance(arch, dict) else None
    if "arch" in doc and "architecture" not in doc:
        return True
    if version is not None and str(version) in ("0.2", "0.3"):
        return True
    shape = (doc.get("problem") or {}).get("shape") if isinstance(doc.get("problem"), dict) else None
    return isinstance(shape, dict) and "data-spaces" in shape


def _count(name: str) -> tuple[str, int]:
    """``X[0..15]`` -> (X, 16); ``X[1..16]`` -> (X, 16); ``X`` -> (X, 1)."""
    m = _RANGE.match(str(name))
    if not m:
        return str(name), 1
    lo, hi = int(m.group(2)), int(m.group(3))
    return m.group(1), hi - lo + 1


ARITHMETIC = ("intmac", "fpmac", "mac", "compute", "intmultiplier", "fpmultiplier", "multiplier")


def is_arithmetic(cls: str) -> bool:
    """A compute-unit class (Timeloop's arithmetic level), wherever it sits in a ``local`` list."""
    return cls.lower() in ARITHMETIC or cls.lower().endswith("mac")


def _renamed(d: dict) -> dict:
    return {_KEYS.get(k, k): v for k, v in d.items()}


def _subtree(tree: list, outer: int, file: str) -> list:
    out = []
    for i, sub in enumerate(tree or []):
        if not isinstance(sub, dict):
            raise SpecError("a subtree entry must be a mapping with 'name' and 'local'/'subtree'", file=file,
                            field=f"architecture.subtree[{i}]")
        name, n = _count(sub.get("name", "?"))
        here = outer * n
        locals_ = []
        for comp in sub.get("local") or []:
            cname, k = _count(comp.get("name", "?"))
            attrs = _renamed(comp.get("attributes") or {})
            total = here * k
            if "meshX" in attrs and "meshY" not in attrs and isinstance(attrs["meshX"], int) and attrs["meshX"] > 0:
                attrs["meshY"] = max(total // attrs["meshX"], 1)
            locals_.append({**comp, "name": f"{cname}[1..{total}]", "attributes": attrs})
        # the arithmetic unit may be listed among the storage levels (2020 exercises): it is the leaf
        locals_.sort(key=lambda c: is_arithmetic(str(c.get("class", ""))))
        out.append({**sub, "name": name, "attributes": _renamed(sub.get("attributes") or {}), "local": locals_,
                    "subtree": _subtree(sub.get("subtree"), here, file)})
    return out


def _tables(section) -> object:
    """ERT/ART tables with v0.3 ranges dropped from component names."""
    if not isinstance(section, dict) or not isinstance(section.get("tables"), list):
        return section
    tables = []
    for t in section["tables"]:
        if isinstance(t, dict) and "name" in t:
            t = {**t, "name": re.sub(r"\[\d+\.\.\d+\]", "", str(t["name"]))}
            acts = t.get("actions") if isinstance(t.get("actions"), list) else []
            names = {a.get("name") for a in acts if isinstance(a, dict)}
            if "access" in names and not names & {"read", "write"}:   # a register: one action for all
                acts = acts + [{**a, "name": n} for a in acts if isinstance(a, dict) and a.get("name") == "access"
                               for n in ("read", "write")]
                t = {**t, "actions": acts}
        tables.append(t)
    return {**section, "tables": tables}


def _problem(prob, file: str) -> tuple[object, list[str]]:
    if not isinstance(prob, dict):
        return prob, []
    shape = prob.get("shape")
    if isinstance(shape, dict):
        spaces = [_renamed(ds) if isinstance(ds, dict) else ds for ds in shape.get("data-spaces", [])]
        shape = {**_renamed(shape), **({"data_spaces": spaces} if "data-spaces" in shape else {})}
    inst = prob.get("instance")
    if inst is None:   # v0.2 writes the bounds beside 'shape' (problem: {shape: ..., C: 3, K: 4})
        inst = {k: v for k, v in prob.items() if k not in ("shape", "version")}
        prob = {k: v for k, v in prob.items() if k in ("shape", "version")}
        prob["instance"] = inst
    ignored = []
    if isinstance(inst, dict) and isinstance(inst.get("densities"), dict):
        sparse = sorted(k for k, v in inst["densities"].items()
                        if (v.get("density", 1) if isinstance(v, dict) else v) != 1)
        if sparse:
            ignored.append(f"problem.instance.densities ({', '.join(sparse)} below 1): evaluated dense")
    return {**prob, "shape": shape}, ignored


def _mapping(mapping, file: str) -> list | object:
    """The directive list (``mapping: {targets: [...]}`` accepted). Sparseloop's ``stream`` of a tensor the
    level keeps changes nothing (its counts are those of a kept tensor) and is dropped; a streamed tensor
    that bypasses the level still pays a read and a fill there per word passing ("A (Streamed)" in
    stats.txt), which einloop does not model: refused by name."""
    if isinstance(mapping, dict) and isinstance(mapping.get("targets"), list):
        mapping = mapping["targets"]
    if not isinstance(mapping, list):
        return mapping
    for i, d in enumerate(mapping):
        passing = sorted(set(d.get("stream") or ()) - set(d.get("keep") or ())) if isinstance(d, dict) else []
        if passing:
            raise SpecError(f"einloop cannot honour stream of {', '.join(map(str, passing))} through "
                            f"{d.get('target')} (a bypassed tensor that still pays a read and a fill there); "
                            "allowed: stream only tensors the level keeps", file=file, field=f"mapping[{i}].stream")
    return [{k: v for k, v in d.items() if k != "stream"} if isinstance(d, dict) else d for d in mapping]


def upgrade(doc: dict, origin: dict[str, str]) -> Upgraded:
    """The v0.2/v0.3 document ``doc`` in v0.4 form (see the module docstring for every change)."""
    out = dict(doc)
    if "arch" in out and "architecture" not in out:
        out["architecture"] = out.pop("arch")
        origin.setdefault("architecture", origin.get("arch", ""))
    arch = out.get("architecture")
    file = origin.get("architecture", "")
    if isinstance(arch, dict):
        if "subtree" not in arch:
            raise SpecError("a v0.2/v0.3 architecture needs a 'subtree' list (the 'arithmetic'/'storage' form of "
                            "v0.1 is not read)", file=file, field="architecture")
        out["architecture"] = {**arch, "version": "0.4", "subtree": _subtree(arch["subtree"], 1, file)}
    out["problem"], ignored = _problem(out.get("problem"), origin.get("problem", ""))
    if "mapping" in out:
        out["mapping"] = _mapping(out["mapping"], origin.get("mapping", ""))
    for key in ("ERT", "ART"):
        if key in out:
            out[key] = _tables(out[key])
    return Upgraded(out, tuple(ignored))


def ignored_sections(doc: dict) -> tuple[str, ...]:
    """Sections of any Timeloop version that einloop reads but does not model yet."""
    sparse = doc.get("sparse_optimizations")
    targets = sparse.get("targets") if isinstance(sparse, dict) else sparse
    out = [f"sparse_optimizations ({len(targets)} target(s)): not modelled yet, evaluated dense"] if targets else []
    unused = [k for k in NOT_USED if doc.get(k)]
    if unused:
        out.append(f"{', '.join(unused)}: settings of Timeloop's mapper and Accelergy, not used by einloop "
                   "(energies come from the ERT or einloop's component library)")
    return tuple(out)


def residual_factors(doc: dict, file: str) -> dict:
    """A mapping factor ``X=0`` means "what is left of X" (Timeloop's mapping parser): the bound over
    the product of X's other factors. Written out here so the reader sees whole numbers."""
    mapping, prob = doc.get("mapping"), doc.get("problem")
    if not isinstance(mapping, list) or not isinstance(prob, dict) or not isinstance(prob.get("instance"), dict):
        return doc
    dims = [str(d) for d in ((prob.get("shape") or {}).get("dimensions") or [])]
    inst = prob["instance"]
    parsed = {}
    for i, d in enumerate(mapping):
        if isinstance(d, dict) and d.get("type", "temporal") in ("temporal", "spatial") and "factors" in d:
            parsed[i] = parse_factors(d["factors"], dims, file, f"mapping[{i}].factors")
    if not any(f.value == 0 for fs in parsed.values() for f in fs):
        return doc
    out = list(mapping)
    for i, fs in parsed.items():
        if not any(f.value == 0 for f in fs):
            continue
        terms = []
        for f in fs:
            value = f.value
            if value == 0:
                others = math.prod(g.value for j, gs in parsed.items() for g in gs
                                   if g.rank == f.rank and g.value and (j, g) != (i, f))
                bound = inst.get(f.rank, 1)
                if not isinstance(bound, int) or isinstance(bound, bool) or bound % others:
                    raise SpecError(f"factor {f.rank}=0 (the rest of {f.rank}): the other factors of {f.rank} "
                                    f"({others}) do not divide its bound {bound!r}", file=file,
                                    field=f"mapping[{i}].factors")
                value = bound // others
            terms.append(f"{f.rank}={value}")
        out[i] = {**mapping[i], "factors": " ".join(terms)}
    return {**doc, "mapping": out}


def prepare(doc: dict, origin: dict[str, str]) -> Upgraded:
    """Any Timeloop input made ready for ``read_timeloop``: older versions upgraded, v0.4 containers and
    node constraints unfolded (``timeloop_folder``), ``X=0`` factors written out, ignored parts listed."""
    up = upgrade(doc, origin) if is_legacy(doc) else Upgraded(doc)
    validate(up.doc, origin)      # before unfolding, so field paths are the user's
    up = Upgraded(unfold_containers(up.doc, origin), up.ignored)
    return Upgraded(residual_factors(up.doc, origin.get("mapping", "")), up.ignored + ignored_sections(up.doc))
