"""Sparseloop's inputs read unchanged: ``sparse_optimizations``, ``problem.instance.densities``, the
metadata attributes of storage levels and the metadata / gated actions of the ERT."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from einloop.errors import SpecError
from einloop.spec.arch import Architecture, Compute, Storage
from einloop.spec.sparse import (Density, LevelSparsity, Metadata, SparseSpec, check_keys, read_density,
                                 read_formats, read_saf, suggest, underscored)
from einloop.spec.timeloop import TimeloopSpec, read_timeloop
from einloop.spec.timeloop_v03 import prepare
from einloop.spec.workload import Einsum
from einloop.spec.yamlio import load_merged

_INSTANCES = re.compile(r"\[\d+\.\.\d+\]")
_TARGET_KEYS = ("name", "representation_format", "action_optimization", "compute_optimization")


def _short(name) -> str:
    """``system.Buffer[1..1]`` -> ``Buffer``."""
    return _INSTANCES.sub("", str(name)).split(".")[-1]


def ert_actions(doc: dict) -> dict[str, dict[str, float]]:
    """{component: {action: pJ}} from the ERT (the maximum over argument variants, as Timeloop)."""
    out: dict[str, dict[str, float]] = {}
    for table in (doc.get("ERT") or {}).get("tables", []) or []:
        acts = out.setdefault(_short(table.get("name")), {})
        for act in table.get("actions", []) or []:
            acts[act["name"]] = max(acts.get(act["name"], float("-inf")), float(act.get("energy", 0.0)))
    return out


def component_attributes(tree, out: dict[str, dict] | None = None) -> dict[str, dict]:
    """{component name: attributes} from any architecture layout (nested, subtree/local, flattened)."""
    out = {} if out is None else out
    if isinstance(tree, dict):
        if "name" in tree and isinstance(tree.get("attributes"), dict):
            out[_short(tree["name"])] = tree["attributes"]
        for v in tree.values():
            component_attributes(v, out)
    elif isinstance(tree, list):
        for v in tree:
            component_attributes(v, out)
    return out


def _metadata(attrs: dict, acts: dict[str, float]) -> Metadata:
    width = int(attrs.get("metadata_storage_width") or 0)
    energy = {"read": acts.get("metadata_read", 0.0),
              "fill": acts.get("metadata_fill", acts.get("metadata_write", 0.0)),
              "update": acts.get("metadata_update", acts.get("metadata_write", 0.0))}
    for a in ("read", "fill", "update"):
        energy[f"gated_{a}"] = acts.get(f"gated_metadata_{a}", acts.get("gated_metadata_write", 0.0)
                                        if a != "read" else 0.0)
    depth = attrs.get("metadata_storage_depth")
    return Metadata(width, int(attrs.get("metadata_datawidth") or width), None if depth is None else int(depth),
                    energy)


def _gated(acts: dict[str, float]) -> dict[str, float]:
    """Energies of gated data actions (0 when the ERT has none: a gated access costs nothing)."""
    return {"read": acts.get("gated_read", 0.0), "fill": acts.get("gated_fill", acts.get("gated_write", 0.0)),
            "update": acts.get("gated_update", acts.get("gated_write", 0.0))}


def _compute_optimization(t: dict, arch: Architecture, file: str, fld: str) -> str:
    """``compute_optimization: [{type: gating}]`` on the compute level: its kind ('' if none)."""
    opts = t.get("compute_optimization") or []
    if opts and _short(t.get("name")) != arch.compute.name:
        raise SpecError(f"compute_optimization belongs on the compute level {arch.compute.name!r}", file=file,
                        field=f"{fld}.compute_optimization")
    kinds = set()
    for j, opt in enumerate(opts if isinstance(opts, list) else [opts]):
        check_keys(opt, ("type",), file, f"{fld}.compute_optimization[{j}]")
        kind = opt.get("type")
        if kind not in ("gating", "skipping"):
            raise SpecError(f"unknown optimization {kind!r}{suggest(kind, ('gating', 'skipping'))}; allowed: "
                            "gating, skipping", file=file, field=f"{fld}.compute_optimization[{j}].type")
        kinds.add(kind)
    return "skipping" if "skipping" in kinds else "gating" if kinds else ""


def _target(t: dict, k: int, einsum: Einsum, arch: Architecture, file: str) -> tuple[str, dict, tuple]:
    fld = f"sparse_optimizations.targets[{k}]"
    check_keys(t, _TARGET_KEYS, file, fld)
    name = _short(t.get("name"))
    levels = [n.name for n in arch.nodes if isinstance(n, (Storage, Compute))]
    if name not in levels:
        raise SpecError(f"no level {name!r}{suggest(name, levels)}; levels: {', '.join(levels)}", file=file,
                        field=f"{fld}.name")
    tensors = tuple(x.name for x in einsum.tensors)
    formats = {}
    rep = check_keys(t.get("representation_format") or {}, ("data_spaces",), file, f"{fld}.representation_format")
    for j, ds in enumerate(rep.get("data_spaces") or []):
        where = f"{fld}.representation_format.data_spaces[{j}]"
        check_keys(ds, ("name", "ranks", "rank_application_order"), file, where)
        if ds.get("name") not in tensors:
            raise SpecError(f"no tensor {ds.get('name')!r}{suggest(ds.get('name'), tensors)}", file=file,
                            field=f"{where}.name")
        formats[ds["name"]] = read_formats(ds.get("ranks"), file, f"{where}.ranks")
    safs = []
    for j, opt in enumerate(t.get("action_optimization") or []):
        where = f"{fld}.action_optimization[{j}]"
        check_keys(opt, ("type", "options", "target", "condition_on"), file, where)
        if opt.get("type") == "skipping_spatial":
            raise SpecError("skipping-spatial (structured sparsity skipped across spatial instances) is not "
                            "modelled yet; allowed: gating, skipping", file=file, field=f"{where}.type")
        options = opt.get("options") or ([{k: opt[k] for k in ("target", "condition_on") if k in opt}]
                                         if "target" in opt else [])
        for o, option in enumerate(options):
            check_keys(option, ("target", "condition_on"), file, f"{where}.options[{o}]")
            safs.append(read_saf(opt.get("type"), option.get("target"), option.get("condition_on"), tensors,
                                 None, file, f"{where}.options[{o}]"))
    return name, formats, tuple(safs)


def read_sparse_timeloop(doc: dict, origin: dict[str, str], einsum: Einsum, arch: Architecture) -> SparseSpec:
    """The SparseSpec of a merged Timeloop v4 document (no sparsity at all gives an empty spec)."""
    pfile, sfile = origin.get("problem", ""), origin.get("sparse_optimizations", "")
    tensors = tuple(t.name for t in einsum.tensors)
    raw = underscored(((doc.get("problem") or {}).get("instance") or {}).get("densities") or {})
    dens: dict[str, Density] = {t: read_density(v, t, tensors, pfile, f"problem.instance.densities.{t}")
                                for t, v in check_keys(raw, tensors, pfile, "problem.instance.densities").items()}
    section = underscored(doc.get("sparse_optimizations") or {})
    check_keys(section, ("targets", "version"), sfile, "sparse_optimizations")
    found, compute = {}, ""
    for k, t in enumerate(section.get("targets") or []):
        name, formats, safs = _target(t, k, einsum, arch, sfile)
        found[name] = (formats, safs)
        compute = _compute_optimization(t, arch, sfile, f"sparse_optimizations.targets[{k}]") or compute
    acts, attrs = ert_actions(doc), component_attributes(doc.get("architecture") or {})
    levels = {}
    for node in arch.storages:
        formats, safs = found.get(node.name, ({}, ()))
        a = acts.get(node.name, {})
        codec = {"decompression": a.get("decompression_count", 0.0), "compression": a.get("compression_count", 0.0)}
        levels[node.name] = LevelSparsity(formats, safs, _metadata(attrs.get(node.name, {}), a), _gated(a), codec)
    mac = acts.get(arch.compute.name, {})
    gated = next((mac[a] for a in ("gated_compute", "mac_gated", "gated_mac") if a in mac), 0.0)
    return SparseSpec(dens, levels, compute, gated)


@dataclass
class SparseTimeloopSpec:
    """A Timeloop input's dense spec and its sparsity."""

    dense: TimeloopSpec
    sparse: SparseSpec


def load_sparse_timeloop(paths: list[str | Path]) -> SparseTimeloopSpec:
    """Load Timeloop/Sparseloop YAML files (e.g. ``einloop.api.timeloop_files(ref_output)``)."""
    doc, origin = load_merged(list(paths))
    doc = prepare(doc, origin).doc     # older versions upgraded, containers unfolded (timeloop_v03)
    dense = read_timeloop(doc, origin)
    return SparseTimeloopSpec(dense, read_sparse_timeloop(doc, origin, dense.einsum, dense.arch))
