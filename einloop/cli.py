"""The ``einloop`` command line: eval, map, analyze."""
from __future__ import annotations

import argparse
import json
import sys

from einloop.errors import SpecError


def _eval(args) -> int:
    from einloop import api
    from einloop.report.loopnest import loop_nest
    from einloop.report.text import summary

    spec = api.load(args.files, args.format)
    result = api.evaluate_spec(spec, args.einsum, reuse_rule=args.reuse_rule)
    for note in spec.ignored:
        print(f"einloop: ignored: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps({**result.to_dict(), **({"ignored": list(spec.ignored)} if spec.ignored else {})}, indent=2))
    else:
        print(loop_nest(spec.arch, spec.mapping, result))
        print(summary(result))
    return 0 if result.valid else 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="einloop", description="Model, map and explore tensor-algebra accelerators.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("eval", help="evaluate a mapping: workload + architecture + mapping YAML (einloop or Timeloop)")
    e.add_argument("files", nargs="+", help="YAML files; sections may be split across files")
    e.add_argument("--format", choices=["auto", "einloop", "timeloop"], default="auto")
    e.add_argument("--einsum", help="which Einsum of the workload (default: the first)")
    e.add_argument("--json", action="store_true", help="print the full result as JSON")
    e.add_argument("--reuse-rule", choices=["2024", "2025"], default="2024",
                   help="Timeloop's stride rule for temporal reuse: 2024 (default, as the published references) "
                        "or 2025 (after Timeloop commit a12fff5)")
    e.set_defaults(run=_eval)
    for register in _extensions():
        register(sub)
    return p


def _extensions():
    """Sub-commands that live with their feature (mapper, analysis)."""
    out = []
    try:
        from einloop.mapper.cli import register as mapper
        out.append(mapper)
    except ImportError:
        pass
    try:
        from einloop.workloads.cli import register as analyze
        out.append(analyze)
    except ImportError:
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except SpecError as err:
        print(f"einloop: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("einloop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
