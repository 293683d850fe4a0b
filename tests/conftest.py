import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "timeloop-cases"
ROOT = Path(__file__).resolve().parents[1]


def reference_case(name: str) -> Path:
    path = REFERENCE / name
    if not path.is_dir():
        pytest.skip(f"reference case {name} not available at {REFERENCE}")
    return path


def pytest_terminal_summary(terminalreporter):
    """Say once, loudly, that the Timeloop reference tests were skipped because the folder is missing."""
    if not REFERENCE.parent.is_dir():
        terminalreporter.write_sep("!", "Timeloop reference folder missing", red=True, bold=True)
        terminalreporter.write_line(
            f"{REFERENCE.parent} does not exist: every Timeloop reference test was SKIPPED. Check out the "
            "shared reference material beside this checkout (../shared/reference) to run them.", red=True)


# Hypothesis: the "ci" profile (default) keeps the suite within its time budget; "thorough"
# (HYPOTHESIS_PROFILE=thorough) runs ten times the examples for local checking before a release.
settings.register_profile("ci", deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("thorough", deadline=None, suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """Number of hypothesis examples for a property test: n under the ci profile, 10 n when thorough."""
    return n * (10 if PROFILE == "thorough" else 1)


def cases(ci: int, thorough: int) -> int:
    """How many seeds or rows a costly brute-force test checks: ``ci`` under the ci profile (the suite's
    time budget), ``thorough`` under HYPOTHESIS_PROFILE=thorough (run before a release)."""
    return thorough if PROFILE == "thorough" else ci
