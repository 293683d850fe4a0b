"""``einloop analyze``: per-Einsum MACs, tensor sizes, intensity and minimum traffic; optional roofline.

    einloop analyze WORKLOAD [--arch ARCH] [--plot FILE] [--batch N] [--seq-len N] [--bits N] [--json]

WORKLOAD is an einloop YAML file with a ``workload:`` section or a zoo name (``resnet50``,
``zoo:resnet50``; see :func:`einloop.workloads.zoo.names`). With ``--arch`` the roofline of that
architecture is added: peak = compute instances MACs/cycle, clock = 1 / cycle_seconds, bandwidth =
the outermost storage level's shared (else read) bandwidth in words/cycle x datawidth / 8 bytes, or,
when that level states neither, one vector access (block_size x datawidth bits) per cycle.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from einloop.errors import SpecError
from einloop.spec.limits import MAX_FACTOR, MAX_PATH_CHARS, shorten
from einloop.spec.yamlio import checked_path
from einloop.spec.arch import Architecture
from einloop.spec.workload import Workload
from einloop.workloads import analysis as A

ZOO_PREFIX = "zoo:"


# ---- inputs ------------------------------------------------------------------------------------
def _looks_like_file(name: str) -> bool:
    return name.lower().endswith((".yaml", ".yml")) or "/" in name or "\\" in name


def _is_file(name: str) -> bool:
    """Path.is_file() that says False for names the OS refuses (too long, NUL) instead of raising."""
    try:
        return Path(name).is_file()
    except (OSError, ValueError):
        return False


def _missing(name: str, what: str, field: str) -> SpecError:
    """The error for a file that cannot be read: yamlio's reason (too long, a folder...) or 'no such file'."""
    try:
        checked_path(name)
    except SpecError as err:
        if err.message != "file not found":
            return SpecError(err.message, file=err.file, field=field)
    return SpecError(f"no such {what} file {shorten(name)}", field=field)


def load_workload(name: str, *, batch: int | None = None, seq_len: int | None = None,
                  bits: int | None = None) -> Workload:
    """A workload from an einloop YAML file or from the zoo (``name`` or ``zoo:name``).

    ``batch``, ``seq_len`` and ``bits`` are zoo parameters; a YAML file states its own shapes.
    """
    from einloop.workloads import zoo

    if not name.startswith(ZOO_PREFIX) and (_is_file(name) or _looks_like_file(name)):
        if not _is_file(name):
            err = _missing(name, "workload", "WORKLOAD")
            if err.file:
                raise err
            raise SpecError(f"{err.message}; give an einloop YAML file or a zoo name ({', '.join(zoo.names())})",
                            field="WORKLOAD")
        given = [f"--{k}" for k, v in (("batch", batch), ("seq-len", seq_len), ("bits", bits)) if v is not None]
        if given:
            raise SpecError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to zoo workloads only; "
                            f"a YAML file states its own rank sizes and bits", field="WORKLOAD")
        from einloop import api
        spec = api.load([name])
        if spec.workload is None:
            raise SpecError("no 'workload' section in this file", file=name)
        return spec.workload
    key = name[len(ZOO_PREFIX):] if name.startswith(ZOO_PREFIX) else name
    kwargs = {"batch": 1 if batch is None else batch, "seq_len": seq_len}
    if bits is not None:
        kwargs["bits"] = bits
    return zoo.get(key, **kwargs)


def load_architecture(path: str) -> Architecture:
    """The architecture of an einloop or Timeloop YAML file (``--arch``)."""
    from einloop import api
    if not _is_file(path):
        raise _missing(path, "architecture", "--arch")
    spec = api.load([path])
    if spec.arch is None:
        raise SpecError("no 'architecture' section in this file", file=path, field="--arch")
    return spec.arch


# ---- roofline parameters of an architecture ------------------------------------------------------
@dataclass(frozen=True)
class RoofParams:
    """What the roofline takes from an architecture, and where each number came from."""

    architecture: str
    peak_macs_per_cycle: int
    clock_hz: float
    bandwidth_bytes_per_cycle: float
    level: str
    bandwidth_source: str     # "shared_bandwidth", "read_bandwidth" or "vector_access"
    bandwidth_detail: str     # human-readable derivation

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def roof_params(arch: Architecture) -> RoofParams:
    """Peak MACs/cycle, clock and off-chip bandwidth (bytes/cycle) of ``arch``'s outermost storage level."""
    top = arch.storages[0]
    peak = arch.compute_instances
    clock = 1.0 / arch.cycle_seconds
    for attr in ("shared_bandwidth", "read_bandwidth"):
        words = getattr(top, attr)
        if words is not None:
            bw = words * top.datawidth / 8
            detail = f"{top.name} {attr} {words:g} words/cycle x {top.datawidth} bits"
            return RoofParams(arch.name, peak, clock, bw, top.name, attr, detail)
    bw = top.block_size * top.datawidth / 8
    detail = (f"{top.name} gives no shared/read bandwidth: one vector access per cycle, "
              f"block_size {top.block_size} x {top.datawidth} bits")
    return RoofParams(arch.name, peak, clock, bw, top.name, "vector_access", detail)


