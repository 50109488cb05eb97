"""``run``, ``compare``, ``events`` through the CLI: reproducibility and the events → score round trip.

Most calls go through ``sim.cli.main`` in this process (what ``python -m sim`` runs); one ``run``
goes through a real interpreter to check what a script sees on stdout and stderr.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.metrics.bands import BANDS
from sim.metrics.registry import METRIC_KEYS
from sim.model.stages import STAGES

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def cli(*args, capsys) -> str:
    """``python -m sim ARGS`` in this process (``sim.__main__`` is ``SystemExit(main())``); its stdout."""
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""  # no progress bar when stderr is not a terminal
    return out


BASELINE_RUN = ("run", SCENARIOS / "baseline.toml", "--reps", "4", "--days", "28", "--json")


@pytest.fixture(scope="module")
def real_process_run() -> subprocess.CompletedProcess:
    """One run through a real interpreter: what a script calling ``python -m sim`` sees."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, BASELINE_RUN), "--workers", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_json_prints_one_document_and_nothing_else(real_process_run):
    assert real_process_run.returncode == 0, real_process_run.stderr
    assert real_process_run.stderr == ""  # no progress bar when stderr is not a terminal
    json.loads(real_process_run.stdout)  # the whole of stdout is one JSON document


def test_same_seed_gives_identical_bytes_whatever_the_workers(real_process_run, capsys):
    first = real_process_run.stdout
    assert first
    assert cli(*BASELINE_RUN, "--workers", "2", capsys=capsys) == first
    assert cli(*BASELINE_RUN, "--workers", "1", capsys=capsys) == first


def test_run_json_has_the_documented_shape(real_process_run):
    doc = json.loads(real_process_run.stdout)
    assert doc["scenario"] == "baseline"
    assert (doc["days"], doc["reps"], doc["seed"], doc["benchmark"]) == (28, 4, 1, "2023")
    assert set(doc["metrics"]) == set(METRIC_KEYS)
    for summary in doc["metrics"].values():
        assert set(summary) == {"p10", "p50", "p90", "mean"}
        if summary["p50"] is not None:
            assert summary["p10"] <= summary["p50"] <= summary["p90"]
    assert set(doc["bands"]) == {
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "time_to_restore",
        "overall",
    }
    assert set(doc["band_probabilities"]) == set(BANDS)
    assert sum(doc["band_probabilities"].values()) == pytest.approx(1.0)
    assert set(doc["counts"]) == {"changes", "deployments", "incidents"}
    assert set(doc["lead_time_breakdown"]) == set(STAGES)
    assert all(hours >= 0 for hours in doc["lead_time_breakdown"].values())
    assert 0.0 <= doc["flow_efficiency"] <= 1.0


@pytest.mark.parametrize(("name", "days", "seed"), [("baseline", 28, 5), ("elite", 14, 3)])
def test_events_then_score_equals_run_with_one_replication(tmp_path, capsys, name, days, seed):
    scenario = SCENARIOS / f"{name}.toml"
    printed = cli("events", scenario, "--out", tmp_path, "--days", days, "--seed", seed, capsys=capsys)
    window = re.search(r"--start (\S+) --end (\S+)", printed)
    assert window, printed
    from_files = json.loads(
        cli(
            "score",
            "--changes",
            tmp_path / "changes.csv",
            "--deployments",
            tmp_path / "deployments.csv",
            "--incidents",
            tmp_path / "incidents.csv",
            "--start",
            window[1],
            "--end",
            window[2],
            "--json",
            capsys=capsys,
        )
    )
    from_run = json.loads(
        cli(
            "run",
            scenario,
            "--reps",
            "1",
            "--days",
            days,
            "--seed",
            seed,
            "--json",
            "--workers",
            "1",
            capsys=capsys,
        )
    )
    assert from_files["window_days"] == days
    for key in METRIC_KEYS:
        assert from_files["metrics"][key] == pytest.approx(from_run["metrics"][key]["p50"], rel=1e-12), key
    for key in ("changes", "deployments", "incidents"):
        assert from_files["counts"][key] == from_run["counts"][key], key
    assert from_files["bands"] == from_run["bands"]


def test_compare_puts_the_reference_first_and_matches_run(capsys):
    common = ("--reps", "2", "--days", "14", "--json", "--workers", "1")
    doc = json.loads(
        cli("compare", SCENARIOS / "elite.toml", SCENARIOS / "baseline.toml", *common, capsys=capsys)
    )
    assert [s["scenario"] for s in doc["scenarios"]] == ["elite", "baseline"]
    assert doc["reference"] == "elite"
    # the same seeds for every scenario: the second element is exactly what `run` reports
    assert doc["scenarios"][1] == json.loads(cli("run", SCENARIOS / "baseline.toml", *common, capsys=capsys))
    deltas = doc["deltas"]["baseline"]
    elite, baseline = (s["metrics"]["lead_time_hours"]["p50"] for s in doc["scenarios"])
    assert deltas["lead_time_hours"] == pytest.approx(baseline - elite)
