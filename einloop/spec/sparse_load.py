"""Load a sparse evaluation's inputs from YAML: einloop's own files with a ``sparsity:`` section, or
Sparseloop's Timeloop v4 files unchanged (detected as ``einloop.api.load`` does)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from einloop.errors import SpecError
from einloop.spec import native
from einloop.spec.arch import Architecture
from einloop.spec.mapping import Mapping
from einloop.spec.sparse import SparseSpec, read_sparsity
from einloop.spec.sparse_timeloop import read_sparse_timeloop
from einloop.spec.timeloop import is_timeloop, read_timeloop
from einloop.spec.timeloop_v03 import is_legacy, prepare
from einloop.spec.workload import Einsum
from einloop.spec.yamlio import load_merged

SECTIONS = ("workload", "architecture", "mapping", "sparsity", "constraints")


@dataclass
class SparseInputs:
    """One Einsum, its architecture and mapping, and the sparsity to evaluate them with."""

    einsum: Einsum
    arch: Architecture
    mapping: Mapping
    sparsity: SparseSpec
    format: str


def _metadata_defaults(sp: SparseSpec, arch: Architecture) -> SparseSpec:
    """Native levels without metadata energies: a metadata vector costs the level's data access
    energy scaled by bits (metadata width / (block size x datawidth))."""
    levels = {}
    for node in arch.storages:
        ls = sp.level(node.name)
        md = ls.metadata
        if md.width:
            scale = md.width / (node.block_size * node.datawidth)
            energy = {a: md.energy.get(a, getattr(node.energy, a) * scale) for a in ("read", "fill", "update")}
            ls = dataclasses.replace(ls, metadata=dataclasses.replace(md, energy=energy))
        levels[node.name] = ls
    return dataclasses.replace(sp, levels=levels)


def load_sparse(paths: list[str | Path] | str | Path, einsum: str | None = None, *,
                arrays: dict[str, np.ndarray] | None = None, merged: tuple[dict, dict] | None = None) -> SparseInputs:
    """Read the files; ``arrays`` gives actual data per tensor (numpy), overriding its density;
    ``merged``: the files' ``load_merged`` result when the caller has read them already."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    doc, origin = merged or load_merged(paths)
    if is_timeloop(doc) or is_legacy(doc):
        doc = prepare(doc, origin).doc
        t = read_timeloop(doc, origin)
        sp = read_sparse_timeloop(doc, origin, t.einsum, t.arch)
        if arrays:
            names = tuple(x.name for x in t.einsum.tensors)
            extra = read_sparsity({}, "arrays", names, (), arrays)
            sp = dataclasses.replace(sp, densities={**sp.densities, **extra.densities})
        return SparseInputs(t.einsum, t.arch, t.mapping, sp, "timeloop")
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        raise SpecError(f"unknown top-level section(s) {', '.join(unknown)}; allowed: {', '.join(SECTIONS)}",
                        file=origin.get(unknown[0]))
    for what in ("workload", "architecture", "mapping"):
        if what not in doc:
            raise SpecError(f"no '{what}' section in the given files", file=", ".join(map(str, paths)))
    wl = native.read_workload(doc["workload"], origin["workload"])
    arch = native.read_architecture(doc["architecture"], origin["architecture"])
    mapping = native.read_mapping(doc["mapping"], origin["mapping"])
    e = wl.einsum(einsum)
    names = tuple(t.name for t in e.tensors)
    levels = tuple(n.name for n in arch.storages)
    sp = read_sparsity(doc.get("sparsity") or {}, origin.get("sparsity", ""), names, levels, arrays)
    return SparseInputs(e, arch, mapping, _metadata_defaults(sp, arch), "einloop")
