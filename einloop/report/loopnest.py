"""The mapping as a loop nest, each storage level annotated with its tiles (values per instance)."""
from __future__ import annotations

from einloop.model.result import Result
from einloop.spec.arch import Architecture, Compute, Fanout
from einloop.spec.mapping import Mapping


def loop_nest(arch: Architecture, mapping: Mapping, result: Result | None = None) -> str:
    lines: list[str] = []
    depth = 0
    for node in arch.nodes:
        if isinstance(node, Compute):
            lines.append("|" + "  " * depth + " << Compute >>")
            break
        if isinstance(node, Fanout):
            header = f"{node.name} (fanout {node.mesh_x} x {node.mesh_y})"
        else:
            tiles = []
            if result is not None:
                tiles = [f"{t.tensor}:{t.utilized_capacity}" for t in result.tensors if t.level == node.name]
            header = f"{node.name} [ {' '.join(tiles)} ]"
        loops = [l for l in mapping.for_node(node.name).loops if l.factor > 1]
        lines += [header, "-" * len(header)] if loops or not isinstance(node, Fanout) else []
        for l in loops:
            tag = f" (Spatial-{l.spatial})" if l.spatial else ""
            lines.append("|" + "  " * depth + f" for {l.rank} in [0:{l.factor}){tag}")
            depth += 1
        if loops or not isinstance(node, Fanout):
            lines.append("")
    return "\n".join(lines)
