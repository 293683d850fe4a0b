"""``einloop map --fuse``: the best fusion groups and fused mappings, per group and per layer beside the
layer-by-layer result (energy, cycles, DRAM traffic)."""
from __future__ import annotations

import json
import sys

from einloop.errors import SpecError
from einloop.mapper.fused import FusedMapResult, GroupResult, map_fused
from einloop.model.fused_nest import plan_fused
from einloop.model.fused_result import FusedEinsumResult
from einloop.report.fused import fmt_table, fused_summary, fused_tree
from einloop.spec.arch import Storage


def dram_words(e: FusedEinsumResult, top: str) -> float:
    """Words one fused Einsum moves at the outermost level: reads plus updates (writes)."""
    return sum(t.reads + t.updates for t in e.tensors if t.level == top)


def layer_rows(net: FusedMapResult, top: str) -> list[list]:
    """Per Einsum: its group, fused energy, cycles, DRAM words, and the same layer by layer."""
    single = {g.einsums[0]: g.result.per_einsum[0] for g in net.layer_by_layer if g.result}
    rows = []
    for k, g in enumerate(net.groups):
        for e in (g.result.per_einsum if g.result else []):
            s = single.get(e.einsum)
            rows.append([e.einsum, k + 1, e.energy, e.cycles, dram_words(e, top),
                         s.energy if s else "-", s.cycles if s else "-", dram_words(s, top) if s else "-"])
    return rows


def group_row(k: int, g: GroupResult, top: str) -> list:
    """One group: its Einsums, shared loops, energy, cycles, DRAM words."""
    shared = " ".join(f"{l.rank}{l.factor}" for l in g.mapping.shared) if g.mapping else "-"
    r = g.result
    return [k + 1, " ".join(g.einsums), shared or "(none)", r.energy if r else "-", r.cycles if r else "-",
            sum(dram_words(e, top) for e in r.per_einsum) if r else "-"]


def to_json(net: FusedMapResult, top: str) -> dict:
    """The groups with their results, the layer-by-layer totals, and whether it is proven optimal."""
    return {"groups": [{"einsums": list(g.einsums), "shared": [l.__dict__ for l in g.mapping.shared],
                        "nests": {n: [{"target": nm.target, "temporal": " ".join(f"{l.rank}{l.factor}" for l in nm.loops),
                                       "keep": sorted(nm.keep or ())} for nm in m.nodes]
                                  for n, m in g.mapping.nests.items()},
                        "result": g.result.to_dict()} for g in net.groups if g.mapping],
            "fused": {"energy": net.total("energy"), "cycles": net.total("cycles")},
            "layer_by_layer": {"energy": net.total("energy", True), "cycles": net.total("cycles", True)},
            "rows": layer_rows(net, top), "proven_optimal": net.proven_optimal, "seconds": net.seconds,
            "notes": net.notes}


def run_map(spec, args) -> int:
    """Search the fusion groups and fused mappings of the workload; print them and the comparison."""
    for what, value in (("workload", spec.workload), ("architecture", spec.arch)):
        if value is None:
            raise SpecError(f"no '{what}' section in the given files")
    if getattr(spec, "fused_mapping", None) is not None:
        print("einloop: note: the fused_mapping in the given files is ignored: --fuse searches its own",
              file=sys.stderr)
    net = map_fused(spec.workload, spec.arch, spec.constraints, einsums=args.einsum,
                    max_fused_loops=args.max_fused_loops, max_fused_einsums=args.max_fused_einsums,
                    objective=args.objective, reuse_rule=args.reuse_rule, time_limit=args.time_limit)
    top = next(n.name for n in spec.arch.nodes if isinstance(n, Storage))
    for note in net.notes:
        print(f"einloop: note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(to_json(net, top), indent=2, default=str))
        return 0 if all(g.result for g in net.groups) else 1
    for g in net.groups:
        if g.mapping is None:
            print(f"Group {' '.join(g.einsums)}: no valid fused mapping")
            continue
        fp = plan_fused(net.workload, spec.arch, g.mapping)
        print(fused_tree(fp, spec.arch, g.result))
        print()
        print(fused_summary(g.result))
        print()
    print("Fusion groups")
    print(fmt_table(["group", "einsum", "shared", "energy [pJ]", "cycles", f"{top} words"],
                    [group_row(k, g, top) for k, g in enumerate(net.groups)]))
    print()
    print("Per layer: fused vs layer by layer")
    print(fmt_table(["einsum", "group", "energy [pJ]", "cycles", f"{top} words", "alone: energy [pJ]",
                     "alone: cycles", f"alone: {top} words"], layer_rows(net, top)))
    print(f"\nTotal: fused {net.total('energy'):,.0f} pJ, {net.total('cycles'):,.0f} cycles; layer by layer "
          f"{net.total('energy', True):,.0f} pJ, {net.total('cycles', True):,.0f} cycles; {net.seconds:.2f} s; "
          + ("optimal in the fused mapspace (docs/fusion.md)" if net.proven_optimal else
             "some groups' spaces were too large to search: NOT proven optimal"))
    return 0 if all(g.result for g in net.groups) else 1
