"""``run``, ``compare``, ``events`` through the real CLI: reproducibility and the events → score round trip."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.bands import BANDS
from sim.model import STAGES
from sim.scoring import METRIC_KEYS

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs: dict[str, subprocess.Popen]) -> dict[str, subprocess.CompletedProcess]:
    """Wait for processes started together (two at a time keeps both cores busy)."""
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert proc.returncode == 0, f"{name}: {err}"
    return done


BASELINE_RUN = ("run", SCENARIOS / "baseline.toml", "--reps", "4", "--days", "28", "--json")


@pytest.fixture(scope="module")
def repeated_runs() -> dict[str, subprocess.CompletedProcess]:
    return finish({
        "first": start(*BASELINE_RUN, "--workers", "2"),
        "again": start(*BASELINE_RUN, "--workers", "2"),
        "one worker": start(*BASELINE_RUN, "--workers", "1"),
    })


def test_same_seed_gives_identical_bytes_whatever_the_workers(repeated_runs):
    first = repeated_runs["first"].stdout
    assert first
    assert repeated_runs["again"].stdout == first
    assert repeated_runs["one worker"].stdout == first


def test_json_prints_one_document_and_nothing_else(repeated_runs):
    result = repeated_runs["first"]
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    json.loads(result.stdout)  # the whole of stdout is one JSON document


def test_run_json_has_the_documented_shape(repeated_runs):
    doc = json.loads(repeated_runs["first"].stdout)
    assert doc["scenario"] == "baseline"
    assert (doc["days"], doc["reps"], doc["seed"], doc["benchmark"]) == (28, 4, 1, "2023")
    assert set(doc["metrics"]) == set(METRIC_KEYS)
    for summary in doc["metrics"].values():
        assert set(summary) == {"p10", "p50", "p90", "mean"}
        if summary["p50"] is not None:
            assert summary["p10"] <= summary["p50"] <= summary["p90"]
    assert set(doc["bands"]) == {"deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore",
                                 "overall"}
    assert set(doc["band_probabilities"]) == set(BANDS)
    assert sum(doc["band_probabilities"].values()) == pytest.approx(1.0)
    assert set(doc["counts"]) == {"changes", "deployments", "incidents"}
    assert set(doc["lead_time_breakdown"]) == set(STAGES)
    assert all(hours >= 0 for hours in doc["lead_time_breakdown"].values())
    assert 0.0 <= doc["flow_efficiency"] <= 1.0


@pytest.mark.parametrize(("name", "days", "seed"), [("baseline", 28, 5), ("elite", 14, 3)])
def test_events_then_score_equals_run_with_one_replication(tmp_path, name, days, seed):
    scenario = SCENARIOS / f"{name}.toml"
    first = finish({
        "events": start("events", scenario, "--out", tmp_path, "--days", days, "--seed", seed),
        "run": start("run", scenario, "--reps", "1", "--days", days, "--seed", seed, "--json", "--workers", "1"),
    })
    window = re.search(r"--start (\S+) --end (\S+)", first["events"].stdout)
    assert window, first["events"].stdout
    scored = finish({"score": start(
        "score", "--changes", tmp_path / "changes.csv", "--deployments", tmp_path / "deployments.csv",
        "--incidents", tmp_path / "incidents.csv", "--start", window[1], "--end", window[2], "--json")})
    from_files = json.loads(scored["score"].stdout)
    from_run = json.loads(first["run"].stdout)
    assert from_files["window_days"] == days
    for key in METRIC_KEYS:
        assert from_files["metrics"][key] == pytest.approx(from_run["metrics"][key]["p50"], rel=1e-12), key
    for key in ("changes", "deployments", "incidents"):
        assert from_files["counts"][key] == from_run["counts"][key], key
    assert from_files["bands"] == from_run["bands"]


def test_compare_puts_the_reference_first_and_matches_run():
    common = ("--reps", "2", "--days", "14", "--json", "--workers", "1")
    results = finish({
        "compare": start("compare", SCENARIOS / "elite.toml", SCENARIOS / "baseline.toml", *common),
        "run": start("run", SCENARIOS / "baseline.toml", *common),
    })
    doc = json.loads(results["compare"].stdout)
    assert [s["scenario"] for s in doc["scenarios"]] == ["elite", "baseline"]
    assert doc["reference"] == "elite"
    # the same seeds for every scenario: the second element is exactly what `run` reports
    assert doc["scenarios"][1] == json.loads(results["run"].stdout)
    deltas = doc["deltas"]["baseline"]
    elite, baseline = (s["metrics"]["lead_time_hours"]["p50"] for s in doc["scenarios"])
    assert deltas["lead_time_hours"] == pytest.approx(baseline - elite)