# ---- formatting ----------------------------------------------------------------------------------
def _num(x, digits: int = 2) -> str:
    if isinstance(x, str):
        return x
    x = float(x)
    if math.isfinite(x) and x.is_integer():
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def _si(x: float, unit: str) -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.4g} {prefix}{unit}"
    return f"{x:.4g} {unit}"


def _table(headers: list[str], rows: list[list[str]], left: int = 2) -> str:
    """Right-aligned columns except the first ``left`` (names)."""
    cells = [headers] + rows
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for k, r in enumerate(cells):
        out.append("  ".join(c.ljust(w) if i < left else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0 or k == len(cells) - 2:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


_COLUMNS = [  # (header, column of the einsum table, digits)
    ("MACs", "macs", 0), ("in elems", "input_elements", 0), ("W elems", "weight_elements", 0),
    ("out elems", "output_elements", 0), ("in B", "input_bytes", 1), ("W B", "weight_bytes", 1),
    ("out B", "output_bytes", 1), ("min traffic B", "bytes", 1), ("MAC/B", "operational_intensity", 2),
]
_ROOF_COLUMNS = [("attain MAC/cyc", "attainable_macs_per_cycle", 2), ("bound", "bound", 0),
                 ("min cycles", "min_cycles", 0), ("util %", "utilization", 1)]


def _records(df) -> list[dict]:
    """DataFrame rows (index included as ``einsum``) as plain-Python JSON records."""
    return json.loads(df.reset_index().to_json(orient="records", double_precision=15))


def _plain(series) -> dict:
    return json.loads(series.to_json(double_precision=15))


def _text(wl: Workload, table, totals, roof: A.Roofline | None, params: RoofParams | None) -> str:
    bits = sorted({t.bits for e in wl.einsums for t in e.tensors})
    lines = [f"Workload {wl.name}: {len(wl.einsums)} Einsum(s), {totals['mac_einsums']} with MACs, "
             f"{_num(totals['macs'])} MACs, {'/'.join(map(str, bits))}-bit tensors"]
    if roof is not None:
        p = params
        lines.append(f"Roofline on {p.architecture}: peak {p.peak_macs_per_cycle:,} MACs/cycle "
                     f"(compute instances) x {_si(p.clock_hz, 'Hz')} = {_si(roof.peak_macs_per_s, 'MAC/s')}; "
                     f"bandwidth {p.bandwidth_bytes_per_cycle:g} B/cycle = {_si(roof.bandwidth_bytes_per_s, 'B/s')} "
                     f"({p.bandwidth_detail}); ridge {roof.ridge:.4g} MAC/B")
    lines.append("Minimum traffic: every tensor of an Einsum moved once (elements x bits / 8); "
                 "MAC/B = MACs / minimum traffic")
    headers = ["einsum", "op"] + [h for h, _, _ in _COLUMNS]
    if roof is not None:
        headers += [h for h, _, _ in _ROOF_COLUMNS]
    rows = []
    last = len(table) - 1                     # the "total" row einsum_table appends
    for i, (name, r) in enumerate(table.iterrows()):
        row = [str(name), str(r.op)] + [_num(r[c], d) for _, c, d in _COLUMNS]
        if roof is not None:
            if i == last:
                t = roof.total
                row += [_num(t.achieved_macs_per_cycle, 2), "", _num(round(t.min_cycles)),
                        _num(100 * t.utilization, 1)]
            else:
                rr = roof.table.iloc[i]
                row += [_num(rr.attainable_macs_per_cycle, 2), rr.bound, _num(math.ceil(rr.min_cycles)),
                        _num(100 * rr.utilization, 1)]
        rows.append(row)
    lines += ["", _table(headers, rows)]
    lines += ["", "Totals",
              f"  MACs                          {_num(totals['macs'])}",
              f"  weights (conv/FC)             {_num(totals['weights'])} elements, "
              f"{_num(totals['weight_bytes'], 1)} B",
              f"  parameters (incl. norms)      {_num(totals['parameters'])} elements, "
              f"{_num(totals['parameter_bytes'], 1)} B",
              f"  min traffic, layer by layer   {_num(totals['traffic_layerwise_bytes'], 1)} B  "
              f"({totals['operational_intensity_layerwise']:.2f} MAC/B)",
              f"  min traffic, fully fused      {_num(totals['traffic_fused_bytes'], 1)} B  "
              f"({totals['operational_intensity_fused']:.2f} MAC/B)"]
    if roof is not None:
        t = roof.total
        counts = roof.table[roof.table.macs > 0].bound.value_counts()
        lines += [f"  roofline, layer by layer      {_num(round(t.min_cycles))} cycles = {t.min_seconds * 1e3:.4g} ms, "
                  f"{t.achieved_macs_per_cycle:.2f} MACs/cycle ({100 * t.utilization:.1f} % of peak); "
                  f"MAC Einsums: {counts.get('compute', 0)} compute-bound, {counts.get('memory', 0)} memory-bound"]
    return "\n".join(lines)


# ---- the command ---------------------------------------------------------------------------------
def analyze(args) -> int:
    """``einloop analyze``: the table (or JSON) of a workload, with the roofline of ``--arch``."""
    if args.tradeoff:   # docs/fusion.md
        from einloop.report.fused_tradeoff import run_tradeoff
        return run_tradeoff(load_workload(args.workload, batch=args.batch, seq_len=args.seq_len, bits=args.bits), args)
    if args.plot and not args.arch:
        raise SpecError("needs --arch (the roofline is drawn for an architecture)", field="--plot")
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise SpecError(f"cannot save a roofline as {Path(args.plot).suffix or 'a file without suffix'!r}; "
                        "use .png, .svg or .pdf", field="--plot")
    if args.plot:
        _check_plot_path(args.plot)
    wl = load_workload(args.workload, batch=args.batch, seq_len=args.seq_len, bits=args.bits)
    arch = load_architecture(args.arch) if args.arch else None
    table = A.einsum_table(wl, total=True)
    totals = A.totals(wl)
    roof = params = None
    if arch is not None:
        params = roof_params(arch)
        roof = A.roofline(wl, params.peak_macs_per_cycle, params.clock_hz, params.bandwidth_bytes_per_cycle)
    if args.plot:
        from einloop.report.roofline import plot_roofline
        plot_roofline(roof, args.plot, title=f"Roofline of {wl.name} on {params.architecture}")
    if args.json:
        per = table.iloc[:-1]
        if roof is not None:
            extra = [c for c in roof.table.columns if c not in per.columns]
            per = per.copy()
            for c in extra:                        # same Einsums in the same order
                per[c] = roof.table[c].to_numpy()
        out = {"workload": wl.name, "einsums": _records(per), "totals": _plain(totals)}
        out["totals"]["layerwise"] = _records(table.iloc[[-1]])[0]
        if roof is not None:
            out["roofline"] = params.to_dict() | {
                "peak_macs_per_s": roof.peak_macs_per_s, "bandwidth_bytes_per_s": roof.bandwidth_bytes_per_s,
                "ridge": roof.ridge, "total": _plain(roof.total)}
        if args.plot:
            out["plot"] = str(args.plot)
        print(json.dumps(out, indent=2))
    else:
        print(_text(wl, table, totals, roof, params))
        if args.plot:
            print(f"\nroofline written to {args.plot}")
    return 0


def _check_plot_path(plot: str) -> None:
    """The roofline file can be written: a short enough name in an existing folder."""
    path = Path(plot)
    if len(plot) > MAX_PATH_CHARS or any(len(part.encode()) > 255 for part in path.parts):
        raise SpecError(f"file name too long ({len(plot)} characters)", field="--plot")
    folder = path.parent
    if not folder.is_dir():
        raise SpecError(f"folder {shorten(str(folder))} does not exist; create it first", field="--plot")
    if path.is_dir():
        raise SpecError(f"{shorten(plot)} is a folder; give a file name ending in .png, .svg or .pdf",
                        field="--plot")


def _positive_int(text: str) -> int:
    """An argparse type: an integer from 1 to 2**16 (batch, sequence length, bits are count factors)."""
    import argparse
    try:
        v = int(text) if len(text) <= 12 else None
    except ValueError:
        v = None
    if v is None:
        raise argparse.ArgumentTypeError(f"not an integer: {shorten(text)}")
    if not 1 <= v <= MAX_FACTOR:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to {MAX_FACTOR:,} (2**16), got {v}")
    return v


def register(subparsers) -> None:
    """Add the ``analyze`` sub-command to the CLI."""
    p = subparsers.add_parser(
        "analyze", help="per-Einsum MACs, tensor sizes, intensity and minimum traffic; roofline with --arch",
        description="Analyze a workload without a mapping: MACs, tensor sizes (elements, bytes), operational "
                    "intensity and minimum off-chip traffic per Einsum; with --arch, the roofline of that "
                    "architecture.")
    p.add_argument("workload", metavar="WORKLOAD",
                   help="einloop YAML file with a 'workload:' section, or a zoo name (e.g. resnet50, zoo:vgg16)")
    p.add_argument("--arch", metavar="ARCH", help="architecture YAML: adds the roofline (peak, bandwidth, bound)")
    p.add_argument("--plot", metavar="FILE", help="write the roofline figure (.png, .svg or .pdf); needs --arch")
    p.add_argument("--batch", type=_positive_int, metavar="N", help="batch size (zoo workloads; default 1)")
    p.add_argument("--seq-len", type=_positive_int, metavar="N",
                   help="sequence / KV-cache length (zoo transformers; default: the model's context)")
    p.add_argument("--bits", type=_positive_int, metavar="N", help="bits of every tensor (zoo workloads; default 8)")
    p.add_argument("--json", action="store_true", help="print the data as JSON records")
    p.add_argument("--tradeoff", action="store_true", help="minimum DRAM traffic vs buffer size, fused and layer "
                                                             "by layer (docs/fusion.md); --plot F draws it")
    p.set_defaults(run=analyze)


__all__ = ["RoofParams", "analyze", "load_architecture", "load_workload", "register", "roof_params"]
