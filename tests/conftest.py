from pathlib import Path

import pytest

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
