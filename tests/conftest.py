from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "timeloop-cases"
ROOT = Path(__file__).resolve().parents[1]


def reference_case(name: str) -> Path:
    path = REFERENCE / name
    if not path.is_dir():
        pytest.skip(f"reference case {name} not available at {REFERENCE}")
    return path
