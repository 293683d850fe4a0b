"""The Python API: load specs (einloop or Timeloop YAML), evaluate mappings."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from einloop.errors import SpecError
from einloop.mapper.constraints import Constraints, read_constraints
from einloop.model.evaluate import evaluate
from einloop.model.result import Result
from einloop.spec import native
from einloop.spec.arch import Architecture
from einloop.spec.fused import read_fused_mapping
from einloop.spec.mapping import Mapping, resolve
from einloop.spec.timeloop import TimeloopSpec, is_timeloop, read_timeloop
from einloop.spec.timeloop_constraints import Levels, read_timeloop_constraints, with_sharing
from einloop.spec.timeloop_v03 import is_legacy, prepare
from einloop.spec.workload import Workload
from einloop.spec.yamlio import load_merged

FORMATS = ("auto", "einloop", "timeloop")


@dataclass
class Spec:
    """Everything the model needs, from one or more YAML files."""

    workload: Workload | None
    arch: Architecture | None
    mapping: Mapping | None
    format: str
    files: dict[str, str]
    constraints: "Constraints | None" = None
    fused_mapping: object = None   # einloop.spec.fused.FusedMapping (docs/fusion.md)
    ignored: tuple[str, ...] = ()        # parts of the input einloop reads but does not model (reported)


def load(paths: list[str | Path] | str | Path, format: str = "auto", *, merged: tuple[dict, dict] | None = None) -> Spec:
    """Load and merge YAML files; sections may be split across files (later files win). ``merged``:
    the files' ``load_merged`` result when the caller has read them already (they are not read again).

    A SpecError that does not say which file it is about names every given file.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    try:
        return _load(paths, format, merged)
    except SpecError as err:
        if err.file or (err.field or "").startswith("--"):
            raise
        raise err.within(file=", ".join(dict.fromkeys(str(p) for p in paths))) from None


def _load(paths: list[str | Path], format: str, merged: tuple[dict, dict] | None) -> Spec:
    if format not in FORMATS:
        raise SpecError(f"unknown format {format!r}; allowed: {', '.join(FORMATS)}", field="--format")
    doc, origin = merged or load_merged(paths)
    if format == "timeloop" or (format == "auto" and (is_timeloop(doc) or is_legacy(doc))):
        prepared = prepare(doc, origin)
        doc = prepared.doc
        t = read_timeloop(doc, origin)
        cons = read_timeloop_constraints(doc, t.einsum, Levels(t.arch, t.fanout_of, t.dummies), origin)
        return Spec(Workload(t.einsum.name, (t.einsum,)), with_sharing(t.arch, cons), t.mapping, "timeloop", origin, cons,
                    ignored=prepared.ignored + cons.notes)
    known = {"workload", "architecture", "mapping", "constraints", "fused_mapping"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise SpecError(f"unknown top-level section(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))} "
                        "(or Timeloop's problem/architecture/mapping with --format timeloop)",
                        file=origin.get(unknown[0]))
    wl = native.read_workload(doc["workload"], origin["workload"]) if "workload" in doc else None
    arch = native.read_architecture(doc["architecture"], origin["architecture"]) if "architecture" in doc else None
    mapping = native.read_mapping(doc["mapping"], origin["mapping"]) if "mapping" in doc else None
    cons = read_constraints(doc["constraints"], origin["constraints"]) if "constraints" in doc else None
    fused = read_fused_mapping(doc["fused_mapping"], origin["fused_mapping"]) if "fused_mapping" in doc else None
    return Spec(wl, arch, mapping, "einloop", origin, cons, fused)


def load_timeloop(paths: list[str | Path]) -> TimeloopSpec:
    """Timeloop files of any version (v0.2 to v0.4) as einloop's Einsum, architecture and mapping."""
    doc, origin = load_merged(list(paths))
    return read_timeloop(prepare(doc, origin).doc, origin)


def timeloop_files(ref_output: str | Path) -> list[Path]:
    """The input of record in a Timeloop output folder: processed input, chosen mapping, ERT and ART."""
    d = Path(ref_output)
    files = [d / "parsed-processed-input.yaml"]
    files += sorted(d.glob("*mapper.map.yaml"))
    files += sorted(d.glob("*.ERT.yaml")) + sorted(d.glob("*.ART.yaml"))
    return files


def evaluate_spec(spec: Spec, einsum: str | None = None, *, reuse_rule: str = "2025", semantics=None) -> Result:
    """Evaluate the spec's mapping on one Einsum of its workload (``semantics``: override the counting
    conventions, e.g. einloop.spec.semantics.EXACT for a Timeloop input's exact counts)."""
    for what, value in (("workload", spec.workload), ("architecture", spec.arch), ("mapping", spec.mapping)):
        if value is None:
            raise SpecError(f"no '{what}' section in the given files ({', '.join(sorted(set(spec.files.values())))})")
    chosen = spec.workload.einsum(einsum)
    try:
        mapping = resolve(spec.mapping, chosen)
        return evaluate(chosen, spec.arch, mapping, reuse_rule=reuse_rule, semantics=semantics)
    except SpecError as err:
        if err.file:
            raise
        every = ", ".join(sorted(set(spec.files.values())))
        mapping_error = (err.field or "").startswith("mapping")
        raise err.within(file=(spec.files.get("mapping") if mapping_error else None) or every or None) from None


__all__ = ["Spec", "load", "load_timeloop", "timeloop_files", "evaluate", "evaluate_spec", "Result"]
