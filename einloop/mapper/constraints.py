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
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import Field

from einloop.errors import SpecError
from einloop.spec.arch import Architecture, Fanout, Storage
from einloop.spec.native import _Spec, _validated
from einloop.spec.workload import Einsum

DATAFLOWS = ("unconstrained", "weight-stationary", "output-stationary", "input-stationary", "row-stationary")


@dataclass(frozen=True)
class LevelConstraint:
    """Limits for one node; ranks not mentioned are free."""

    keep: frozenset[str] = frozenset()          # must keep
    bypass: frozenset[str] = frozenset()        # must bypass
    factors: dict[str, int] = field(default_factory=dict)       # fixed factor (spatial: product over X and Y)
    max_factors: dict[str, int] = field(default_factory=dict)
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

    def at(self, name: str) -> LevelConstraint:
        return self.levels.get(name, LevelConstraint())


class _LevelSpec(_Spec):
    target: str
    keep: list[str] = []
    bypass: list[str] = []
    factors: dict[str, int] = {}
    max_factors: dict[str, int] = {}
    ranks: list[str] | None = None
    permutation: list[str] | None = None
    spatial: dict[str, list[str]] | None = None
    min_utilization: float = Field(0.0, ge=0, le=1)


class _ConstraintsSpec(_Spec):
    dataflow: str = "unconstrained"
    levels: list[_LevelSpec] = []
    imperfect: dict[str, float] | float | None = None


def read_constraints(data: Any, file: str = "") -> Constraints:
    spec = _validated(_ConstraintsSpec, data or {}, file, "constraints")
    if spec.dataflow not in DATAFLOWS:
        raise SpecError(f"unknown dataflow {spec.dataflow!r}; allowed: {', '.join(DATAFLOWS)}", file=file,
                        field="constraints.dataflow")
    levels = {}
    for i, lv in enumerate(spec.levels):
        sp = lv.spatial or {}
        bad = sorted(set(sp) - {"X", "Y"})
        if bad:
            raise SpecError(f"spatial axes are X and Y, got {', '.join(bad)}", file=file,
                            field=f"constraints.levels[{i}].spatial")
        levels[lv.target] = LevelConstraint(
            frozenset(lv.keep), frozenset(lv.bypass), dict(lv.factors), dict(lv.max_factors),
            None if lv.ranks is None else frozenset(lv.ranks), None if lv.permutation is None else tuple(lv.permutation),
            None if "X" not in sp else frozenset(sp["X"]), None if "Y" not in sp else frozenset(sp["Y"]),
            lv.min_utilization)
    imperfect = spec.imperfect if isinstance(spec.imperfect, dict) else \
        {} if spec.imperfect is None else {"*": spec.imperfect}
    for rank, fraction in imperfect.items():
        if not 0 <= fraction <= 1:
            raise SpecError(f"imperfect factorization pads a rank by a fraction of its bound from 0 to 1, got "
                            f"{fraction}", file=file, field=f"constraints.imperfect{'' if rank == '*' else '.' + rank}")
    return Constraints(levels, spec.dataflow, imperfect)


ROLES = ("input", "weight", "output")


def resolve_roles(constraints: Constraints, einsum: Einsum) -> Constraints:
    """Tensor roles in keep/bypass lists (input = first input, weight = last input, output) become names,
    so one constraints file serves every layer of a network."""
    names = {"input": einsum.inputs[0].name, "weight": einsum.inputs[-1].name, "output": einsum.output.name}

    def named(ts):
        return frozenset(names.get(t, t) for t in ts)
    return replace(constraints, levels={k: replace(c, keep=named(c.keep), bypass=named(c.bypass))
                                        for k, c in constraints.levels.items()})


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
    for t in einsum.inputs:
        for idx in t.indices:
            if len(idx.terms) == 2:
                a, b = idx.ranks
                out, filt = (a, b) if b in weight_ranks else (b, a)
                pairs.append((out, filt))
    if len(pairs) < 2:
        raise SpecError("row-stationary needs a 2-D convolution (two sliding indices such as p+r and q+s)",
                        field="constraints.dataflow")
    (p, r), (q, s) = pairs[:2]
    return {"p": p, "r": r, "q": q, "s": s}
