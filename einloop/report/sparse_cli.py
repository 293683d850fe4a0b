"""``einloop eval`` on sparse inputs (a ``sparsity:`` section, or Sparseloop's ``sparse_optimizations``):
the sparse evaluation (docs/sparsity.md) printed beside the dense one it starts from."""
from __future__ import annotations

import json

from einloop.spec.semantics import EXACT
from einloop.model.sparse import evaluate_sparse
from einloop.report.loopnest import loop_nest
from einloop.spec.sparse_load import load_sparse


def is_sparse(doc: dict) -> bool:
    """Whether merged input files ask for a sparse evaluation."""
    sparse = doc.get("sparse_optimizations")
    return "sparsity" in doc or (isinstance(sparse, dict) and bool(sparse.get("targets")))


def sparse_summary(r) -> str:
    """Totals of the sparse result next to the dense ones, then the per-action table."""
    c, d = r.computes, r.dense
    lines = [f"Sparse evaluation: {'valid' if r.valid else 'INVALID: ' + '; '.join(r.reasons)}",
             f"  computes {c.random:,.0f} performed of {c.algorithmic:,.0f} dense "
             f"(gated {c.gated:,.0f}, skipped {c.skipped:,.0f})",
             f"  cycles {r.cycles:,} (dense {d.cycles:,})   energy {r.energy:,.2f} pJ (dense {d.energy:,.2f} pJ)",
             f"  {r.energy_per_algorithmic_compute:.4f} pJ per dense compute   utilization {100 * r.utilization:.2f} %",
             "", "Per level, tensor and action (counts per instance; energy over all instances, pJ)",
             r.action_table().to_string(float_format=lambda x: f"{x:,.2f}")]
    return "\n".join(lines)


def run_eval(args, merged: tuple[dict, dict]) -> int:
    """Evaluate the files (read already: ``merged``) sparse; exit code 0 if the mapping is valid, 1 if not."""
    inputs = load_sparse(args.files, args.einsum, merged=merged)
    result = evaluate_sparse(inputs.einsum, inputs.arch, inputs.mapping, inputs.sparsity,
                             reuse_rule=args.reuse_rule, semantics=EXACT if args.exact else None)
    if args.json:
        print(json.dumps({**result.to_dict(), "dense": result.dense.to_dict()}, indent=2))
    else:
        print(loop_nest(inputs.arch, inputs.mapping, result.dense))
        print(sparse_summary(result))
    return 0 if result.valid else 1
