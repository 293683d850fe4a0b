"""What the user allows the mapper to do: per-level factor, order, keep/bypass and spatial limits,
and named dataflows that expand into such limits.

Named dataflows refer to tensors by role: the output, the first input ("input"), the last input
("weight"). A dataflow only restricts; the mapper still finds the best mapping inside it.

* ``weight-stationary`` / ``output-stationary`` / ``input-stationary``: the PE array's spatial loops
  run over ranks of the stationary tensor, the stationary tensor is kept inside the PE (below the
  innermost fanout), and the PE-local loops run only over ranks that do not index it (so a PE holds
  its element while the others stream past);
* ``row-stationary`` (Eyeriss, convolutions): filter rows and input channels down the array (Y),
  output rows and output channels across it (X); inside a PE only the filter-column, output-column
  and channel loops run, so a filter row stays in the PE while an input row slides past;
* ``unconstrained``: nothing beyond capacity and mesh sizes.

Per Einsum: an ``einsums:`` list of ``{match: NAME-OR-PATTERN, levels: [...]}`` adds limits for the
Einsums whose name matches (a glob: ``mm*``, ``conv?``), on top of the file's ``levels:``; so two chained
matmuls are constrained apart without renaming ranks. A factor limit may be an expression of the
Einsum's bounds, ``max_factors: {k: "min(32, k)"}`` (grammar: einloop.mapper.constraints_expr).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field

from einloop.errors import SpecError
from einloop.mapper.constraints_expr import Limit, parse_limit
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.native import _Spec, _validated
from einloop.spec.workload import Einsum

DATAFLOWS = ("unconstrained", "weight-stationary", "output-stationary", "input-stationary", "row-stationary")


@dataclass(frozen=True)
class LevelConstraint:
    """Limits for one node; ranks not mentioned are free."""

    keep: frozenset[str] = frozenset()          # must keep
    bypass: frozenset[str] = frozenset()        # must bypass
    factors: dict[str, int | Limit] = field(default_factory=dict)   # fixed factor (spatial: product over X and
    # Y); a Limit (an expression of the Einsum's bounds) until resolve_roles makes it a number
    max_factors: dict[str, int | Limit] = field(default_factory=dict)
    ranks: frozenset[str] | None = None         # only these ranks may loop here (temporal)
    permutation: tuple[str, ...] | None = None  # these ranks loop innermost, in this order (outer to inner)
    spatial_x: frozenset[str] | None = None     # ranks allowed on X / Y at a fanout
    spatial_y: frozenset[str] | None = None
    min_utilization: float = 0.0                # fanout: minimum fraction of the mesh used


@dataclass(frozen=True)
class Constraints:
    levels: dict[str, LevelConstraint] = field(default_factory=dict)
    dataflow: str = "unconstrained"
    imperfect: dict[str, float] = field(default_factory=dict)   # rank ("*": every rank) -> padding allowed,
    # as a fraction of its bound: its factors may multiply to up to that much more (mapper/imperfect.py)
    notes: tuple[str, ...] = ()   # what reading changed (e.g. a Timeloop factor clamped to its bound)
    sharing: dict[str, tuple[frozenset, frozenset]] = field(default_factory=dict)   # Timeloop's no_multicast*:
    # fanout -> (tensors it multicasts, tensors it reduces); spec.timeloop_constraints.with_sharing applies it
    per_einsum: tuple["EinsumConstraints", ...] = ()   # limits for the Einsums a pattern matches

    def at(self, name: str) -> LevelConstraint:
        return self.levels.get(name, LevelConstraint())


@dataclass(frozen=True)
class EinsumConstraints:
    """Per-level limits for the Einsums whose name matches ``match`` (a name or a glob pattern)."""

    match: str
    levels: dict[str, LevelConstraint]


class _LevelSpec(_Spec):
    target: str
    keep: list[str] = []
    bypass: list[str] = []
    factors: dict[str, int | str] = {}
    max_factors: dict[str, int | str] = {}
    ranks: list[str] | None = None
    permutation: list[str] | None = None
    spatial: dict[str, list[str]] | None = None
    min_utilization: float = Field(0.0, ge=0, le=1)


class _EinsumSpec(_Spec):
    match: str = Field(min_length=1, description="an Einsum name or a glob pattern (mm*, conv?)")
    levels: list[_LevelSpec] = []


class _ConstraintsSpec(_Spec):
    dataflow: str = "unconstrained"
    levels: list[_LevelSpec] = []
    einsums: list[_EinsumSpec] = []
    imperfect: dict[str, float] | float | None = None


def _limits(values: dict[str, int | str], file: str, fld: str) -> dict[str, int | Limit]:
    """Factor limits as given: whole numbers stay numbers, text is parsed as a Limit expression."""
    out: dict[str, int | Limit] = {}
    for rank, v in values.items():
        if isinstance(v, str):
            out[rank] = parse_limit(v, file, f"{fld}.{rank}")
        elif v < 1:
            raise SpecError(f"a factor limit must be at least 1, got {v}", file=file, field=f"{fld}.{rank}")
        else:
            out[rank] = v
    return out


def _levels(specs: list[_LevelSpec], file: str, prefix: str) -> dict[str, LevelConstraint]:
    levels = {}
    for i, lv in enumerate(specs):
        fld = f"{prefix}.levels[{i}]"
        sp = lv.spatial or {}
        bad = sorted(set(sp) - {"X", "Y"})
        if bad:
            raise SpecError(f"spatial axes are X and Y, got {', '.join(bad)}", file=file, field=f"{fld}.spatial")
        levels[lv.target] = LevelConstraint(
            frozenset(lv.keep), frozenset(lv.bypass), _limits(lv.factors, file, f"{fld}.factors"),
            _limits(lv.max_factors, file, f"{fld}.max_factors"),
            None if lv.ranks is None else frozenset(lv.ranks), None if lv.permutation is None else tuple(lv.permutation),
            None if "X" not in sp else frozenset(sp["X"]), None if "Y" not in sp else frozenset(sp["Y"]),
            lv.min_utilization)
    return levels


def read_constraints(data: Any, file: str = "") -> Constraints:
    spec = _validated(_ConstraintsSpec, data or {}, file, "constraints")
    if spec.dataflow not in DATAFLOWS:
        raise SpecError(f"unknown dataflow {spec.dataflow!r}; allowed: {', '.join(DATAFLOWS)}", file=file,
                        field="constraints.dataflow")
    levels = _levels(spec.levels, file, "constraints")
    per_einsum = tuple(EinsumConstraints(e.match, _levels(e.levels, file, f"constraints.einsums[{i}]"))
                       for i, e in enumerate(spec.einsums))
    imperfect = spec.imperfect if isinstance(spec.imperfect, dict) else \
        {} if spec.imperfect is None else {"*": spec.imperfect}
    for rank, fraction in imperfect.items():
        if not 0 <= fraction <= 1:
            raise SpecError(f"imperfect factorization pads a rank by a fraction of its bound from 0 to 1, got "
                            f"{fraction}", file=file, field=f"constraints.imperfect{'' if rank == '*' else '.' + rank}")
    return Constraints(levels, spec.dataflow, imperfect, per_einsum=per_einsum)


ROLES = ("input", "weight", "output")


def resolve_roles(constraints: Constraints, einsum: Einsum) -> Constraints:
    """The constraints for one Einsum: the ``einsums:`` sections whose pattern matches its name added
    to the file's levels (in file order, later limits on the same rank winning), limit expressions
    evaluated on its bounds, and tensor roles in keep/bypass lists (input = first input, weight = last
    input, output) made names, so one constraints file serves every layer of a network."""
    names = {"input": einsum.inputs[0].name, "weight": einsum.inputs[-1].name, "output": einsum.output.name}
    levels = dict(constraints.levels)
    for section in constraints.per_einsum:
        if fnmatchcase(einsum.name, section.match):
            for name, c in section.levels.items():
                levels[name] = _overlay(levels[name], c) if name in levels else c

    def named(ts):
        return frozenset(names.get(t, t) for t in ts)

    def numbers(limits):
        return {r: v.value(einsum.ranks) if isinstance(v, Limit) else v for r, v in limits.items()}
    return replace(constraints, per_einsum=(), levels={
        k: replace(c, keep=named(c.keep), bypass=named(c.bypass), factors=numbers(c.factors),
                   max_factors=numbers(c.max_factors)) for k, c in levels.items()})


def matched_sections(constraints: Constraints, einsum: Einsum) -> tuple[int, ...]:
    """Indices of the ``einsums:`` sections whose pattern matches this Einsum's name."""
    return tuple(i for i, sec in enumerate(constraints.per_einsum) if fnmatchcase(einsum.name, sec.match))


