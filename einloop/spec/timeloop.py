"""Read Timeloop v4 (timeloopfe v0.4) YAML unchanged: problem, architecture, mapping, Accelergy ERT/ART.

Both architecture forms are read: the nested ``nodes:`` list (``!Container`` with ``spatial: {meshX, meshY}``,
``!Component``, ``!Parallel``) and the flattened ``subtree``/``local`` list with ``name[1..N]`` components
that ``parsed-processed-input.yaml`` holds. Timeloop counts in words, so every tensor gets the word width
of the outermost level as its bits and every level the same datawidth: one value = one word.

Conversions (documented decisions):
* A jump in instance count between two components is an einloop ``Fanout``. Its loops are the spatial
  directive of the outer component; timeloopfe's ``dummy_storage`` levels become that fanout (they keep
  nothing and cost nothing). A dummy's temporal loops, if any, join the next outer storage level as its
  innermost loops: they sit between the same two tiles, so every count is unchanged.
* ``permutation`` is inner to outer (first letter = innermost); spatial ``split: s`` sends the first
  ``s`` dimensions of the permutation to X and the rest to Y (default: all to X, or all to Y when the
  mesh is one column wide).
* The compute unit's ERT ``leak`` is ignored, as Timeloop v4 does (its arithmetic model has no leakage).
* ERT: an action's energy is the maximum over its argument variants (as Timeloop); ``fill`` falls back to
  ``write``, ``update`` to ``write``; the compute energy is ``mac_random|mult_random|mac|mult|compute``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from einloop.errors import SpecError
from einloop.spec.semantics import TIMELOOP
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Fanout, Storage
from einloop.spec.einsum import AffineIndex
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.timeloop_factors import parse_permutation
from einloop.spec.workload import Einsum, Tensor
from einloop.spec.yamlio import number

_COMPUTE_ACTIONS = ("mac_random", "mult_random", "mac", "mult", "compute")


def is_timeloop(doc: dict) -> bool:
    """Timeloop input has ``problem``, an ERT, or architecture ``subtree``/``version``/tagged nodes."""
    if "workload" in doc:
        return False
    if "problem" in doc or "ERT" in doc:
        return True
    arch = doc.get("architecture")
    if not isinstance(arch, dict):
        return False
    nodes = arch.get("nodes")
    return "subtree" in arch or "version" in arch or (isinstance(nodes, list) and any(
        isinstance(n, dict) and ("_tag" in n or "name" in n) for n in nodes))


# ---- problem ----------------------------------------------------------------------------------
def _term_value(name: str, dims: list[str], consts: dict, file: str, fld: str) -> tuple[str | None, int]:
    if name in dims:
        return name, 1
    if name in consts:
        return None, int(number(consts[name], field=f"{fld}.{name}", file=file, integer=True))
    if re.fullmatch(r"-?\d+", name):
        return None, int(name)
    raise SpecError(f"{name!r} is neither a dimension ({', '.join(dims)}) nor a coefficient", file=file, field=fld)


def _projection_dim(dim, dims, consts, file, fld) -> AffineIndex:
    """One tensor coordinate: a list of terms ``[dim]`` / ``[dim, coef]`` or a string ``R*Wdilation+P``."""
    terms = dim if isinstance(dim, list) else [t.split("*") for t in str(dim).replace(" ", "").split("+")]
    coefs: dict[str, int] = {}
    for term in terms:
        term = term if isinstance(term, list) else [term]
        rank, coef = None, 1
        for factor in term:
            r, v = _term_value(str(factor), dims, consts, file, fld)
            if r is not None:
                if rank is not None:
                    raise SpecError(f"a term multiplies two dimensions ({rank}*{r})", file=file, field=fld)
                rank = r
            else:
                coef *= v
        if rank is None:
            raise SpecError(f"a projection term has no dimension: {term!r}", file=file, field=fld)
        coefs[rank] = coefs.get(rank, 0) + coef
    return AffineIndex(tuple(sorted((r, c) for r, c in coefs.items() if c)))


def read_problem(prob: dict, file: str, bits: int) -> Einsum:
    if not isinstance(prob, dict) or "shape" not in prob or "instance" not in prob:
        raise SpecError("a Timeloop problem needs 'shape' and 'instance'", file=file, field="problem")
    shape, inst = prob["shape"], prob["instance"]
    dims = [str(d) for d in shape.get("dimensions", [])]
    consts = {c["name"]: c.get("default", 1) for c in shape.get("coefficients", []) or []}
    consts.update({k: v for k, v in inst.items() if k not in dims and k != "densities"})
    ranks = {}
    for d in dims:
        ranks[d] = int(number(inst.get(d, 1), field=f"problem.instance.{d}", file=file, integer=True, minimum=1))
    tensors = []
    for i, ds in enumerate(shape.get("data_spaces", [])):
        fld = f"problem.shape.data_spaces[{i}]"
        if "name" not in ds or "projection" not in ds:
            raise SpecError("a data space needs 'name' and 'projection'", file=file, field=fld)
        idx = tuple(_projection_dim(d, dims, consts, file, f"{fld}.projection") for d in ds["projection"])
        tensors.append(Tensor(str(ds["name"]), idx, bits, bool(ds.get("read_write", False))))
    try:
        return Einsum(str(shape.get("name", "problem")), ranks, tuple(tensors))
    except SpecError as err:
        raise err.within(file=file, field="problem") from None


# ---- architecture -----------------------------------------------------------------------------
@dataclass
class _Component:
    name: str
    cls: str
    attrs: dict
    mesh_x: int
    mesh_y: int

    @property
    def instances(self) -> int:
        return self.mesh_x * self.mesh_y


_INSTANCES = re.compile(r"^(.*)\[1\.\.(\d+)\]$")


def _flattened(tree: list, inherited: dict, file: str) -> list[_Component]:
    out = []
    for sub in tree or []:
        attrs = {**inherited, **(sub.get("attributes") or {})}
        for comp in sub.get("local", []) or []:
            a = {**attrs, **(comp.get("attributes") or {})}
            m = _INSTANCES.match(str(comp["name"]))
            name, count = (m.group(1), int(m.group(2))) if m else (str(comp["name"]), 1)
            mx = int(number(a.get("meshX", count), field=f"{name}.meshX", file=file, integer=True, minimum=1))
            my = int(number(a.get("meshY", max(count // mx, 1)), field=f"{name}.meshY", file=file, integer=True,
                            minimum=1))
            out.append(_Component(name, str(comp.get("class", "")), a, mx, my))
        out += _flattened(sub.get("subtree", []), attrs, file)
    return out


def _mesh(node: dict, mesh: tuple[int, int], file: str) -> tuple[int, int]:
    """The mesh below a nested node: its ``spatial: {meshX, meshY}`` times the mesh above it."""
    sp = node.get("spatial") or {}
    name = node.get("name", "?")
    return (mesh[0] * int(number(sp.get("meshX", 1), field=f"{name}.spatial.meshX", file=file, integer=True, minimum=1)),
            mesh[1] * int(number(sp.get("meshY", 1), field=f"{name}.spatial.meshY", file=file, integer=True, minimum=1)))


def _nested(nodes: list, inherited: dict, mesh: tuple[int, int], file: str) -> list[_Component]:
    out = []
    attrs = dict(inherited)
    for node in nodes or []:
        tag = node.get("_tag", "Component" if "class" in node else "Container")
        if tag == "Parallel":
            out += _nested(node.get("nodes", []), attrs, mesh, file)
        elif tag in ("Container", "Hierarchical"):
            attrs = {**attrs, **(node.get("attributes") or {})}
            mesh = _mesh(node, mesh, file)
            if "nodes" in node:
                out += _nested(node["nodes"], attrs, mesh, file)
        else:
            out.append(_Component(str(node["name"]), str(node.get("class", "")),
                                  {**attrs, **(node.get("attributes") or {})}, *_mesh(node, mesh, file)))
    return out


def _component_name(full) -> str:
    """``System_top_level.MainMemory[1..1]`` -> ``MainMemory``."""
    return _INSTANCES.sub(r"\1", str(full)).split(".")[-1]


def _ert_energies(doc: dict) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for table in (doc.get("ERT") or {}).get("tables", []) or []:
        name = _component_name(table["name"])
        acts = out.setdefault(name, {})
        for act in table.get("actions", []) or []:
            acts[act["name"]] = max(acts.get(act["name"], -math.inf), float(act.get("energy", 0.0)))
    return out


def _art_areas(doc: dict) -> dict[str, float]:
    out = {}
    for table in (doc.get("ART") or {}).get("tables", []) or []:
        out[_component_name(table["name"])] = float(table.get("area", 0.0))
    return out


def _first(actions: dict[str, float], names: tuple[str, ...]) -> float:
    for n in names:
        if n in actions:
            return actions[n]
    return 0.0


def _is_dummy(c: _Component) -> bool:
    return "dummy" in c.cls


def read_architecture(doc: dict, file: str) -> tuple[Architecture, dict[str, str], int]:
    """The architecture, a map {timeloop spatial target -> fanout name}, and the word width in bits."""
    arch = doc.get("architecture")
    if not isinstance(arch, dict):
        raise SpecError("missing 'architecture'", file=file, field="architecture")
    comps = _flattened(arch["subtree"], {}, file) if "subtree" in arch else _nested(arch.get("nodes", []), {}, (1, 1), file)
    if len(comps) < 2:
        raise SpecError("an architecture needs at least one storage level and a compute unit", file=file,
                        field="architecture")
    ert, art = _ert_energies(doc), _art_areas(doc)
    cycle = float(number(comps[0].attrs.get("global_cycle_seconds", 1e-9), field="global_cycle_seconds", file=file))
    storages = [c for c in comps[:-1] if not _is_dummy(c)]
    word = int(number(storages[0].attrs.get("datawidth", 8), field=f"{storages[0].name}.datawidth", file=file,
                      integer=True, minimum=1)) if storages else 8
    nodes: list = []
    notes: list[str] = []
    spatial_target: dict[str, str] = {}
    for k, c in enumerate(comps):
        if k > 0:
            prev = comps[k - 1]
            if c.instances != prev.instances:
                fx, fy = c.mesh_x // prev.mesh_x, c.mesh_y // prev.mesh_y
                if fx * prev.mesh_x != c.mesh_x or fy * prev.mesh_y != c.mesh_y:
                    raise SpecError(f"mesh of {c.name} ({c.mesh_x}x{c.mesh_y}) is not a multiple of {prev.name}'s "
                                    f"({prev.mesh_x}x{prev.mesh_y})", file=file, field="architecture")
                fan = prev.name if _is_dummy(prev) else f"{prev.name}_fanout"
                nodes.append(Fanout(fan, fx, fy))
                spatial_target[prev.name] = fan
        if k == len(comps) - 1:
            nodes.append(_compute(c, ert.get(c.name, {}), art.get(c.name, 0.0), word, file, notes))
        elif not _is_dummy(c):
            nodes.append(_storage(c, ert.get(c.name, {}), art.get(c.name, 0.0), word, file, notes))
    return (Architecture(str(comps[0].attrs.get("name", "timeloop")), tuple(nodes), cycle, TIMELOOP,
                         tuple(notes)), spatial_target, word)


def _compute(c: _Component, acts: dict[str, float], area: float, word: int, file: str,
             notes: list[str]) -> Compute:
    """The arithmetic level: its ERT compute energy, else the component library's estimate.
    Timeloop v4 charges no leakage to the arithmetic level; neither do we for its inputs."""
    if any(a in acts for a in _COMPUTE_ACTIONS):
        return Compute(c.name, _first(acts, _COMPUTE_ACTIONS), 0.0, area, c.cls, "ERT")
    attrs = {k: c.attrs[k] for k in ("width", "datawidth", "format") if k in c.attrs}
    est = library_estimate(c, attrs or {"datawidth": word}, file, notes)
    return Compute(c.name, est.compute, 0.0, area or est.area, c.cls, est.source)


# Timeloop / Accelergy class names -> einloop component library classes
_LIBRARY_CLASS = {"dram": "DRAM", "sram": "SRAM", "smartbuffer_sram": "SRAM", "regfile": "regfile",
                  "smartbuffer_rf": "regfile", "smartbuffer_regfile": "regfile", "reg": "register",
                  "register": "register", "intmac": "intmac", "fpmac": "fpmac", "mac": "intmac",
                  "adder": "adder", "multiplier": "multiplier"}


def library_estimate(c: _Component, attrs: dict, file: str, notes: list[str]):
    """A component the ERT gives no energy: einloop's component library estimate, said in ``notes``;
    a class the library has no model for is an error naming the component."""
    from einloop.components import classes, estimate

    sub = str(c.attrs.get("subclass", "") or "")
    cls = _LIBRARY_CLASS.get(c.cls.lower()) or _LIBRARY_CLASS.get(sub.lower())
    fld = f"architecture.{c.name}"
    if cls is None:
        raise SpecError(f"component {c.name} (class {c.cls!r}) has no energy in the ERT and einloop's component "
                        f"library has no model for it; give its ERT, or a class among: {', '.join(classes())}",
                        file=file, field=f"{fld}.class")
    tech = c.attrs.get("technology", 45)
    try:
        nm = float(str(tech).lower().replace("nm", "").strip())
        est = estimate(cls, {**{k: v for k, v in c.attrs.items() if k in ("type", "n_banks")}, **attrs}, nm)
    except (SpecError, ValueError) as err:
        raise SpecError(f"component {c.name} has no energy in the ERT and einloop's {cls} estimate needs: {err}",
                        file=file, field=fld) from None
    notes.append(f"{c.name}: no ERT energy; einloop's component library estimate used ({est.source})")
    return est


def _storage(c: _Component, acts: dict[str, float], area: float, word: int, file: str,
             notes: list[str]) -> Storage:
    a = c.attrs

    def num(key, default=None, **kw):
        return default if a.get(key) is None else number(a[key], field=f"architecture.{c.name}.{key}", file=file, **kw)

    datawidth = num("datawidth", word, integer=True, minimum=1)
    width = num("width", datawidth, minimum=1)
    block = int(num("block_size", None, integer=True, minimum=1) or max(1, int(width // datawidth)))
    depth = num("depth", None, minimum=0)
    size = num("size", None, minimum=0)
    if size is None and depth is not None:
        size = depth * block
    cluster = num("cluster_size", 1, integer=True, minimum=1)
    if cluster != 1:
        block = max(1, int(width // (datawidth * cluster)))
    if any(a in acts for a in ("read", "write", "fill", "update")):
        energy = ActionEnergy(acts.get("read", 0.0), _first(acts, ("fill", "write")),
                              _first(acts, ("update", "write")), acts.get("leak", 0.0))
        source = "ERT"
    else:
        est = library_estimate(c, {"width": width, "datawidth": datawidth,
                                   **({"depth": int(depth)} if depth is not None else {})}, file, notes)
        energy, source = ActionEnergy(est.read, est.write, est.update, est.leak), est.source
        area = area or est.area
    return Storage(c.name, None if size is None else int(size), word, block, num("read_bandwidth"),
                   num("write_bandwidth"), num("shared_bandwidth"), float(num("multiple_buffering", 1.0)),
                   energy, area, c.cls, source, int(cluster))


# ---- mapping ----------------------------------------------------------------------------------
def _factors(text, dims: list[str], file: str, fld: str) -> dict[str, int]:
    items = text if isinstance(text, list) else re.split(r"[,\s]+", str(text).strip())
    out = {}
    for item in items:
        if not str(item):
            continue
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*?)\s*=?\s*(\d+)", str(item).strip())
        if not m or m.group(1) not in dims:
            raise SpecError(f"cannot read factor {item!r}; write DIM=N or DIMN with DIM in {', '.join(dims)}",
                            file=file, field=fld)
        out[m.group(1)] = int(m.group(2))
    return out


def read_mapping(directives: list, einsum: Einsum, arch: Architecture, spatial_target: dict[str, str],
                 file: str) -> Mapping:
    dims = list(einsum.ranks)
    tensors = [t.name for t in einsum.tensors]
    storage_names = {n.name for n in arch.storages}
    known = storage_names | set(spatial_target)
    temporal: dict[str, list[Loop]] = {}
    spatial: dict[str, list[Loop]] = {}
    keep: dict[str, set[str]] = {}
    order = [n.name for n in arch.nodes]
    dummy_parent: dict[str, str] = {}
    for name, fan in spatial_target.items():
        if name not in storage_names:  # a dummy level: its temporal loops join the next outer storage level
            outer = [n for n in order[:order.index(fan)] if n in storage_names]
            dummy_parent[name] = outer[-1] if outer else name
    for i, d in enumerate(directives or []):
        fld = f"mapping[{i}]"
        if not isinstance(d, dict) or "target" not in d:
            raise SpecError("each mapping directive needs a 'target'", file=file, field=fld)
        target, kind = str(d["target"]), str(d.get("type", "temporal"))
        if target not in known:
            raise SpecError(f"unknown target {target!r}; levels: {', '.join(sorted(known))}", file=file,
                            field=f"{fld}.target")
        if kind in ("bypass", "datatype", "dataspace"):
            for key in ("keep", "bypass"):
                bad = [t for t in d.get(key) or [] if t not in tensors]
                if bad:
                    raise SpecError(f"unknown data space(s) {', '.join(bad)}; data spaces: {', '.join(tensors)}",
                                    file=file, field=f"{fld}.{key}")
            cur = keep.setdefault(target, set(tensors))
            cur -= set(d.get("bypass") or [])
            cur |= set(d.get("keep") or [])
            continue
        if kind not in ("temporal", "spatial"):
            raise SpecError(f"unknown directive type {kind!r}; allowed: temporal, spatial, bypass, datatype",
                            file=file, field=f"{fld}.type")
        factors = _factors(d.get("factors", ""), dims, file, f"{fld}.factors")
        perm = parse_permutation(d.get("permutation", "".join(dims) if all(len(x) == 1 for x in dims) else dims),
                            dims, file, f"{fld}.permutation")
        perm += [x for x in dims if x not in perm]
        if kind == "temporal":
            loops = [Loop(x, factors.get(x, 1)) for x in reversed(perm)]
            dest = dummy_parent.get(target, target)
            if dest in storage_names:
                temporal.setdefault(dest, [])
                temporal[dest] = (temporal[dest] + loops) if dest != target else (loops + temporal[dest])
            elif any(l.factor > 1 for l in loops):
                raise SpecError("temporal loops at a level with no storage above it", file=file, field=fld)
        else:
            fan = spatial_target.get(target)
            if fan is None:
                if any(f > 1 for f in factors.values()):
                    raise SpecError(f"spatial factors at {target!r}, but there is no fanout below it",
                                    file=file, field=fld)
                continue
            node = arch.node(fan)
            split = d.get("split")
            if split is None:
                split = 0 if (node.mesh_x == 1 and node.mesh_y > 1) else len(perm)
            split = int(number(split, field=f"{fld}.split", file=file, integer=True, minimum=0))
            loops = [Loop(x, factors.get(x, 1), "X" if j < split else "Y") for j, x in enumerate(perm)]
            spatial[fan] = list(reversed(loops))
    nodes = []
    for n in arch.nodes:
        if n.name in storage_names:
            k = keep.get(n.name)
            nodes.append(NodeMapping(n.name, tuple(temporal.get(n.name, [])), None if k is None else frozenset(k)))
        elif n.name in spatial:
            nodes.append(NodeMapping(n.name, tuple(spatial[n.name])))
    return Mapping(tuple(nodes))


@dataclass
class TimeloopSpec:
    einsum: Einsum
    arch: Architecture
    mapping: Mapping
    word_bits: int
    fanout_of: dict[str, str] = field(default_factory=dict)   # timeloop spatial target -> fanout node
    dummies: frozenset[str] = frozenset()                     # timeloopfe dummy levels (hold nothing)


def read_timeloop(doc: dict, origin: dict[str, str]) -> TimeloopSpec:
    """Problem, architecture and mapping from merged Timeloop YAML; malformed input is a SpecError."""
    try:
        return _read_timeloop(doc, origin)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as err:
        what = f"missing key {err}" if isinstance(err, KeyError) else str(err)
        raise SpecError(f"malformed Timeloop input: {what}",
                        file=", ".join(sorted(set(origin.values())))) from None


def _read_timeloop(doc: dict, origin: dict[str, str]) -> TimeloopSpec:
    arch, targets, word = read_architecture(doc, origin.get("architecture", ""))
    sparse = doc.get("sparse_optimizations")
    if sparse and (not isinstance(sparse, dict) or sparse.get("targets")):
        arch = replace(arch, notes=arch.notes + (
            "sparse_optimizations ignored: einloop evaluates this input dense (every value moved and computed; "
            "Sparseloop's gating, skipping and compressed formats are not modelled)",))
    einsum = read_problem(doc.get("problem"), origin.get("problem", ""), word)
    mapping = read_mapping(doc.get("mapping") or [], einsum, arch, targets, origin.get("mapping", ""))
    return TimeloopSpec(einsum, arch, mapping, word, targets, dummy_levels(doc, origin.get("architecture", "")))


def dummy_levels(doc: dict, file: str) -> frozenset[str]:
    """Names of timeloopfe's dummy levels (class ``dummy_storage``): fanouts or nothing in einloop."""
    arch = doc["architecture"]
    comps = _flattened(arch["subtree"], {}, file) if "subtree" in arch else _nested(arch.get("nodes", []), {}, (1, 1), file)
    return frozenset(c.name for c in comps[:-1] if _is_dummy(c))
