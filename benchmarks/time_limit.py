"""Does ``einloop map --time-limit S`` answer in time? Prints the overshoot per problem and limit.

Run: python benchmarks/time_limit.py [--limits 5 10 30] [--workers 2]
Each row is one ``einloop map`` process, timed from its launch to its exit (imports, loading, the
search and the report included) against the promise: S + max(1 s, 5% of S). The problems are too
large to finish: the VGG-16 layer and a three-layer network on the Eyeriss-like example without its
dataflow constraints, and the Timeloop exercise tl06 (its own constraints) when its folder exists.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
TL06 = ROOT.parent / "shared" / "reference" / "timeloop-cases" / "tl06_mapper_eyeriss_constrained"
CONV = "O[n,m,p,q] += I[n,c,p*{s}+r,q*{s}+t] * W[m,c,r,t]"
LAYERS = {"vgg16_3x3": (256, 128, 56, 3, 1), "resnet50_3x3s2": (128, 128, 28, 3, 2), "resnet50_1x1": (256, 64, 56, 1, 1)}


def workload(names: list[str]) -> str:
    """A workload YAML with the named convolution layers."""
    lines = ["workload:", "  name: layers", "  bits: 16", "  einsums:"]
    for name in names:
        m, c, p, k, s = LAYERS[name]
        lines += [f"    - name: {name}", f'      einsum: "{CONV.format(s=s)}"',
                  f"      ranks: {{n: 1, m: {m}, c: {c}, p: {p}, q: {p}, r: {k}, t: {k}}}"]
    return "\n".join(lines) + "\n"


def problems(tmp: Path) -> list[tuple[str, list[str]]]:
    """(name, arguments of einloop map) per problem."""
    free = tmp / "free.yaml"
    free.write_text("constraints:\n  dataflow: unconstrained\n")
    one, three = tmp / "vgg.yaml", tmp / "three.yaml"
    one.write_text(workload(["vgg16_3x3"]))
    three.write_text(workload(list(LAYERS)))
    out = [("vgg16 3x3 unconstrained", [str(one), str(EX / "arch/eyeriss_like.yaml"), "--constraints", str(free)]),
           ("3 layers unconstrained", [str(three), str(EX / "arch/eyeriss_like.yaml"), "--constraints", str(free)]),
           ("vgg16 3x3 row-stationary", [str(one), str(EX / "arch/eyeriss_like.yaml")])]
    if TL06.is_dir():
        out.append(("tl06 eyeriss constrained", [str(TL06 / "parsed-processed-input.yaml"),
                                                 str(TL06 / "timeloop-mapper.ERT.yaml"), "--format", "timeloop"]))
    return out


def run(args: list[str], limit: float, workers: int) -> tuple[float, dict | None, str]:
    """(wall seconds from launch to exit, the JSON answer, stderr's last line)."""
    start = time.time()
    done = subprocess.run([sys.executable, "-m", "einloop.cli", "map", *args, "--time-limit", str(limit),
                           "--workers", str(workers), "--json"], cwd=ROOT, capture_output=True, timeout=limit * 3 + 60)
    took = time.time() - start
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        answer = None
    err = done.stderr.decode().strip().splitlines()
    return took, answer, err[-1] if err else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limits", type=float, nargs="+", default=[5.0, 10.0, 30.0])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    head = f"{'problem':28s} {'limit s':>8s} {'wall s':>8s} {'over s':>7s} {'allowed':>8s}  {'energy pJ':>18s}  answer"
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        for name, cmd in problems(Path(tmp)):
            for limit in args.limits:
                took, answer, err = run(cmd, limit, args.workers)
                allowed = max(1.0, 0.05 * limit)
                if answer is None:
                    energy, what = "-", f"no JSON: {err[:60]}"
                else:
                    energy = f"{answer['total']['energy']:18,.0f}"
                    what = "proven" if answer["total"]["proven_optimal"] else \
                        ", ".join(sorted({e["search"]["stopped"] or "-" for e in answer["einsums"]}))
                flag = "" if took - limit <= allowed else "  LATE"
                print(f"{name:28s} {limit:8.1f} {took:8.2f} {took - limit:7.2f} {allowed:8.2f}  {energy:>18s}  "
                      f"{what}{flag}", flush=True)


if __name__ == "__main__":
    main()
