"""``einloop map``: the optimal mapping of every Einsum of a workload on an architecture."""
from __future__ import annotations

import json
from dataclasses import asdict


def register(sub) -> None:
    m = sub.add_parser("map", help="find the optimal mapping (energy, cycles, EDP or the Pareto front)")
    m.add_argument("files", nargs="+", help="workload and architecture YAML (einloop or Timeloop); constraints "
                                            "come from a 'constraints:' section in any of them")
    m.add_argument("--constraints", help="an extra constraints YAML file")
    m.add_argument("--objective", choices=["energy", "cycles", "edp", "pareto"], default="energy")
    m.add_argument("--einsum", action="append", help="map only this Einsum (repeatable)")
    m.add_argument("--format", choices=["auto", "einloop", "timeloop"], default="auto")
    m.add_argument("--time-limit", type=float, help="seconds per Einsum; the best so far is returned, not proven optimal")
    m.add_argument("--workers", type=int, default=2, help="processes (default 2: both cores)")
    m.add_argument("--reuse-rule", choices=["2024", "2025"], default="2024")
    m.add_argument("--json", action="store_true", help="print mappings, evaluations and statistics as JSON")
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.add_argument("--fuse", action="store_true", help="search fusion groups and fused mappings (docs/fusion.md)")
    m.add_argument("--max-fused-loops", type=int, default=2, help="with --fuse: shared loops per group (default 2)")
    m.add_argument("--max-fused-einsums", type=int, help="with --fuse: Einsums per group (default: no limit)")
    m.set_defaults(run=run)


def mapping_dict(mapping) -> list[dict]:
    """A mapping in einloop's YAML form (loops outer to inner)."""
    out = []
    for n in mapping.nodes:
        d = {"target": n.target}
        temporal = [f"{l.rank}{l.factor}" for l in n.loops if not l.spatial]
        if temporal:
            d["temporal"] = " ".join(temporal)
        for axis in ("X", "Y"):
            loops = [f"{l.rank}{l.factor}" for l in n.loops if l.spatial == axis]
            if loops:
                d.setdefault("spatial", {})[axis] = " ".join(loops)
        if n.keep is not None:
            d["keep"] = sorted(n.keep)
        out.append(d)
    return out


def run(args) -> int:
    import sys

    from einloop import api
    from einloop.mapper.network import map_workload
    from einloop.report.loopnest import loop_nest
    from einloop.report.text import summary

    files = list(args.files) + ([args.constraints] if args.constraints else [])
    spec = api.load(files, args.format)
    for what, value in (("workload", spec.workload), ("architecture", spec.arch)):
        if value is None:
            from einloop.errors import SpecError
            raise SpecError(f"no '{what}' section in {', '.join(files)}")
    for name in args.einsum or []:
        spec.workload.einsum(name)
    if args.fuse:   # docs/fusion.md
        from einloop.report.fused_map import run_map
        return run_map(spec, args)
    net = map_workload(spec.workload, spec.arch, spec.constraints, einsums=args.einsum,
                       progress=not args.quiet and not args.json and sys.stderr.isatty(), objective=args.objective,
                       time_limit=args.time_limit, workers=args.workers, reuse_rule=args.reuse_rule)
    if args.json:
        print(json.dumps({
            "einsums": [{"einsum": r.einsum.name, "reused_from": net.reused.get(r.einsum.name),
                         "padding": {k: {"bound": b, "padded": p} for k, (b, p) in r.padding.items()},
                         "mapping": mapping_dict(r.mapping) if r.mapping else None,
                         "result": r.result.to_dict() if r.result else None, "search": asdict(r.stats),
                         "pareto": [{"mapping": mapping_dict(m), "energy": res.energy, "cycles": res.cycles}
                                    for m, res in r.pareto]} for r in net.layers],
            "total": {"energy": net.energy, "cycles": net.cycles, "proven_optimal": net.proven_optimal}}, indent=2))
        return 0 if all(r.result for r in net.layers) else 1
    for r in net.layers:
        if r.einsum.name in net.reused:
            continue
        if r.result is None:
            print(f"Einsum {r.einsum.name}: no valid mapping under the constraints "
                  f"({r.stats.tilings:,} tilings fit; check capacities and constraints)")
            continue
        print(loop_nest(spec.arch, r.mapping, r.result))
        for rank, (bound, padded) in r.padding.items():
            print(f"Imperfect factorization: {rank} padded {bound} -> {padded}: the loops run over {padded}, "
                  f"the {padded - bound} padding positions moved and computed as zeros (counted below)")
        print(summary(r.result))
        s = r.stats
        print(f"\nSearch: {s.mapspace:,} mappings in {s.groups - s.groups_pruned:,} of {s.groups:,} "
              f"(dataplacement x spatial) groups; {s.evaluated:,} evaluated, {s.pruned:,} pruned by bound, "
              f"{s.groups_pruned:,} groups pruned whole"
              + (f", {s.groups_skipped:,} too large to enumerate" if s.groups_skipped else "")
              + f"; {s.seconds:.2f} s; "
              + ("optimal under the constraints" if s.proven_optimal else
                 "time limit reached: best found, NOT proven optimal"))
        for m, res in r.pareto:
            print(f"  pareto: energy {res.energy:,.0f} pJ  cycles {res.cycles:,}")
        print()
    if len(net.layers) > 1:
        print(net.table().to_string(index=False))
        print(f"\nTotal: energy {net.energy:,.0f} pJ, cycles {net.cycles:,} "
              f"({'all optimal' if net.proven_optimal else 'not all proven optimal'})")
    return 0 if all(r.result for r in net.layers) else 1
