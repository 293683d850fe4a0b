"""A fused mapping as a tree: the shared loops on top, then each Einsum's own nest, and a summary."""
from __future__ import annotations

from einloop.model.fused_nest import EinsumNest, FusedPlan
from einloop.model.fused_result import FusedResult
from einloop.spec.arch import Architecture, Compute, Fanout, Storage


def _moves(nest: EinsumNest, i: int) -> str:
    """How shared loop i moves one Einsum's tile: rank, step, extent (and the recomputed overlap)."""
    parts = []
    for rank, t in nest.tiling.items():
        if t.steps[i]:
            overlap = t.extent - t.steps[i]
            parts.append(f"{rank} += {t.steps[i]} (tile {t.extent}" + (f", overlap {overlap} recomputed)"
                                                                        if overlap > 0 else ")"))
    return f"{nest.name}: {', '.join(parts) or 'not moved'}"


def fmt_table(headers: list[str], rows: list[list]) -> str:
    """A text table: columns right-aligned (names left), numbers with thousands separators."""
    def cell(x):
        """A number with separators, anything else as text."""
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}"
        return str(x)
    cells = [headers] + [[cell(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    left = {"einsum", "level", "tensor"}
    out = []
    for k, r in enumerate(cells):
        out.append("  ".join(c.ljust(w) if headers[i] in left else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _shared_lines(fp: FusedPlan, arch: Architecture) -> list[str]:
    lines, depth = [], 0
    for node in arch.nodes:
        mine = [(i, l) for i, l in enumerate(fp.shared) if l.target == node.name]
        if not mine:
            continue
        lines += [node.name, "-" * len(node.name)]
        for i, l in mine:
            pad = "|" + "  " * depth
            lines.append(f"{pad} for {l.rank} in [0:{l.factor}) (shared)")
            lines += [f"{pad}   # {_moves(n, i)}" for n in fp.nests if l.factor > 1]
            depth += 1
        lines.append("")
    return lines


def _tiles(result: FusedResult | None, einsum: str, level: str) -> str:
    if result is None:
        return ""
    return " ".join(f"{t.tensor}:{t.utilized_capacity}" for t in result.einsum(einsum).tensors if t.level == level)


def _einsum_lines(nest: EinsumNest, arch: Architecture, result: FusedResult | None) -> list[str]:
    """One Einsum's levels (its tiles) and own loops, below the shared ones."""
    lines, depth = [], 0
    for node in arch.nodes:
        if isinstance(node, Compute):
            lines.append("|" + "  " * depth + " << Compute >>")
            break
        loops = nest.own_loops(node.name)
        if isinstance(node, Fanout) and not loops:
            continue
        header = f"{node.name} (fanout {node.mesh_x} x {node.mesh_y})" if isinstance(node, Fanout) else \
            f"{node.name} [ {_tiles(result, nest.name, node.name)} ]"
        lines += [header, "-" * len(header)] if loops or isinstance(node, Storage) else []
        for l in loops:
            tag = f" (Spatial-{l.spatial})" if l.spatial else ""
            lines.append("|" + "  " * depth + f" for {l.rank} in [0:{l.factor}){tag}")
            depth += 1
    return lines


def fused_tree(fp: FusedPlan, arch: Architecture, result: FusedResult | None = None) -> str:
    """The fused mapping as text: shared loops (with how each moves every Einsum's tile), then one
    branch per Einsum in execution order, run in turn for every shared tile."""
    head = [f"Fused {' -> '.join(n.name for n in fp.nests)} (halo: {fp.halo}), {fp.shared_steps:,} shared steps",
            ""] + _shared_lines(fp, arch)
    for k, nest in enumerate(fp.nests):
        last = k == len(fp.nests) - 1
        macs = f"{nest.einsum.macs:,} MACs"
        if nest.einsum.macs != nest.original.macs:
            macs += f", {nest.einsum.macs - nest.original.macs:,} recomputed"
        head.append(f"{'`' if last else '|'}-- {nest.name}: {nest.original} ({macs})")
        head += [("    " if last else "|   ") + line for line in _einsum_lines(nest, arch, result)]
        if not last:
            head.append("|")
    return "\n".join(head)


def fused_summary(result: FusedResult) -> str:
    """Totals, per-Einsum table and per-level occupancy in every phase."""
    state = "valid fused mapping" if result.valid else "INVALID fused mapping: " + "; ".join(result.reasons)
    lines = [f"Fused {' -> '.join(result.einsums)} on {result.architecture}: {state}",
             f"  computes {result.computed_macs:,} ({result.recomputed_macs:,} recomputed)   cycles {result.cycles:,}"
             f"   energy {result.energy:,.2f} pJ", ""]
    rows = [[e.einsum, e.macs, e.recomputed_macs, e.cycles, e.energy] for e in result.per_einsum]
    lines += ["Per Einsum", fmt_table(["einsum", "MACs", "recomputed", "cycles", "energy pJ"], rows), ""]
    rows = [[e.einsum, t.level, t.tensor, t.utilized_capacity, t.partition, t.reads, t.fills, t.updates, t.energy]
            for e in result.per_einsum for t in e.tensors]
    lines += ["Per Einsum, level and tensor (counts per instance, energy over all instances, pJ)",
              fmt_table(["einsum", "level", "tensor", "tile", "partition", "reads", "fills", "updates", "energy"],
                         rows), ""]
    rows = [[level] + list(used) + ["-" if result.capacity[level] is None else result.capacity[level]]
            for level, used in result.occupancy.items()]
    lines += ["Occupancy (words per instance during each Einsum's phase)",
              fmt_table(["level"] + [f"during {e}" for e in result.einsums] + ["capacity"], rows)]
    return "\n".join(lines)
