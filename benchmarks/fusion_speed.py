"""Fused mapper speed and result: the issue-19 problems, fused vs layer by layer.

    python benchmarks/fusion_speed.py [--only chain256|gpt3|resnet18] [--time-limit S]

Prints one row per problem: work (MACs), seconds of ``map_fused``, fused and layer-by-layer energy
and DRAM traffic (words read plus written at the outermost level), and the fusion groups found.
Targets (issue 19, 2 cores): chain256 <= 1.5 s, gpt3 <= 25 s, resnet18 <= 60 s.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from einloop import api  # noqa: E402
from einloop.mapper.fused import map_fused  # noqa: E402
from einloop.report.fused import fmt_table  # noqa: E402
from einloop.report.fused_map import dram_words  # noqa: E402
from einloop.spec.arch import Storage  # noqa: E402
from einloop.workloads import zoo  # noqa: E402

TPU = ROOT / "examples/arch/tpu_like.yaml"
EYERISS = ROOT / "examples/arch/eyeriss_like.yaml"


def problems():
    """(name, workload, architecture, target seconds)."""
    chain = api.load([str(ROOT / "examples/fused/matmul_chain_tpu.yaml"), str(TPU)])
    tpu, eyeriss = api.load([str(TPU)]).arch, api.load([str(EYERISS)]).arch
    return [("chain256", chain.workload, chain.arch, 1.5),
            ("gpt3", zoo.get("gpt3_6.7b_prefill", seq_len=2048), tpu, 25.0),
            ("resnet18", zoo.get("resnet18"), eyeriss, 60.0)]


def row(name, wl, arch, target, time_limit):
    """One problem mapped fused; its table row."""
    t0 = time.perf_counter()
    net = map_fused(wl, arch, time_limit=time_limit)
    seconds = time.perf_counter() - t0
    top = next(n.name for n in arch.nodes if isinstance(n, Storage))
    traffic = lambda groups: sum(dram_words(e, top) for g in groups if g.result for e in g.result.per_einsum)
    fused = [" ".join(g.einsums) for g in net.groups if len(g.einsums) > 1]
    return [name, arch.name, sum(e.macs for e in wl.einsums), round(seconds, 1), target,
            net.total("energy") / 1e6, net.total("energy", True) / 1e6, traffic(net.groups),
            traffic(net.layer_by_layer), "; ".join(fused) or "(none)"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="run only this problem (repeatable)")
    ap.add_argument("--time-limit", type=float, default=1.0, help="seconds per fused single-Einsum search")
    args = ap.parse_args()
    rows = []
    for name, wl, arch, target in problems():
        if args.only and name not in args.only:
            continue
        rows.append(row(name, wl, arch, target, args.time_limit))
        print(f"{name}: done in {rows[-1][3]} s", file=sys.stderr, flush=True)
    print(fmt_table(["problem", "arch", "MACs", "seconds", "target s", "fused uJ", "unfused uJ", "fused DRAM words",
                     "unfused DRAM words", "fused groups"], rows))


if __name__ == "__main__":
    main()
