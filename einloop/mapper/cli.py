"""``einloop map``: the optimal mapping of every Einsum of a workload on an architecture."""
from __future__ import annotations

import gc
import json
import time
from dataclasses import asdict


def register(sub) -> None:
    m = sub.add_parser("map", help="find the optimal mapping (energy, cycles, EDP or the Pareto front)")
    m.add_argument("files", nargs="+", help="workload and architecture YAML (einloop or Timeloop); constraints "
                                            "come from a 'constraints:' section in any of them")
    m.add_argument("--constraints", help="an extra constraints YAML file")
    m.add_argument("--objective", choices=["energy", "cycles", "edp", "pareto"], default="energy")
    m.add_argument("--einsum", action="append", help="map only this Einsum (repeatable)")
    m.add_argument("--format", choices=["auto", "einloop", "timeloop"], default="auto")
    m.add_argument("--time-limit", type=float, help="seconds for the whole command (its Einsums share them); the "
                                                    "best found is returned, said to be not proven optimal")
    m.add_argument("--effort", type=int, help="search at most N (dataplacement x spatial) groups per Einsum, lowest "
                                              "bounds first: the same answer on any machine (unless a "
                                              "--time-limit given too cuts it first)")
    m.add_argument("--workers", type=int, default=2, help="processes (default 2: both cores)")
    m.add_argument("--reuse-rule", choices=["2024", "2025"], default="2024")
    m.add_argument("--json", action="store_true", help="print mappings, evaluations and statistics as JSON")
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.add_argument("--save-mapping", metavar="FILE", help="write the mapping found as YAML in the input's format "
                                                          "(Timeloop directives for Timeloop inputs), for einloop eval")
    m.add_argument("--fuse", action="store_true", help="search fusion groups and fused mappings (docs/fusion.md)")
    m.add_argument("--max-fused-loops", type=int, default=2, help="with --fuse: shared loops per group (default 2)")
    m.add_argument("--max-fused-einsums", type=int, help="with --fuse: Einsums per group (default: no limit)")
    m.set_defaults(run=run)


def mapping_dict(mapping) -> list[dict]:
    """A mapping in einloop's YAML form (loops outer to inner): mapping_out.einloop_form."""
    from einloop.mapper.mapping_out import einloop_form
    return einloop_form(mapping)


def save_mapping(path: str, files: list[str], spec, net) -> None:
    """The one searched Einsum's mapping as a ``mapping:`` YAML file in the input's format, which
    ``einloop eval`` reads back with the same inputs."""
    import yaml

    from einloop.errors import SpecError
    from einloop.mapper.mapping_out import einloop_form, timeloop_form
    found = [r for r in net.layers if r.einsum.name not in net.reused and r.mapping is not None]
    if len(found) != 1:
        raise SpecError(f"writes one mapping, but {len(found)} Einsums were mapped (choose one with --einsum)",
                        field="--save-mapping")
    r = found[0]
    if spec.format == "timeloop":
        from einloop.api import load_timeloop
        fanout_of = load_timeloop(files).fanout_of
        form = timeloop_form(r.mapping, r.einsum, spec.arch, fanout_of)
    else:
        form = einloop_form(r.mapping)
    try:
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump({"mapping": form}, f, sort_keys=False)
    except OSError as err:
        raise SpecError(f"cannot write the mapping: {err.strerror}", file=path, field="--save-mapping") from err


def no_answer(spec, r) -> str:
    """Why an Einsum got no mapping: proven that none fits (nofit.py says what rules them out), or the
    search stopped first."""
    from einloop.mapper.network import constraints_for
    from einloop.mapper.nofit import why_nothing_fits

    if r.stats.proven_optimal:
        cons = constraints_for(r.einsum, spec.arch, spec.constraints)[0]
        return "no mapping fits: " + why_nothing_fits(r.einsum, spec.arch, cons)
    return f"no mapping found ({r.stats.stopped or 'search stopped'}; not proven that none fits)"


def check_flags(args) -> None:
    """The flags' values, each checked (SpecError naming the flag: exit 2, one line)."""
    import math

    from einloop.errors import SpecError
    if args.time_limit is not None and not (math.isfinite(args.time_limit) and args.time_limit > 0):
        raise SpecError(f"must be a positive number of seconds, not {args.time_limit}", field="--time-limit")
    if args.workers < 1:
        raise SpecError(f"must be at least 1 process, not {args.workers}", field="--workers")
    if args.effort is not None and args.effort < 1:
        raise SpecError(f"must be at least 1 group, not {args.effort}", field="--effort")


def run(args) -> int:
    import sys

    from einloop import api
    from einloop.mapper.lifetime import WorkerFailed, command_start
    from einloop.mapper.network import map_workload

    start = command_start()
    check_flags(args)
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
    try:
        net = map_workload(spec.workload, spec.arch, spec.constraints, einsums=args.einsum,
                           progress=not args.quiet and not args.json and sys.stderr.isatty(),
                           objective=args.objective, workers=args.workers, reuse_rule=args.reuse_rule,
                           deadline=None if args.time_limit is None else start + args.time_limit, effort=args.effort)
    except WorkerFailed as err:
        print(f"einloop: error: a mapper worker failed ({err}); no answer", file=sys.stderr)
        return 1
    if args.save_mapping:
        save_mapping(args.save_mapping, files, spec, net)
    code = report(args, spec, net)
    if time.time() - start > 0.05:   # its own process (the limit counts from its start): the exit's
        # garbage collection of the search's objects took 0.4-0.7 s of the limit's margin; frozen: 0.05
        gc.freeze()
    return code


def report(args, spec, net) -> int:
    """The mappings found, as text or JSON; exit code 0 if every Einsum got one, else 1 (said why)."""
    import sys

    from einloop.report.loopnest import loop_nest
    from einloop.report.text import summary
    if args.json:
        for r in net.layers:
            if r.result is None and r.einsum.name not in net.reused:
                print(f"einloop: Einsum {r.einsum.name}: {no_answer(spec, r)}", file=sys.stderr)
        print(json.dumps({
            "einsums": [{"einsum": r.einsum.name, "reused_from": net.reused.get(r.einsum.name),
                         "padding": {k: {"bound": b, "padded": p} for k, (b, p) in r.padding.items()},
                         "mapping": mapping_dict(r.mapping) if r.mapping else None,
                         "result": r.result.to_dict() if r.result else None, "search": asdict(r.stats),
                         "no_answer": None if r.result else no_answer(spec, r),
                         "pareto": [{"mapping": mapping_dict(m), "energy": res.energy, "cycles": res.cycles}
                                    for m, res in r.pareto]} for r in net.layers],
            "total": {"energy": net.energy, "cycles": net.cycles, "proven_optimal": net.proven_optimal}}, indent=2))
        return 0 if all(r.result for r in net.layers) else 1
    for r in net.layers:
        if r.einsum.name in net.reused:
            continue
        if r.result is None:
            print(f"Einsum {r.einsum.name}: {no_answer(spec, r)}")
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
                 f"{s.stopped or 'search stopped'}: best found, NOT proven optimal"))
        for m, res in r.pareto:
            print(f"  pareto: energy {res.energy:,.0f} pJ  cycles {res.cycles:,}")
        print()
    if len(net.layers) > 1:
        print(net.table().to_string(index=False))
        print(f"\nTotal: energy {net.energy:,.0f} pJ, cycles {net.cycles:,} "
              f"({'all optimal' if net.proven_optimal else 'not all proven optimal'})")
    return 0 if all(r.result for r in net.layers) else 1