def _overlay(base: LevelConstraint, top: LevelConstraint) -> LevelConstraint:
    """A level's file-wide limits with an Einsum section's on top: keep/bypass lists add up, factor
    limits of the same rank and every other limit the section gives replace the file-wide ones."""
    default = LevelConstraint()
    given = {k: getattr(top, k) for k in ("ranks", "permutation", "spatial_x", "spatial_y", "min_utilization")
             if getattr(top, k) != getattr(default, k)}
    return replace(base, keep=base.keep | top.keep, bypass=base.bypass | top.bypass,
                   factors={**base.factors, **top.factors}, max_factors={**base.max_factors, **top.max_factors},
                   **given)


def check(constraints: Constraints, einsum: Einsum, arch: Architecture, file: str = "") -> None:
    """Names in the constraints must exist in the architecture and the Einsum."""
    nodes = {n.name: n for n in arch.nodes}
    tensors = {t.name for t in einsum.tensors}
    bad = sorted(set(constraints.imperfect) - set(einsum.ranks) - {"*"})
    if bad:
        raise SpecError(f"unknown rank(s) {', '.join(bad)}; ranks: {', '.join(einsum.ranks)}", file=file,
                        field="constraints.imperfect")
    for name, c in constraints.levels.items():
        fld = f"constraints.{name}"
        if name not in nodes:
            raise SpecError(f"unknown level {name!r}; levels: {', '.join(nodes)}", file=file, field=fld)
        for key, ranks in (("factors", c.factors), ("max_factors", c.max_factors), ("ranks", c.ranks or ()),
                           ("permutation", c.permutation or ()), ("spatial.X", c.spatial_x or ()),
                           ("spatial.Y", c.spatial_y or ())):
            bad = sorted(set(ranks) - set(einsum.ranks))
            if bad:
                raise SpecError(f"unknown rank(s) {', '.join(bad)}; ranks: {', '.join(einsum.ranks)}", file=file,
                                field=f"{fld}.{key}")
        bad = sorted((c.keep | c.bypass) - tensors)
        if bad:
            raise SpecError(f"unknown tensor(s) {', '.join(bad)}; tensors: {', '.join(sorted(tensors))} "
                            f"or roles {', '.join(ROLES)}", file=file, field=fld)
        if c.keep & c.bypass:
            raise SpecError(f"tensor(s) {', '.join(sorted(c.keep & c.bypass))} both kept and bypassed", file=file,
                            field=fld)
        node = nodes[name]
        if isinstance(node, Fanout) and (c.keep or c.bypass or c.permutation or c.ranks):
            raise SpecError("a fanout takes only factors, max_factors, spatial and min_utilization", file=file,
                            field=fld)
        if isinstance(node, Storage) and (c.spatial_x is not None or c.spatial_y is not None or c.min_utilization):
            raise SpecError("spatial limits belong to a fanout node", file=file, field=fld)


