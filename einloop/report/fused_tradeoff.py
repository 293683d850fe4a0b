"""``einloop analyze WORKLOAD --tradeoff [--plot F]``: the Orojenesis table and its log-log plot."""
from __future__ import annotations

import json

from einloop.errors import SpecError
from einloop.mapper.fused_tradeoff import TradeoffPoint, tradeoff
from einloop.report.fused import fmt_table


def plot_tradeoff(points: list[TradeoffPoint], path: str, title: str) -> None:
    """Minimum DRAM traffic vs buffer size, fused and layer by layer, both axes logarithmic."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    x = [p.buffer_words for p in points]
    ax.step(x, [p.unfused_words for p in points], where="post", label="layer by layer", marker="o")
    ax.step(x, [p.fused_words for p in points], where="post", label="fused", marker="s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("on-chip buffer [words]")
    ax.set_ylabel("minimum DRAM traffic [words]")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_tradeoff(wl, args) -> int:
    """Print (or write as JSON) the trade-off of a loaded workload; plot it when --plot is given."""
    if args.arch:
        raise SpecError("--tradeoff uses its own DRAM -> buffer -> MAC architecture; drop --arch", field="--arch")
    if args.plot and not str(args.plot).lower().endswith((".png", ".svg", ".pdf")):
        raise SpecError(f"cannot save a plot as {args.plot!r}; use .png, .svg or .pdf", field="--plot")
    points = tradeoff(wl)
    if args.plot:
        plot_tradeoff(points, args.plot, f"{wl.name}: DRAM traffic vs buffer size")
    if args.json:
        print(json.dumps([p.__dict__ for p in points], indent=2, default=list))
        return 0
    print(fmt_table(["buffer words", "fused DRAM words", "layer-by-layer DRAM words", "fused groups", "optimal"],
                    [[p.buffer_words, p.fused_words, p.unfused_words,
                      " | ".join(" ".join(g) for g in p.groups), "yes" if p.proven_optimal else "no"] for p in points]))
    if args.plot:
        print(f"\ntrade-off plot written to {args.plot}")
    return 0
