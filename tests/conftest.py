"""Shared fixtures: paths to the repo, the example scenarios and the reference data under tests/data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
TEST_DATA = REPO / "tests" / "data"


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS
