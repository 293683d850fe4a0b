"""Fuzz test: mutated examples and Timeloop inputs through ``einloop.cli.main`` in-process.

Every case ends with exit 0 and a valid result, exit 1 with the reason (an invalid mapping, no
mapping fits), or exit 2 with one line naming an input file; never a traceback or an internal
error (exit 3), never longer than PER_CASE_SECONDS. The default profile ("fuzz-ci", derandomized:
the same cases every run) runs 2,130 mutations (1,500 evals of mutated examples, 200 of Timeloop
inputs, 250 string edits, 150 flag sets, 30 map runs) in 60-100 s on one core (the slower figure on
this shared machine under load); EINLOOP_FUZZ=long runs ten times as many, freshly drawn.
"""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from einloop.cli import main
from fuzz_inputs import NATIVE_SEEDS, Seed, mutated_file, timeloop_seeds

PER_CASE_SECONDS = 10.0
#: Python's own words, which mean an internal error leaked into a message
INTERNAL = ("NoneType", "object has no attribute", "object is not", "unhashable type", "not supported between",
            "unsupported operand", "takes no arguments", "positional argument", "list index out of range")
_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("fuzz-ci", max_examples=1, **_COMMON)
settings.register_profile("fuzz-long", max_examples=10, **(_COMMON | {"derandomize": False}))
SCALE = 10 if os.environ.get("EINLOOP_FUZZ") == "long" else 1
PROFILE = settings.get_profile("fuzz-long" if SCALE > 1 else "fuzz-ci")


@dataclass(frozen=True)
class Outcome:
    """What one CLI run printed and returned."""

    code: int
    out: str
    err: str
    seconds: float


def run_cli(argv: list[str]) -> Outcome:
    """``einloop.cli.main(argv)`` with stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def check(outcome: Outcome, files: list[str], *, what: str = "") -> None:
    """The fuzz contract: 0 and a valid result, 1 with its reason, or 2 with one line naming a file."""
    context = f"{what}\nexit {outcome.code}\nstderr: {outcome.err[:2000]}"
    assert "Traceback" not in outcome.err, context
    assert outcome.seconds < PER_CASE_SECONDS, f"took {outcome.seconds:.1f} s\n{context}"
    if outcome.code in (0, 1) and outcome.out.lstrip().startswith("{"):
        _check_result(json.loads(outcome.out), outcome.code, context)
    elif outcome.code == 2:
        lines = outcome.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("einloop: error: "), context
        assert any(f in lines[0] for f in files), f"no file named\n{context}"
        assert len(lines[0]) < 1500, f"message too long\n{context}"
        assert not any(t in lines[0] for t in INTERNAL), f"an internal error shown as a message\n{context}"
    else:
        assert outcome.code in (0, 1), context


def _check_result(result: dict, code: int, context: str) -> None:
    """An eval result: finite, non-negative numbers; exit 1 exactly when it is invalid, with reasons."""
    assert result["valid"] == (code == 0), context
    if code == 1:
        assert result["reasons"], context
        return
    for key in ("energy", "cycles", "computes", "area", "utilization"):
        value = result[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value >= 0, (key, value, context)
    assert result["cycles"] >= 1 and 0 < result["utilization"] <= 1 + 1e-9, context


def _fuzz_one(seed: Seed, which: int, data: bytes, folder: Path, extra: list[str]) -> None:
    """Replace file ``which`` of ``seed`` by ``data`` and run ``einloop eval`` on the set."""
    target = folder / f"mutated-{seed.files[which].name}"
    target.write_bytes(data)
    files = [str(target if i == which else f) for i, f in enumerate(seed.files)]
    outcome = run_cli(["eval", *files, "--json", *extra])
    event(f"exit {outcome.code}")
    check(outcome, files, what=f"{seed.name}: {target.name}\n{data[:3000]!r}")


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory(prefix="einloop-fuzz-") as d:
        yield Path(d)


def test_seeds_evaluate_cleanly():
    """The unmutated seeds are valid inputs (so a mutation's outcome is the mutation's doing)."""
    for seed in NATIVE_SEEDS + timeloop_seeds():
        files = [str(f) for f in seed.files]
        outcome = run_cli(["eval", *files, "--json"])
        notes = [l for l in outcome.err.splitlines() if not l.startswith(("einloop: note: ", "einloop: ignored: "))]
        assert outcome.code == 0 and notes == [], (seed.name, outcome.err)
        check(outcome, files)


@pytest.mark.parametrize("seed", NATIVE_SEEDS, ids=lambda s: s.name)
@settings(PROFILE, max_examples=500 * SCALE)
@given(data=st.data())
def test_fuzz_native_eval(folder, seed, data):
    """einloop's own workload, architecture and mapping files, one mutated at a time."""
    which = data.draw(st.integers(0, len(seed.files) - 1), label="file")
    _fuzz_one(seed, which, data.draw(mutated_file(seed.files[which]), label="bytes"), folder, [])


def _fuzz_timeloop(folder: Path, data) -> None:
    seeds = timeloop_seeds()
    if not seeds:
        pytest.skip("no Timeloop reference cases available")
    seed = data.draw(st.sampled_from(seeds), label="seed")
    which = data.draw(st.integers(0, len(seed.files) - 1), label="file")
    _fuzz_one(seed, which, data.draw(mutated_file(seed.files[which]), label="bytes"), folder,
              ["--format", "timeloop"])


