"""The ``einloop`` command line: eval, map, analyze."""
from __future__ import annotations

import argparse
import json
import os
import sys

from einloop.errors import SpecError
from einloop.spec.limits import shorten


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as a SpecError (one line, exit code 2) instead of exiting."""

    def error(self, message: str):
        raise SpecError(f"{message} (see '{self.prog} --help')")


def _eval(args) -> int:
    from einloop import api
    from einloop.report.loopnest import loop_nest
    from einloop.report.text import summary

    from einloop.report.sparse_cli import is_sparse, run_eval as run_sparse
    from einloop.spec.yamlio import load_merged
    merged = load_merged(args.files)   # read once, for both the sparse and the dense reader
    if is_sparse(merged[0]):   # docs/sparsity.md
        return run_sparse(args, merged)
    spec = api.load(args.files, args.format, merged=merged)
    if getattr(spec, "fused_mapping", None) is not None:   # docs/fusion.md
        from einloop.report.fused_cli import run_eval
        return run_eval(spec, args)
    from einloop.spec.semantics import EXACT
    result = api.evaluate_spec(spec, args.einsum, reuse_rule=args.reuse_rule,
                               semantics=EXACT if args.exact else None)
    for note in result.notes:   # what einloop estimated or ignored, also in the JSON's "notes"
        print(f"einloop: note: {note}", file=sys.stderr)
    for note in spec.ignored:
        print(f"einloop: ignored: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps({**result.to_dict(), **({"ignored": list(spec.ignored)} if spec.ignored else {})}, indent=2))
    else:
        print(loop_nest(spec.arch, spec.mapping, result))
        print(summary(result))
    return 0 if result.valid else 1


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="einloop", description="Model, map and explore tensor-algebra accelerators.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    e = sub.add_parser("eval", help="evaluate a mapping: workload + architecture + mapping YAML (einloop or Timeloop)")
    e.add_argument("files", nargs="+", help="YAML files; sections may be split across files")
    e.add_argument("--format", choices=["auto", "einloop", "timeloop"], default="auto")
    e.add_argument("--einsum", help="which Einsum of the workload (default: the first)")
    e.add_argument("--json", action="store_true", help="print the full result as JSON")
    e.add_argument("--reuse-rule", choices=["2024", "2025"], default="2025",
                   help="Timeloop's stride rule for temporal reuse: 2025 (default, current Timeloop, since commit "
                        "a12fff5) or 2024 (the rule of Timeloop outputs made before 2025)")
    e.add_argument("--exact", action="store_true",
                   help="einloop's exact counts for a Timeloop input (default there: Timeloop's conventions, "
                        "e.g. temporal extrapolation; the JSON's 'semantics' says which)")
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
    try:
        from einloop.report.cim_cli import register as cim   # docs/cim.md
        out.append(cim)
    except ImportError:
        pass
    try:
        from einloop.sweep.cli import register as sweep   # sweep, plot: docs/sweeps.md
        out.append(sweep)
    except ImportError:
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    """Run one command; bad input is one line on stderr and exit code 2, an internal error exit code 3."""
    try:
        args = _parser().parse_args(argv)
        return args.run(args)
    except SpecError as err:
        print(f"einloop: error: {_one_line(str(err))}", file=sys.stderr)
        return 2
    except SystemExit as done:                      # --help and --version
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print("einloop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as err:  # noqa: BLE001 - the net under every cause the fuzz test found and fixed
        print(f"einloop: internal error ({type(err).__name__}): {_one_line(shorten(str(err), 200))}; "
              "this is a bug in einloop, please report it with the input files", file=sys.stderr)
        return 3


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _silence_stdout() -> None:
    """After the reader closed the pipe (``einloop eval --json ... | head``), drop what is left unflushed."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
