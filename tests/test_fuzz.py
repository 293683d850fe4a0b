"""Fuzz test: mutated examples and Timeloop inputs through ``einloop.cli.main`` in-process.

Every case ends with exit 0 and a valid result, exit 1 with the reason (an invalid mapping, no
mapping fits), or exit 2 with one line naming an input file; never a traceback or an internal
error (exit 3), never longer than PER_CASE_SECONDS. The default profile ("fuzz-ci") runs about
3,000 mutations in about a minute on one core; EINLOOP_FUZZ=long runs ten times as many.
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
_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("fuzz-ci", max_examples=1, **_COMMON)
settings.register_profile("fuzz-long", max_examples=10, **_COMMON)
SCALE = 10 if os.environ.get("EINLOOP_FUZZ") == "long" else 1


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
        assert outcome.code == 0 and outcome.err == "", (seed.name, outcome.err)
        check(outcome, files)


@pytest.mark.parametrize("seed", NATIVE_SEEDS, ids=lambda s: s.name)
@settings(settings.get_profile("fuzz-ci"), max_examples=800 * SCALE)
@given(data=st.data())
def test_fuzz_native_eval(folder, seed, data):
    """einloop's own workload, architecture and mapping files, one mutated at a time."""
    which = data.draw(st.integers(0, len(seed.files) - 1), label="file")
    _fuzz_one(seed, which, data.draw(mutated_file(seed.files[which]), label="bytes"), folder, [])


@settings(settings.get_profile("fuzz-ci"), max_examples=300 * SCALE)
@given(data=st.data())
def test_fuzz_timeloop_eval(folder, data):
    """Timeloop reference inputs (processed input, mapping, ERT, ART), one file mutated at a time."""
    seeds = timeloop_seeds()
    if not seeds:
        pytest.skip("no Timeloop reference cases available")
    seed = data.draw(st.sampled_from(seeds), label="seed")
    which = data.draw(st.integers(0, len(seed.files) - 1), label="file")
    _fuzz_one(seed, which, data.draw(mutated_file(seed.files[which]), label="bytes"), folder,
              ["--format", "timeloop"])
