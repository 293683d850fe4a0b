"""Sparsity specs: per-tensor densities, per-level formats, gating/skipping (Sparseloop's SAFs).

The records here are read from einloop's native ``sparsity:`` section (``read_sparsity``) or from
Sparseloop's Timeloop v4 inputs (``einloop.spec.sparse_timeloop``); docs/sparsity.md shows both.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import numpy as np

from einloop.errors import SpecError

FORMATS = ("U", "B", "CP", "UOP", "RLE")
DISTRIBUTIONS = ("fixed_structured", "hypergeometric", "actual")
SAF_KINDS = ("gating", "skipping")


@dataclass(frozen=True, eq=False)
class Density:
    """How a tensor's nonzeros are spread: ``fixed_structured`` (every tile holds density x size,
    N:M), ``hypergeometric`` (uniform random over the whole tensor) or ``actual`` (a numpy array)."""

    distribution: str
    density: float
    data: np.ndarray | None = None

    @property
    def exact(self) -> bool:
        """Counts are whole accesses (Sparseloop rounds fixed-structured counts down); uniform random
        densities give expected values."""
        return self.distribution in ("fixed_structured", "actual")


@dataclass(frozen=True)
class RankFormat:
    """One rank of a tensor's representation, outer to inner; ``metadata_bits`` None = the level's."""

    format: str
    metadata_bits: int | None = None
    flattened: tuple[str, ...] | None = None   # problem ranks folded into this one (flattened_rankIDs)
    payload_bits: int | None = None            # None = the metadata bits


@dataclass(frozen=True)
class SAF:
    """A storage action optimization: ``target``'s accesses at a level are gated or skipped when a
    tile of any ``condition_on`` tensor is empty."""

    kind: str
    target: str
    condition_on: tuple[str, ...]


@dataclass(frozen=True)
class Metadata:
    """A level's metadata store: bits per vector access, bits per metadata item, depth in vectors, and
    energies per vector access (pJ) of each action (``read``/``fill``/``update``, ``gated_*``)."""

    width: int = 0
    datawidth: int = 0
    depth: int | None = None
    energy: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LevelSparsity:
    """Formats (tensor -> ranks), SAFs, metadata store and gated/skipped data energies of one level."""

    formats: dict[str, tuple[RankFormat, ...]] = field(default_factory=dict)
    safs: tuple[SAF, ...] = ()
    metadata: Metadata = field(default_factory=Metadata)
    gated_energy: dict[str, float] = field(default_factory=dict)   # gated_read/gated_fill/gated_update
    codec_energy: dict[str, float] = field(default_factory=dict)   # pJ per value: decompression, compression


_NONE = LevelSparsity()     # a level without sparsity (an immutable constant, shared)


@dataclass(frozen=True)
class SparseSpec:
    """Everything the sparse layer adds to a dense spec."""

    densities: dict[str, Density] = field(default_factory=dict)
    levels: dict[str, LevelSparsity] = field(default_factory=dict)
    compute: str = ""                    # "", "gating" or "skipping": ineffectual computes at the MAC
    compute_gated_energy: float = 0.0    # pJ per gated compute

    def level(self, name: str) -> LevelSparsity:
        """A level's sparsity (none: uncompressed, no SAF)."""
        found = self.levels.get(name)
        return found if found is not None else _NONE

    def density(self, tensor: str) -> Density:
        """A tensor's density model (none given: dense)."""
        return self.densities.get(tensor, Density("fixed_structured", 1.0))


