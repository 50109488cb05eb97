"""Golden outputs: the JSON of ``run`` and ``plan`` and the CSVs of ``events``, pinned byte for byte.

The files under ``tests/golden/data/`` were written by this module from the same commands. A change
to the model that is meant to keep every number (a refactor, a speed-up) must leave them unchanged;
a change that is meant to move numbers regenerates them on purpose, in the same commit:

    PYTHONPATH=$PWD python tests/golden/test_golden.py --write
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

import pytest

from sim.cli import main

DATA = Path(__file__).parent / "data"
SCENARIOS = ("baseline", "trunk_based", "automated", "small_batch", "elite", "heroics", "org_baseline")
# name -> command line; small replications: byte identity is the point, not the seed story
RUNS: dict[str, list[str]] = {
    **{f"run_{name}": ["run", name, "--reps", "3", "--workers", "1", "--json"] for name in SCENARIOS},
    "run_org_trunk_daily": [
        "run",
        "org_baseline",
        "--reps",
        "2",
        "--workers",
        "1",
        "--days",
        "45",
        "--json",
        "--set",
        "branching.strategy=trunk",
        "--set",
        "release.cadence=daily",
        "--set",
        "release.max_batch_size=5",
    ],
    "plan_90_days": ["plan", "plan_90_days", "--reps", "2", "--workers", "1", "--json"],
    "plan_org_90_days": ["plan", "plan_org_90_days", "--reps", "2", "--workers", "1", "--json"],
    "plan_heroics_90_days": ["plan", "plan_heroics_90_days", "--reps", "2", "--workers", "1", "--json"],
}
EVENTS: dict[str, list[str]] = {
    "events_baseline": ["events", "baseline", "--days", "28"],
    "events_elite": ["events", "elite", "--days", "28", "--seed", "7"],
    "events_org_baseline": ["events", "org_baseline", "--days", "14", "--replication", "1"],
}
CSV_FILES = ("changes.csv", "deployments.csv", "incidents.csv")


def _stdout_of(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    assert code == 0, f"{argv} exited with {code}"
    return out.getvalue()


def _events_of(argv: list[str]) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        _stdout_of([*argv, "--out", folder])
        return {name: (Path(folder) / name).read_bytes() for name in CSV_FILES}


def produce(name: str) -> dict[str, bytes]:
    """The golden files of one case, by file name, as the commands write them now."""
    if name in RUNS:
        return {f"{name}.json": _stdout_of(RUNS[name]).encode()}
    return {f"{name}/{file}": text for file, text in _events_of(EVENTS[name]).items()}


@pytest.mark.parametrize("name", [*RUNS, *EVENTS])
def test_output_is_byte_identical_to_the_golden_file(name: str) -> None:
    for file, produced in produce(name).items():
        expected = (DATA / file).read_bytes()
        assert produced == expected, f"{file} differs from its golden copy"


def write_all() -> None:
    for name in [*RUNS, *EVENTS]:
        for file, produced in produce(name).items():
            path = DATA / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(produced)
            print(f"wrote {path} ({len(produced)} bytes)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/golden/test_golden.py --write")
    write_all()