def _merge(a: LevelConstraint, b: LevelConstraint) -> LevelConstraint:
    """User limits (a) refined by a dataflow's (b): intersections, unions of required keeps."""
    def inter(x, y):
        return y if x is None else x if y is None else x & y
    return replace(a, keep=a.keep | b.keep, bypass=a.bypass | b.bypass, ranks=inter(a.ranks, b.ranks),
                   spatial_x=inter(a.spatial_x, b.spatial_x), spatial_y=inter(a.spatial_y, b.spatial_y),
                   factors={**b.factors, **a.factors}, max_factors={**b.max_factors, **a.max_factors})


def expand_dataflow(constraints: Constraints, einsum: Einsum, arch: Architecture) -> Constraints:
    """Add the limits of the named dataflow to the user's per-level limits."""
    name = constraints.dataflow
    if name == "unconstrained":
        return constraints
    fanouts = [i for i, n in enumerate(arch.nodes) if isinstance(n, Fanout)]
    if not fanouts:
        raise SpecError(f"dataflow {name} needs a PE array (a fanout) in the architecture", field="constraints.dataflow")
    inner = fanouts[-1]
    pe_levels = [n.name for n in arch.nodes[inner + 1:] if isinstance(n, Storage)]
    added: dict[str, LevelConstraint] = {}
    if name == "row-stationary":
        roles = conv_roles(einsum)
        row_out, row_filter, col_out, col_filter = roles["p"], roles["r"], roles["q"], roles["s"]
        out_ch = [r for r in einsum.ranks if r in einsum.output.ranks and r not in einsum.inputs[0].ranks]
        in_ch = [r for r in einsum.ranks if r in einsum.inputs[0].ranks and r in einsum.inputs[-1].ranks
                 and r not in einsum.output.ranks and r not in (row_filter, col_filter)]
        added[arch.nodes[inner].name] = LevelConstraint(spatial_x=frozenset([row_out, *out_ch]),
                                                        spatial_y=frozenset([row_filter, *in_ch, *out_ch]))
        for lv in pe_levels:
            added[lv] = LevelConstraint(ranks=frozenset([col_filter, col_out, *in_ch, *out_ch]))
    else:
        tensor = {"weight-stationary": einsum.inputs[-1], "input-stationary": einsum.inputs[0],
                  "output-stationary": einsum.output}[name]
        own = frozenset(tensor.ranks)
        added[arch.nodes[inner].name] = LevelConstraint(spatial_x=own, spatial_y=own)
        if not pe_levels:
            raise SpecError(f"dataflow {name} needs a storage level inside the PE (below the innermost fanout)",
                            field="constraints.dataflow")
        added[pe_levels[-1]] = LevelConstraint(keep=frozenset([tensor.name]))
        for lv in pe_levels:
            prev = added.get(lv, LevelConstraint())
            added[lv] = replace(prev, ranks=frozenset(einsum.ranks) - own)
    levels = dict(constraints.levels)
    for lv, c in added.items():
        levels[lv] = _merge(levels.get(lv, LevelConstraint()), c)
    return replace(constraints, levels=levels)


def conv_roles(einsum: Einsum) -> dict[str, str]:
    """For a convolution: output row/column ranks p, q and filter row/column ranks r, s, from the
    input's sliding indices (``p+r``, ``q+s``), in order."""
    pairs = []
    weight_ranks = set(einsum.inputs[-1].ranks)
    output_ranks = set(einsum.output.ranks)

    def sliding(out: str, filt: str) -> bool:   # not a grouped channel index such as g*48+c
        return out in output_ranks - weight_ranks and filt in weight_ranks - output_ranks

    for t in einsum.inputs:
        for idx in t.indices:
            if len(idx.terms) == 2:
                a, b = idx.ranks
                pair = (a, b) if sliding(a, b) else (b, a)
                if sliding(*pair):
                    pairs.append(pair)
    if len(pairs) < 2:
        raise SpecError("row-stationary needs a 2-D convolution (two sliding indices such as p+r and q+s)",
                        field="constraints.dataflow")
    (p, r), (q, s) = pairs[:2]
    return {"p": p, "r": r, "q": q, "s": s}
