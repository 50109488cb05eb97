"""Hostile input (tests/robustness): every outcome is exit 0 with correct output, or exit 2 with exactly
one line on stderr — never a traceback, never a hang, never silent overflow. Helpers: ``hostile.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostile import assert_ok, run_main


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    return path


@pytest.fixture(scope="session")
def small_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One replication's three CSV files (two weeks of the baseline)."""
    folder = tmp_path_factory.mktemp("logs")
    outcome = run_main("events", "baseline", "--days", "14", "--out", str(folder))
    assert_ok(outcome)
    return folder