def suggest(word: str, allowed) -> str:
    """`` (did you mean X?)`` when a close match exists."""
    close = difflib.get_close_matches(str(word), [str(a) for a in allowed], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(d, allowed: tuple[str, ...], file: str, fld: str) -> dict:
    """``d`` as a dict whose keys are all in ``allowed``, else one SpecError naming the key."""
    if not isinstance(d, dict):
        raise SpecError(f"expected a mapping, got {type(d).__name__}", file=file, field=fld)
    for k in d:
        if k not in allowed:
            raise SpecError(f"unknown key {k!r}{suggest(k, allowed)}; allowed: {', '.join(allowed)}",
                            file=file, field=f"{fld}.{k}")
    return d


def fraction(value, file: str, fld: str) -> float:
    """A density in [0, 1]: a number, never a bool, NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise SpecError(f"density must be a number in [0, 1], got {value!r}", file=file, field=fld)
    return float(value)


def tensor_name(name, tensors: tuple[str, ...], file: str, fld: str) -> str:
    """``name`` if it is one of ``tensors``, else a SpecError listing them."""
    if name not in tensors:
        raise SpecError(f"no tensor {name!r}{suggest(name, tensors)}; tensors: {', '.join(tensors)}",
                        file=file, field=fld)
    return name


def read_density(value, tensor: str, tensors: tuple[str, ...], file: str, fld: str) -> Density:
    """``0.5``, ``"2:4"``, a numpy array, or ``{distribution, density}`` (Sparseloop's form)."""
    tensor_name(tensor, tensors, file, fld)
    if isinstance(value, np.ndarray):
        if value.size == 0:
            raise SpecError("an actual-data density needs a non-empty array", file=file, field=fld)
        return Density("actual", float(np.count_nonzero(value)) / value.size, value)
    if isinstance(value, str) and ":" in value:
        n, _, m = value.partition(":")
        if not (n.strip().isdigit() and m.strip().isdigit()) or int(m) == 0 or int(n) > int(m):
            raise SpecError(f"structured density must be N:M with 0 <= N <= M, M > 0, got {value!r}",
                            file=file, field=fld)
        return Density("fixed_structured", int(n) / int(m))
    if isinstance(value, dict):
        if "data_file_path" in value:
            raise SpecError("data_file_path (actual data read from a file) is not read by einloop; give the "
                            "tensor as a numpy array: load_sparse(..., arrays={name: array})", file=file,
                            field=f"{fld}.data_file_path")
        check_keys(value, ("distribution", "density", "band_width", "workload_tensor_size"), file, fld)
        dist = value.get("distribution", "hypergeometric")
        dist = "hypergeometric" if dist == "uniform" else dist
        if dist not in DISTRIBUTIONS[:2]:
            raise SpecError(f"distribution {dist!r} is not modelled{suggest(dist, DISTRIBUTIONS[:2])}; "
                            f"allowed: {', '.join(DISTRIBUTIONS[:2])}, uniform", file=file,
                            field=f"{fld}.distribution")
        if "density" not in value:
            raise SpecError("missing 'density'", file=file, field=fld)
        return Density(dist, fraction(value["density"], file, f"{fld}.density"))
    return Density("hypergeometric", fraction(value, file, fld))


def read_formats(ranks, file: str, fld: str) -> tuple[RankFormat, ...]:
    """``[UOP, CP]`` or ``[{format: UOP, metadata_word_bits: 4}, ...]``, outer to inner."""
    if isinstance(ranks, str):
        ranks = ranks.split()
    if not isinstance(ranks, list) or not ranks:
        raise SpecError(f"expected a list of rank formats (outer to inner) from {', '.join(FORMATS)}",
                        file=file, field=fld)
    out = []
    for i, r in enumerate(ranks):
        where = f"{fld}[{i}]"
        bits, flat, payload = None, None, None
        if isinstance(r, dict):
            check_keys(r, ("format", "metadata_word_bits", "payload_word_bits", "flattened_rankIDs"), file, where)
            flat = _flattened(r.get("flattened_rankIDs"), file, f"{where}.flattened_rankIDs")
            bits, payload = (_bits(r.get(k), file, f"{where}.{k}") for k in ("metadata_word_bits", "payload_word_bits"))
            r = r.get("format")
        name = str(r).upper()
        if name not in FORMATS:
            raise SpecError(f"unknown format {r!r}{suggest(name, FORMATS)}; allowed: {', '.join(FORMATS)}",
                            file=file, field=where)
        out.append(RankFormat(name, bits, flat, payload))
    return tuple(out)


def _bits(value, file: str, fld: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise SpecError(f"must be a non-negative integer (bits), got {value!r}", file=file, field=fld)
    return value


def underscored(doc):
    """Sparseloop v0.3's hyphenated keys (``representation-format``, ``condition-on``) and
    distribution names (``fixed-structured``) in the v0.4 spelling."""
    if isinstance(doc, dict):
        return {str(k).replace("-", "_"): (str(v).replace("-", "_") if k == "distribution" else underscored(v))
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [underscored(v) for v in doc]
    return doc


def _flattened(value, file: str, fld: str) -> tuple[str, ...] | None:
    """Sparseloop's ``flattened_rankIDs: [[R, S, C]]``: the problem ranks one format rank covers."""
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise SpecError(f"expected a list of rank names, e.g. [[R, S, C]], got {value!r}", file=file, field=fld)
    return tuple(value)


def read_saf(kind: str, target, conditions, tensors: tuple[str, ...], seen: tuple[str, ...] | None,
             file: str, fld: str) -> SAF:
    """One SAF; ``seen`` (tensors the level or its children hold) limits the names when known."""
    if kind not in SAF_KINDS:
        raise SpecError(f"unknown optimization {kind!r}{suggest(kind, SAF_KINDS)}; allowed: gating, skipping",
                        file=file, field=fld)
    conditions = [conditions] if isinstance(conditions, str) else conditions
    if not isinstance(conditions, list) or not conditions:
        raise SpecError("condition_on must name at least one tensor", file=file, field=f"{fld}.condition_on")
    names = seen or tensors
    tensor_name(target, tensors, file, f"{fld}.target")
    for c in conditions:
        tensor_name(c, tensors, file, f"{fld}.condition_on")
        if c not in names:
            raise SpecError(f"condition tensor {c!r} is not seen by this level; it sees {', '.join(names)}",
                            file=file, field=f"{fld}.condition_on")
        if c == target:
            raise SpecError(f"{target!r} cannot be conditioned on itself (a compressed format skips its "
                            "own zeros)", file=file, field=f"{fld}.condition_on")
    return SAF(kind, target, tuple(conditions))


def read_metadata(d, file: str, fld: str) -> Metadata:
    """Native ``metadata: {width, datawidth, depth, read_energy, fill_energy, update_energy}``."""
    check_keys(d, ("width", "datawidth", "depth", "read_energy", "fill_energy", "update_energy"), file, fld)
    for k, v in d.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise SpecError(f"must be a non-negative number, got {v!r}", file=file, field=f"{fld}.{k}")
    width = int(d.get("width", 0))
    energy = {a: float(d[f"{a}_energy"]) for a in ("read", "fill", "update") if f"{a}_energy" in d}
    return Metadata(width, int(d.get("datawidth", width)), None if "depth" not in d else int(d["depth"]), energy)


def read_sparsity(doc, file: str, tensors: tuple[str, ...], levels: tuple[str, ...],
                  arrays: dict[str, np.ndarray] | None = None) -> SparseSpec:
    """einloop's native form::

        sparsity:
          densities: {A: 0.25, B: "2:4", C: {distribution: hypergeometric, density: 0.1}}
          levels:
            Buffer: {formats: {A: [UOP, CP]}, skip: {B: [A], Z: [A, B]}, gate: {},
                     metadata: {width: 4, datawidth: 4}, gated_energy: {read: 0.1}}
          compute: {optimization: gating, gated_energy: 0.05}

    ``arrays`` gives actual data (numpy) per tensor; they override ``densities``.
    """
    check_keys(doc, ("densities", "levels", "compute"), file, "sparsity")
    compute = check_keys(doc.get("compute") or {}, ("optimization", "gated_energy"), file, "sparsity.compute")
    kind = compute.get("optimization", "")
    if kind not in ("",) + SAF_KINDS:
        raise SpecError(f"unknown optimization {kind!r}{suggest(kind, SAF_KINDS)}; allowed: gating, skipping",
                        file=file, field="sparsity.compute.optimization")
    mac_gated = compute.get("gated_energy", 0.0)
    if isinstance(mac_gated, bool) or not isinstance(mac_gated, (int, float)) or not math.isfinite(mac_gated) \
            or mac_gated < 0:
        raise SpecError(f"must be a non-negative number (pJ), got {mac_gated!r}", file=file,
                        field="sparsity.compute.gated_energy")
    dens = {t: read_density(v, t, tensors, file, f"sparsity.densities.{t}")
            for t, v in check_keys(doc.get("densities") or {}, tensors, file, "sparsity.densities").items()}
    for t, a in (arrays or {}).items():
        dens[t] = read_density(np.asarray(a), t, tensors, file, f"arrays.{t}")
    out = {}
    for name, spec in check_keys(doc.get("levels") or {}, levels, file, "sparsity.levels").items():
        fld = f"sparsity.levels.{name}"
        check_keys(spec, ("formats", "gate", "skip", "metadata", "gated_energy"), file, fld)
        formats = {t: read_formats(r, file, f"{fld}.formats.{t}")
                   for t, r in check_keys(spec.get("formats") or {}, tensors, file, f"{fld}.formats").items()}
        safs = tuple(read_saf(kind, t, c, tensors, None, file, f"{fld}.{key}.{t}")
                     for key, kind in (("gate", "gating"), ("skip", "skipping"))
                     for t, c in check_keys(spec.get(key) or {}, tensors, file, f"{fld}.{key}").items())
        meta = read_metadata(spec.get("metadata") or {}, file, f"{fld}.metadata")
        gated = check_keys(spec.get("gated_energy") or {}, ("read", "fill", "update"), file, f"{fld}.gated_energy")
        for k, v in gated.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise SpecError(f"must be a non-negative number (pJ), got {v!r}", file=file,
                                field=f"{fld}.gated_energy.{k}")
        out[name] = LevelSparsity(formats, safs, meta, {k: float(v) for k, v in gated.items()})
    return SparseSpec(dens, out, kind, float(mac_gated))
