"""Timeloop mapspace constraints (``architecture_constraints`` / ``mapspace_constraints`` targets) read
into einloop's per-level ``Constraints``, with Timeloop's meaning and nothing silently dropped.

Timeloop's rules, as its constraint parser applies them (NVlabs/timeloop ``mapping/constraints.cpp``):
* ``factors``: ``M=8`` / ``M8`` fixes a factor (``M=0`` means the whole bound; one above the bound is
  clamped to it, noted in ``Constraints.notes``), ``M<=8`` bounds it;
  a dimension not named is free. Forms ``"M=1 N=2"``, ``"N=1,C=1"`` and YAML lists are read.
* ``permutation``: inner to outer; a partial one fixes only the innermost loops.
* spatial ``split``: the first ``split`` dimensions of the level's permutation go to X, the others
  to Y; dimensions not listed follow the listed ones, so they go to Y unless ``split`` reaches past
  the list (then either axis).
* ``utilization`` / ``parallelism`` ``min``: the fraction of all compute instances used.

Targets on timeloopfe's dummy levels (``dummy_storage``): einloop folds a dummy's temporal loops into
the storage level above it, so unit factors and bypasses there constrain nothing and are accepted; a
constraint that would change that merged level (a factor > 1, a kept tensor) is refused by name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints, LevelConstraint
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.workload import Einsum
from einloop.spec.timeloop_factors import parse_factors, parse_permutation
from einloop.spec.timeloop_schema import check_keys, suggest

_KEYS = {
    "temporal": {"target", "type", "factors", "permutation"},
    "spatial": {"target", "type", "factors", "permutation", "split"},
    "bypass": {"target", "type", "keep", "bypass"},
    "utilization": {"target", "type", "min"},
    "max_overbooked_proportion": {"target", "type", "proportion"},
    "no_multicast": {"target", "type", "datatypes"},
    "no_link_transfer": {"target", "type", "datatypes"},
}
_ALIASES = {"datatype": "bypass", "dataspace": "bypass", "bypassing": "bypass", "parallelism": "utilization",
            "no_reduction": "no_multicast", "no_multicast_no_reduction": "no_multicast"}
TYPES = tuple(sorted(set(_KEYS) | set(_ALIASES)))


@dataclass(frozen=True)
class Levels:
    """What the reader needs of the architecture: einloop's nodes, Timeloop's dummy levels, and the
    fanout below each Timeloop spatial target."""

    arch: Architecture
    fanout_of: dict[str, str]
    dummies: frozenset[str]

    def storage_above(self, dummy: str) -> str | None:
        """The einloop storage level a dummy's temporal loops join (the next outer storage level)."""
        names = [n.name for n in self.arch.nodes]
        stop = names.index(self.fanout_of[dummy]) if dummy in self.fanout_of else len(names)
        outer = [n.name for n in self.arch.nodes[:stop] if isinstance(n, Storage)]
        return outer[-1] if outer else None


def _flat(t: dict) -> dict:
    """Timeloop allows a constraint's values under ``attributes:``; read them as if inline."""
    attrs = t.get("attributes")
    return {**{k: v for k, v in t.items() if k != "attributes"}, **attrs} if isinstance(attrs, dict) else t


def targets_of(doc: dict) -> list[tuple[str, str, dict]]:
    """Every constraint target of the merged input, as (section, field path, target); Timeloop's nested
    form (a target with a ``constraints:`` list) gives one entry per listed constraint."""
    out = []
    for key in ("architecture_constraints", "mapspace_constraints"):
        section = doc.get(key)
        fld = key
        if isinstance(section, dict):
            check_keys(section, {"version", "targets", "constraints"}, None, key)
            fld, section = (f"{key}.targets", section["targets"]) if "targets" in section else \
                (f"{key}.constraints", section.get("constraints"))
        if section is None:
            continue
        if not isinstance(section, list):
            raise SpecError(f"expected a list of constraint targets, got {type(section).__name__}", field=fld)
        for i, t in enumerate(section):
            if isinstance(t, dict) and isinstance(t.get("constraints"), list):
                out += [(key, f"{fld}[{i}].constraints[{j}]", {"target": t.get("target"), **c}
                         if isinstance(c, dict) else c) for j, c in enumerate(t["constraints"])]
            else:
                out.append((key, f"{fld}[{i}]", t))
    return out


