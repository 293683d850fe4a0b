"""``einloop eval`` on files with a ``fused_mapping:`` section: evaluate it, print the tree and tables."""
from __future__ import annotations

import json
import sys

from einloop.errors import SpecError
from einloop.model.fused import evaluate_fused
from einloop.model.fused_nest import plan_fused
from einloop.report.fused import fused_summary, fused_tree


def run_eval(spec, args) -> int:
    """Evaluate ``spec.fused_mapping``; exit code 0 if it fits, 1 if a buffer or fanout overflows."""
    for what, value in (("workload", spec.workload), ("architecture", spec.arch)):
        if value is None:
            raise SpecError(f"no '{what}' section in the given files ({', '.join(sorted(set(spec.files.values())))})")
    if spec.mapping is not None:
        raise SpecError("give either 'mapping' (one Einsum) or 'fused_mapping', not both",
                        file=spec.files.get("fused_mapping"))
    ignored = []
    if getattr(args, "einsum", None):
        ignored.append(f"--einsum {args.einsum} is ignored: the fused mapping names its Einsums")
    for note in ignored:
        print(f"einloop: note: {note}", file=sys.stderr)
    fp = plan_fused(spec.workload, spec.arch, spec.fused_mapping)
    result = evaluate_fused(spec.workload, spec.arch, spec.fused_mapping, reuse_rule=args.reuse_rule)
    result.tree = fused_tree(fp, spec.arch, result)
    if args.json:
        print(json.dumps({**result.to_dict(), "tree": result.tree, "ignored": ignored}, indent=2))
    else:
        print(result.tree)
        print()
        print(fused_summary(result))
    return 0 if result.valid else 1
