"""Does every zoo network evaluate and map on the Eyeriss-like example? Prints one row per network.

Run: python benchmarks/zoo_mapping.py [--time-limit SECONDS_PER_EINSUM] [--networks a,b,...]
Each Einsum is mapped under the architecture's row-stationary constraints (layers it cannot express,
such as fully connected layers and attention, under its per-level limits only), identical shapes once.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import einloop
from einloop.mapper.network import map_workload
from einloop.workloads import zoo

EX = Path(__file__).resolve().parents[1] / "examples"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=4.0, help="per distinct Einsum shape")
    ap.add_argument("--networks", default=",".join(zoo.names()))
    args = ap.parse_args()
    spec = einloop.load([EX / "arch/eyeriss_like.yaml"])
    head = f"{'network':22s} {'einsums':>7s} {'shapes':>6s} {'mapped':>6s} {'seconds':>8s} {'energy uJ':>12s} " \
           f"{'cycles':>14s} {'pJ/MAC':>7s}  notes"
    print(head)
    print("-" * len(head))
    for name in args.networks.split(","):
        net = zoo.get(name, batch=1, bits=16)
        start = time.perf_counter()
        result = map_workload(net, spec.arch, spec.constraints, time_limit=args.time_limit, workers=2)
        sec = time.perf_counter() - start
        mapped = sum(1 for r in result.layers if r.result is not None and r.result.valid)
        macs = sum(r.einsum.macs for r in result.layers)
        notes = sum(1 for r in result.layers if r.note)
        print(f"{name:22s} {len(result.layers):7d} {len(result.layers) - len(result.reused):6d} {mapped:6d} "
              f"{sec:8.1f} {result.energy / 1e6:12,.1f} {result.cycles:14,d} {result.energy / macs:7.2f}  "
              f"{notes} without row-stationary", flush=True)


if __name__ == "__main__":
    main()
