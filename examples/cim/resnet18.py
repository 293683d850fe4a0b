"""ResNet-18 (batch 1, 4-bit) on eight Sinangil JSSC'21 macros: a per-layer table and the wall time.

    python examples/cim/resnet18.py [--workers N]
"""
import argparse
import sys
from pathlib import Path

from einloop.model.cim_network import map_network
from einloop.spec.cim import load_cim
from einloop.workloads import zoo


def main(argv=None) -> int:
    """Map every convolution and the classifier, print the table and the time taken."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per layer shape")
    args = ap.parse_args(argv)
    spec = load_cim(Path(__file__).with_name("sinangil_tiled.yaml"))
    run = map_network(zoo.get("resnet18", bits=4), spec, time_limit=args.time_limit, workers=args.workers)
    print(run.table())
    print(f"skipped (outside the macro): {len(run.skipped)} element-wise Einsums; {run.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