class _Reader:
    """Accumulates per-level limits while reading targets one by one."""

    def __init__(self, einsum: Einsum, levels: Levels, file: str):
        self.einsum, self.levels, self.file = einsum, levels, file
        self.dims = list(einsum.ranks)
        self.tensors = [t.name for t in einsum.tensors]
        self.out: dict[str, LevelConstraint] = {}
        self.dummy_free: dict[str, tuple[str, str, set[str]]] = {}   # dummy -> (file, field, ranks free there)
        self.nodes = {n.name: n for n in levels.arch.nodes}
        self.notes: list[str] = []

    def error(self, msg: str, fld: str) -> SpecError:
        """A SpecError in the file being read."""
        return SpecError(msg, file=self.file, field=fld)

    def read(self, fld: str, t) -> None:
        """One target: its type checked, its keys checked, then read by the method of that type."""
        if not isinstance(t, dict) or "target" not in t:
            raise self.error("each constraint needs a 'target' (a level name) and a 'type'", fld)
        t = _flat(t)
        kind = str(t.get("type", "temporal"))
        base = _ALIASES.get(kind, kind)
        if base not in _KEYS:
            raise self.error(f"unknown constraint type {kind!r}; allowed: {', '.join(TYPES)}", f"{fld}.type")
        check_keys(t, _KEYS[base], self.file, fld)
        name = str(t["target"])
        known = set(self.nodes) | set(self.levels.fanout_of) | self.levels.dummies
        if name not in known:
            raise self.error(f"unknown target {name!r}{suggest(name, known)}; levels: {', '.join(sorted(known))}",
                             f"{fld}.target")
        getattr(self, "_" + base)(name, t, fld, kind)

    def _merge(self, name: str, fld: str, **kw) -> None:
        """Add limits to a level: factors must agree, keep/bypass lists add up, the rest is set once."""
        cur = self.out.get(name, LevelConstraint())
        for key in ("factors", "max_factors"):
            old, new = getattr(cur, key), kw.get(key, {})
            clash = sorted(r for r in new if r in old and old[r] != new[r])
            if clash:
                raise self.error(f"{key} of {', '.join(clash)} at {name} given twice with different values", fld)
            kw[key] = {**old, **new}
        for key in ("keep", "bypass"):
            kw[key] = getattr(cur, key) | kw.get(key, frozenset())
        for key in ("permutation", "spatial_x", "spatial_y"):
            if kw.get(key) is not None and getattr(cur, key) not in (None, kw[key]):
                raise self.error(f"a second {key.replace('_', ' ')} for {name}", fld)
        self.out[name] = replace(cur, **kw)

    def _factor_maps(self, t: dict, fld: str) -> tuple[dict[str, int], dict[str, int]]:
        fixed, most = {}, {}
        for f in parse_factors(t.get("factors", ""), self.dims, self.file, f"{fld}.factors"):
            bound = self.einsum.ranks[f.rank]
            if f.op == ">=":
                raise self.error(f"einloop cannot honour a minimum factor ({f.rank}>={f.value}); "
                                 "allowed: DIM=N and DIM<=N", f"{fld}.factors")
            if f.value < 0 or (f.op == "<=" and f.value == 0):
                raise self.error(f"factor {f.rank}{f.op}{f.value} must be positive", f"{fld}.factors")
            if f.op == "<=":
                most[f.rank] = f.value
                continue
            value = bound if f.value == 0 else f.value   # Timeloop: 0 means the whole bound
            if value > bound:   # Timeloop clamps it with a warning; so does einloop, and says so
                self.notes.append(f"{self.file}: {fld}.factors: {f.rank}={value} exceeds the bound {bound}; "
                                  f"read as {f.rank}={bound}, as Timeloop does")
                value = bound
            fixed[f.rank] = value
        return fixed, most

    def _temporal(self, name: str, t: dict, fld: str, kind: str) -> None:
        fixed, most = self._factor_maps(t, fld)
        perm = parse_permutation(t["permutation"], self.dims, self.file, f"{fld}.permutation") \
            if "permutation" in t else None
        if name in self.levels.dummies:
            big = sorted(r for r, v in fixed.items() if v > 1)
            if big:
                raise self.error(f"temporal factor(s) {', '.join(f'{r}={fixed[r]}' for r in big)} at dummy level "
                                 f"{name}: einloop folds a dummy's loops into the storage level above it "
                                 f"({self.levels.storage_above(name)}); constrain that level instead", fld)
            free = set(self.dims) - {r for r, v in fixed.items() if v == 1}
            prev = self.dummy_free.get(name, (self.file, fld, set(self.dims)))[2]
            self.dummy_free[name] = (self.file, fld, free & prev)
            return
        if not isinstance(self.nodes[name], Storage):
            raise self.error(f"{name} is a fanout; temporal constraints target a storage level", fld)
        self._merge(name, fld, factors=fixed, max_factors=most,
                    **({} if perm is None else {"permutation": tuple(reversed(perm))}))

    def _spatial(self, name: str, t: dict, fld: str, kind: str) -> None:
        fixed, most = self._factor_maps(t, fld)
        fan = self.levels.fanout_of.get(name)
        if fan is None:
            big = sorted(r for r, v in fixed.items() if v > 1)
            if big:
                raise self.error(f"spatial factor(s) {', '.join(big)} > 1 at {name}, but no fanout is below it", fld)
            return   # no fanout below: every spatial factor is 1 anyway
        kw: dict = {"factors": fixed, "max_factors": most}
        if "permutation" in t:
            perm = parse_permutation(t["permutation"], self.dims, self.file, f"{fld}.permutation")
            split = t.get("split", len(self.dims))
            if isinstance(split, bool) or not isinstance(split, int) or split < 0:
                raise self.error(f"split must be a whole number >= 0, got {split!r}", f"{fld}.split")
            rest = [r for r in self.dims if r not in perm]
            x = perm[:split] + (rest if split > len(perm) else [])
            y = perm[split:] + rest
            kw.update(spatial_x=frozenset(x), spatial_y=frozenset(y))
        elif "split" in t:
            raise self.error("split needs a permutation (it counts the permutation's dimensions)", f"{fld}.split")
        self._merge(fan, fld, **kw)

    def _bypass(self, name: str, t: dict, fld: str, kind: str) -> None:
        lists = {}
        for key in ("keep", "bypass"):
            value = t.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.error(f"expected a list of data space names, got {value!r}"[:120], f"{fld}.{key}")
            bad = [v for v in value if v not in self.tensors]
            if bad:
                raise self.error(f"unknown data space(s) {', '.join(bad)}; data spaces: {', '.join(self.tensors)}",
                                 f"{fld}.{key}")
            lists[key] = frozenset(value)
        if name in self.levels.dummies:
            if lists["keep"]:
                raise self.error(f"{name} is a dummy level (it holds no data), so it cannot keep "
                                 f"{', '.join(sorted(lists['keep']))}", f"{fld}.keep")
            return   # a dummy holds nothing: bypassing there is what einloop does anyway
        if not isinstance(self.nodes.get(name), Storage):
            raise self.error(f"{name} is not a storage level; keep/bypass target a storage level", fld)
        self._merge(name, fld, keep=lists["keep"], bypass=lists["bypass"])

    def _utilization(self, name: str, t: dict, fld: str, kind: str) -> None:
        value = t.get("min")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise self.error(f"min must be a fraction from 0 to 1, got {value!r}", f"{fld}.min")
        fanouts = [n for n in self.levels.arch.nodes if isinstance(n, Fanout)]
        if len(fanouts) > 1 and value > 0:
            raise self.error(f"{kind} min {value} is the utilization of all {len(fanouts)} fanouts together; "
                             "einloop honours it only with one fanout (give min_utilization per fanout in an "
                             "einloop constraints file)", fld)
        if fanouts:
            self._merge(fanouts[0].name, fld, min_utilization=float(value))

    def _max_overbooked_proportion(self, name: str, t: dict, fld: str, kind: str) -> None:
        if t.get("proportion", 0) != 0:
            raise self.error("einloop does not overbook buffers; only proportion 0 is accepted", f"{fld}.proportion")

    def _no_multicast(self, name: str, t: dict, fld: str, kind: str) -> None:
        raise self.error(f"einloop cannot honour {kind!r} (its model always multicasts and reduces spatially "
                         "where the mapping allows)", f"{fld}.type")

    def _no_link_transfer(self, name: str, t: dict, fld: str, kind: str) -> None:
        """einloop never forwards data between neighbouring instances: the constraint holds already."""
        bad = [v for v in t.get("datatypes") or [] if v not in self.tensors]
        if bad:
            raise self.error(f"unknown data space(s) {', '.join(map(str, bad))}; data spaces: "
                             f"{', '.join(self.tensors)}", f"{fld}.datatypes")

    def finish(self) -> Constraints:
        """Check that dummy levels' free loops do not widen a constrained level, and return the limits."""
        for dummy, (file, fld, free) in self.dummy_free.items():
            self.file = file
            parent = self.levels.storage_above(dummy)
            c = self.out.get(parent or "", LevelConstraint())
            widened = sorted(r for r in free if r in c.factors or r in c.max_factors)
            if free and (widened or c.permutation):
                raise self.error(
                    f"dummy level {dummy} leaves {', '.join(sorted(free))} free while {parent} constrains "
                    f"{'their factors' if widened else 'its permutation'}; einloop folds {dummy}'s loops into "
                    f"{parent}, so fix them to 1 at {dummy} (e.g. factors: {'='.join([sorted(free)[0], '1'])})",
                    fld)
        return Constraints(self.out, notes=tuple(self.notes))


def read_timeloop_constraints(doc: dict, einsum: Einsum, levels: Levels, origin: dict[str, str]) -> Constraints:
    """Every ``architecture_constraints`` / ``mapspace_constraints`` target, read with Timeloop's meaning."""
    reader = _Reader(einsum, levels, "")
    for section, fld, t in targets_of(doc):
        reader.file = origin.get(section, "")
        reader.read(fld, t)
    return reader.finish()
