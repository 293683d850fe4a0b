"""``einloop sweep`` (run or resume a sweep, export its table) and ``einloop plot``."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    """Add the sweep and plot sub-commands."""
    s = sub.add_parser("sweep", help="run (or --resume) a design-space sweep; results in a SQLite store")
    s.add_argument("file", help="sweep YAML (docs/sweeps.md)")
    s.add_argument("--store", help="SQLite file (default: the sweep file with .sqlite)")
    s.add_argument("--resume", action="store_true", help="continue a stored sweep: finished points are kept")
    s.add_argument("--overwrite", action="store_true", help="delete the store first")
    s.add_argument("--workers", type=int, help="points side by side (default 2: both cores)")
    s.add_argument("--backend", choices=["local", "ray"], default="local")
    s.add_argument("--ray-address", help="a running Ray cluster (default: start a local one)")
    s.add_argument("--export", action="append", default=[], help="also write the table (.csv or .parquet)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=run)
    p = sub.add_parser("plot", help="plot a sweep store (curve, pareto, layers, breakdown) as PNG/SVG/PDF")
    p.add_argument("kind", choices=["curve", "pareto", "layers", "breakdown"])
    p.add_argument("store", nargs="+", help="a sweep's SQLite store; for breakdown also an evaluation's YAML "
                                            "files (workload, architecture, mapping: as for einloop eval)")
    p.add_argument("-o", "--output", required=True, help="the plot file (.png, .svg or .pdf)")
    p.add_argument("--x", help="curve: a parameter column; pareto: default cycles")
    p.add_argument("--y", help="curve: default pJ_per_mac; pareto: default energy; layers: default energy")
    p.add_argument("--by", help="curve: one line per value of this column; breakdown: level|tensor|action")
    p.add_argument("--point", type=int, default=0, help="layers / breakdown: the point's index")
    p.add_argument("--layer", type=int, default=0, help="breakdown: the layer's index")
    p.set_defaults(run=plot)


def run(args) -> int:
    """Run or resume the sweep, export its table; exit 1 if a point has a layer with no valid mapping."""
    from einloop.sweep import export, read_table, run_sweep

    r = run_sweep(args.file, args.store, resume=args.resume, overwrite=args.overwrite, workers=args.workers,
                  backend=args.backend, ray_address=args.ray_address, progress=not args.quiet)
    print(f"{r.store}: {r.computed} point(s) computed, {r.skipped} already stored")
    for out in args.export:
        print(f"wrote {export(r.store, out)}")
    points = read_table(r.store, "point")
    failed = points["energy"].isna().sum()
    if failed:
        print(f"einloop: {failed} point(s) have a layer with no valid mapping (energy empty)", file=sys.stderr)
    return 0 if not failed else 1


def plot(args) -> int:
    """Plot a stored sweep: a curve over a parameter, a Pareto front, per-layer bars or a breakdown."""
    from einloop.errors import SpecError
    from einloop.report import plots
    from einloop.sweep import read_table

    if args.kind == "breakdown" and all(Path(f).suffix in (".yaml", ".yml") for f in args.store):
        from einloop import api
        result = api.evaluate_spec(api.load(args.store))
        print(f"wrote {plots.save(plots.energy_breakdown(result, args.by or 'level'), args.output)}")
        return 0
    if len(args.store) != 1:
        raise SpecError(f"{args.kind} plots one sweep store, got {len(args.store)} files", field="store")
    args.store = args.store[0]
    if args.kind == "curve":
        if not args.x:
            raise SpecError("curve needs --x (a sweep parameter column)", field="--x")
        table = read_table(args.store, "point")
        table["pJ_per_mac"] = table["energy"] / table["macs"]
        fig = plots.sweep_curve(table, args.x, args.y or "pJ_per_mac", args.by)
    elif args.kind == "pareto":
        fig = plots.pareto(read_table(args.store, "point"), args.x or "cycles", args.y or "energy")
    else:
        layers = read_table(args.store, "layer")
        if args.kind == "layers":
            fig = plots.layer_bars(layers[layers.point_index == args.point], args.y or "energy")
        else:
            data = plots.stored_breakdown(layers, args.point, args.layer)
            fig = plots.energy_breakdown(data, args.by or "level")
    print(f"wrote {plots.save(fig, args.output)}")
    return 0