@settings(PROFILE, max_examples=200 * SCALE)
@given(data=st.data())
def test_fuzz_timeloop_eval(folder, data):
    """Timeloop reference inputs (processed input, mapping, ERT, ART), one file mutated at a time."""
    _fuzz_timeloop(folder, data)


def _check_map(outcome: Outcome, files: list[str], what: str) -> None:
    """`einloop map --json`: exit 0 with every Einsum's result valid, 1 when one has none, or a clean 2."""
    context = f"{what}\nexit {outcome.code}\nstderr: {outcome.err[:2000]}"
    if outcome.code not in (0, 1) or not outcome.out.lstrip().startswith("{"):
        check(outcome, files, what=what)
        return
    assert "Traceback" not in outcome.err and outcome.seconds < PER_CASE_SECONDS + MAP_SECONDS, context
    found = json.loads(outcome.out)
    results = [e["result"] for e in found["einsums"]]
    assert (outcome.code == 0) == all(r is not None for r in results), context
    for r in results:
        if r is not None:
            _check_result(r, 0, context)


MAP_SECONDS = 2.0


@settings(PROFILE, max_examples=30 * SCALE)
@given(data=st.data())
def test_fuzz_map(folder, data):
    """`einloop map` (sparingly, 2 s limit, one worker): the TPU-like example with its constraints."""
    seed = NATIVE_SEEDS[1]
    which = data.draw(st.integers(0, 1), label="file")          # the workload or the architecture+constraints
    target = folder / f"mapped-{seed.files[which].name}"
    target.write_bytes(data.draw(mutated_file(seed.files[which]), label="bytes"))
    files = [str(target if i == which else f) for i, f in enumerate(seed.files[:2])]
    outcome = run_cli(["map", *files, "--json", "--quiet", "--workers", "1", "--time-limit", str(MAP_SECONDS)])
    event(f"exit {outcome.code}")
    _check_map(outcome, files, f"{seed.name}: {target.name}\n{target.read_bytes()[:3000]!r}")


FLAG_VALUES = ["0", "-1", "1", "2", "nan", "inf", "1e999", "", "x" * 300, "9" * 30, "energy", "2024", "2025",
               "timeloop", "einloop", "matmul", "nope", "resnet50", "zoo:vgg16", "/dev/null", "/tmp",
               "y" * 5000 + ".yaml", "a\x00b.yaml", "nope/x.yaml"]


@settings(PROFILE, max_examples=150 * SCALE)
@given(data=st.data())
def test_fuzz_flags(data):
    """Random flags and values for `eval` and `analyze` (with valid files): a result or one line."""
    seed = NATIVE_SEEDS[0]
    command = data.draw(st.sampled_from(["eval", "analyze"]), label="command")
    flags = {"eval": ["--format", "--einsum", "--json", "--reuse-rule", "--bogus"],
             "analyze": ["--arch", "--plot", "--batch", "--seq-len", "--bits", "--json", "--bogus"]}[command]
    argv = [command] + ([str(f) for f in seed.files] if command == "eval" else
                        [data.draw(st.sampled_from(["resnet50", "lab1_mnist", str(seed.files[0]), "nope", "x" * 5000 + ".yaml",
                                                      "/tmp", "/dev/null", "a\x00.yaml"]))])
    for _ in range(data.draw(st.integers(0, 3))):
        argv.append(data.draw(st.sampled_from(flags)))
        if argv[-1] != "--json" and data.draw(st.booleans()):
            argv.append(data.draw(st.sampled_from(FLAG_VALUES)))
    if "--plot" in argv:
        return                                     # drawing figures is slow and tested in test_analyze_cli
    outcome = run_cli(argv)
    event(f"exit {outcome.code}")
    assert "Traceback" not in outcome.err and outcome.code in (0, 1, 2), (argv, outcome.err)
    if outcome.code == 2:
        assert len(outcome.err.strip().splitlines()) == 1 and outcome.err.startswith("einloop: error: "), argv


@settings(PROFILE, max_examples=250 * SCALE)
@given(data=st.data())
def test_fuzz_einsum_and_loop_strings(folder, data):
    """The conv example's Einsum string and its mapping's loop strings, edited piece by piece."""
    import yaml

    from einloop.spec.yamlio import load_yaml
    from fuzz_inputs import edited_string
    seed = NATIVE_SEEDS[2]
    which = data.draw(st.sampled_from([0, 2]), label="file")
    doc = load_yaml(seed.files[which])
    if which == 0:
        e = doc["workload"]["einsums"][0]
        e["einsum"] = data.draw(edited_string(e["einsum"]), label="einsum")
    else:
        node = data.draw(st.sampled_from([n for n in doc["mapping"] if "temporal" in n or "spatial" in n]))
        key = "temporal" if "temporal" in node else "spatial"
        if key == "temporal":
            node[key] = data.draw(edited_string(node[key]), label="temporal")
        else:
            axis = data.draw(st.sampled_from(sorted(node[key])))
            node[key][axis] = data.draw(edited_string(node[key][axis]), label="spatial")
    _fuzz_one(seed, which, yaml.safe_dump(doc, allow_unicode=True).encode(), folder, [])
