"""The Timeloop mapper exercise with its own constraints (tl06, Eyeriss-like, VGG02 layer 5),
unchanged: einloop map answers within its 10 s limit with a mapping no worse than Timeloop's, says it
is not proven optimal, and einloop eval of the mapping it writes gives the same energy."""
import json
import subprocess
import sys
import time

import pytest

from conftest import ROOT, reference_case

TIMELOOP_PJ = 2_764_376_744.78   # CASE.md: Timeloop's mapper (random_pruned, victory condition 500)


def test_tl06_mapper_beats_timeloop_within_10_s_and_eval_agrees(tmp_path):
    case = reference_case("tl06_mapper_eyeriss_constrained")
    inputs = [str(case / "parsed-processed-input.yaml"), str(case / "timeloop-mapper.ERT.yaml")]
    saved = tmp_path / "found.yaml"
    start = time.time()
    done = subprocess.run([sys.executable, "-m", "einloop.cli", "map", "--format", "timeloop", *inputs,
                           "--time-limit", "10", "--json", "--save-mapping", str(saved)],
                          cwd=ROOT, capture_output=True, timeout=120)
    took = time.time() - start
    assert done.returncode == 0, done.stderr.decode()
    layer = json.loads(done.stdout)["einsums"][0]
    energy = layer["result"]["energy"]
    assert energy <= TIMELOOP_PJ
    # 10 s + max(1 s, 5%) promised; 3 s more allowed for this shared, noisy machine
    assert took <= 10 + 1 + 3
    # proven or not, the answer says which (the group bounds alone take minutes here: not proven)
    assert layer["search"]["proven_optimal"] or layer["search"]["stopped"] == "time limit reached"
    again = subprocess.run([sys.executable, "-m", "einloop.cli", "eval", *inputs, str(saved), "--json"],
                           cwd=ROOT, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    assert json.loads(again.stdout)["energy"] == pytest.approx(energy, rel=1e-12)
