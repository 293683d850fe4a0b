"""How fast is the mapper, and does it prove optimality? Prints one row per problem.

Run: python benchmarks/mapper_speed.py [--time-limit SECONDS] [--skip-network]
Each search uses both cores and the architecture's own dataflow constraints (examples/arch/*.yaml); an
Einsum the dataflow cannot express (the matmul on the Eyeriss-like example) gets the per-level limits
only, as in a network (mapper/network.py: constraints_for).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import einloop
from einloop.mapper.network import constraints_for, map_workload
from einloop.mapper.search import map_einsum
from einloop.spec.workload import Einsum
from einloop.workloads import zoo

EX = Path(__file__).resolve().parents[1] / "examples"
CONV = "O[n,m,p,q] += I[n,c,p*{s}+r,q*{s}+t] * W[m,c,r,t]"


def conv(name, m, c, p, k, stride=1, bits=16):
    return Einsum.parse(CONV.format(s=stride), dict(n=1, m=m, c=c, p=p, q=p, r=k, t=k), name=name,
                        default_bits=bits)


def arch(name):
    spec = einloop.load([EX / f"arch/{name}.yaml"])
    return spec.arch, spec.constraints


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0, help="per Einsum")
    ap.add_argument("--skip-network", action="store_true")
    args = ap.parse_args()
    matmul = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", dict(m=256, n=256, k=256), name="matmul256")
    problems = [(matmul, "two_level"), (matmul, "eyeriss_like"), (matmul, "tpu_like"),
                (conv("resnet50 3x3 56x56 64->64", 64, 64, 56, 3), "eyeriss_like"),
                (conv("resnet50 1x1 56x56 64->256", 256, 64, 56, 1), "eyeriss_like"),
                (conv("resnet50 3x3/2 28x28 128->128", 128, 128, 28, 3, stride=2), "eyeriss_like"),
                (conv("vgg16 3x3 56x56 128->256", 256, 128, 56, 3), "eyeriss_like")]
    head = f"{'problem':34s} {'arch':13s} {'mapspace':>13s} {'evaluated':>11s} {'seconds':>8s} " \
           f"{'best energy pJ':>16s} {'cycles':>12s}  optimal"
    print(head)
    print("-" * len(head))
    for einsum, arch_name in problems:
        a, cons = arch(arch_name)
        cons, _ = constraints_for(einsum, a, cons)   # row-stationary needs a convolution: per-level limits for the matmul
        start = time.perf_counter()
        r = map_einsum(einsum, a, cons, time_limit=args.time_limit, workers=2)
        sec = time.perf_counter() - start
        e = f"{r.result.energy:16,.0f}" if r.result else f"{'-':>16s}"
        c = f"{r.result.cycles:12,d}" if r.result else f"{'-':>12s}"
        print(f"{einsum.name:34s} {arch_name:13s} {r.stats.mapspace:13,d} {r.stats.evaluated:11,d} {sec:8.2f} "
              f"{e} {c}  {'yes' if r.stats.proven_optimal else 'no (time limit)'}", flush=True)
    if not args.skip_network:
        a, cons = arch("eyeriss_like")
        net = zoo.get("resnet50", batch=1, bits=16)
        start = time.perf_counter()
        result = map_workload(net, a, cons, time_limit=args.time_limit, workers=2)
        sec = time.perf_counter() - start
        searched = len(result.layers) - len(result.reused)
        print(f"{'resnet50 whole (' + str(len(result.layers)) + ' layers, ' + str(searched) + ' shapes)':34s} "
              f"{'eyeriss_like':13s} {sum(l.stats.mapspace for l in result.layers):13,d} "
              f"{sum(l.stats.evaluated for l in result.layers):11,d} {sec:8.2f} {result.energy:16,.0f} "
              f"{result.cycles:12,d}  {'yes' if result.proven_optimal else 'no (time limit)'}")


if __name__ == "__main__":
    main()
