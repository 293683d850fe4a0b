"""How fast is the model? Evaluations per second for one mapping and for a batch of mappings.

Problem: the ResNet-50 3x3 conv layer (examples/workloads/conv.yaml) on the Eyeriss-like example.
Run: python benchmarks/model_speed.py
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import einloop
from einloop.model.evaluate import evaluate_batch
from einloop.model.nest import build_structure, structure_of

EX = Path(__file__).resolve().parents[1] / "examples"


def random_factors(rng, ranks: dict[str, int], slots: list[str], n: int) -> np.ndarray:
    """[n, len(slots)]: every rank's prime factors dealt at random to that rank's slots."""
    out = np.ones((n, len(slots)), np.int64)
    for rank, bound in ranks.items():
        mine = [i for i, r in enumerate(slots) if r == rank]
        primes, p, b = [], 2, bound
        while b > 1:
            while b % p == 0:
                primes.append(p)
                b //= p
            p += 1
        for prime in primes:
            pick = rng.integers(0, len(mine), n)
            out[np.arange(n), np.array(mine)[pick]] *= prime
    return out


def timed(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    spec = einloop.load([EX / "workloads/conv.yaml", EX / "arch/eyeriss_like.yaml",
                         EX / "mappings/conv_eyeriss_like.yaml"])
    einsum, arch, mapping = spec.workload.einsum(), spec.arch, spec.mapping
    rows = []
    t = timed(lambda: einloop.evaluate(einsum, arch, mapping), 50)
    result = einloop.evaluate(einsum, arch, mapping)
    rows.append(("conv3x3 / eyeriss-like, evaluate() one mapping", 1, t, result.energy))
    s, f = structure_of(einsum, arch, mapping)
    t = timed(lambda: evaluate_batch(s, f), 50)
    rows.append(("conv3x3 / eyeriss-like, core model one mapping", 1, t, float(evaluate_batch(s, f).energy[0])))
    # A template with a slot for every rank at every storage level, spatial slots as in the example.
    loops = [(i, l.rank, l.spatial) for i, node in enumerate(arch.nodes)
             for l in mapping.for_node(node.name).loops]
    for i, node in enumerate(arch.nodes):
        if isinstance(node, einloop.Storage):
            loops += [(i, r, None) for r in einsum.ranks if (i, r, None) not in loops]
    loops.sort(key=lambda x: x[0])
    template = build_structure(einsum, arch, loops, s.kept)
    rng = np.random.default_rng(0)
    for n in (1_000, 10_000, 100_000):
        factors = random_factors(rng, einsum.ranks, [r for _, r, _ in loops], n)
        t = timed(lambda: evaluate_batch(template, factors), 1 if n >= 100_000 else 3)
        c = evaluate_batch(template, factors)
        best = float(c.energy[c.valid].min()) if c.valid.any() else float("nan")
        rows.append((f"conv3x3 / eyeriss-like, batch of random tilings", n, t, best))
    print(f"{'problem':52s} {'mappings':>9s} {'seconds':>10s} {'evals/s':>12s} {'best energy pJ':>16s}")
    for name, n, t, e in rows:
        print(f"{name:52s} {n:9,d} {t:10.5f} {n / t:12,.0f} {e:16,.0f}")


if __name__ == "__main__":
    main()
