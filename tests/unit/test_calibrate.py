"""Calibration (sim.analysis.calibrate, sim.analysis.log_facts, python -m sim calibrate): estimates, messy logs, output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.analysis.calibrate
from sim.analysis.calibrate import (
    MIN_FIT_DAYS,
    bar_error,
    calibrate,
    default_base_path,
    fit_days,
    scaled_error,
)
from sim.analysis.log_facts import _coverage_for, _interval_lognormal_median, read_facts
from sim.cli import main
from sim.errors import InputError
from sim.metrics.logs import EventLogs, make_logs, write_logs
from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import get_value, load_scenario, load_scenario_text

ROOT = Path(__file__).resolve().parents[2]
BASE = load_scenario(ROOT / "scenarios" / "baseline.toml")


def simulated_logs(days: int = 56, seed: int = 3, **values) -> tuple[EventLogs, object]:
    """One replication's logs of the baseline with dotted-key overrides (``team__engineers=6``)."""
    scenario = BASE.with_values({"days": days, **{k.replace("__", "."): v for k, v in values.items()}})
    window = to_logs(simulate(scenario, seed, 0))
    return EventLogs(window.changes, window.deployments, window.incidents), window


# ---------------------------------------------------------------------------------------------
# Reading the logs


@pytest.mark.parametrize(
    ("cadence", "deploy"),
    [
        ("continuous", "automated"),
        ("continuous", "manual"),
        ("daily", "manual"),
        ("daily", "automated"),
        ("weekly", "manual"),
        ("biweekly", "manual"),
        ("monthly", "manual"),
    ],
)
def test_cadence_and_deploy_method_are_read_from_deployment_times(cadence, deploy):
    days = 90 if cadence in ("biweekly", "monthly") else 56
    logs, _ = simulated_logs(days=days, team__engineers=8, release__cadence=cadence, release__deploy=deploy)
    facts = read_facts(logs, BASE)
    assert facts.estimates["release.cadence"].value == cadence
    if cadence != "monthly":  # three monthly releases rarely show how long a deployment takes
        assert facts.estimates["release.deploy"].value == deploy


def test_evening_releases_on_a_few_days_are_no_daily_train():
    """Six releases in half a year, all on working-day evenings but on three days only (a release and its
    post-releases): a team releasing when ready, not a train that opens every day (read as one, it would
    release many times as often). A daily pattern needs as many release days as any pattern needs releases."""
    logs, _ = simulated_logs(days=180, team__engineers=8, release__cadence="daily")
    daily = read_facts(logs, BASE).estimates["release.cadence"].value
    deployments = logs.deployments.sort_values("time_created").reset_index(drop=True)
    evenings = np.flatnonzero(deployments["time_created"].dt.hour.between(15, 20).to_numpy())
    rows = []
    for i in (evenings[len(evenings) // 6], evenings[len(evenings) // 2], evenings[-5]):
        # the release, and the one before it re-timed 40 minutes after it (a post-release of that day)
        post = deployments.iloc[[i - 1]].copy()
        shift = deployments["time_created"].iloc[i] + pd.Timedelta(minutes=40) - post["time_created"].iloc[0]
        for column in post.columns:
            if pd.api.types.is_datetime64_any_dtype(post[column]):
                post[column] = post[column] + shift
        rows += [deployments.iloc[[i]], post]
    few = pd.concat(rows, ignore_index=True)
    facts = read_facts(EventLogs(logs.changes, few, logs.incidents.iloc[0:0]), BASE)
    assert daily == "daily"
    assert few["time_created"].dt.date.nunique() == 3 and len(few) == 6
    assert facts.estimates["release.cadence"].value in ("irregular", "when_ready")


@pytest.mark.parametrize("days", [42, 90])
def test_window_starts_where_the_logs_are_complete_not_at_the_oldest_change(days):
    logs, window = simulated_logs(days=days, team__engineers=6)
    assert logs.changes["time_created"].min() < window.start  # old changes shipped inside the window
    facts = read_facts(logs, BASE)
    assert facts.start == window.start
    assert abs((facts.end - window.end) / pd.Timedelta(days=1)) <= 1
    assert any("created before" in w for w in facts.warnings)


def test_team_size_batch_cap_and_rollback_are_estimated():
    logs, _ = simulated_logs(
        team__engineers=12,
        release__cadence="daily",
        release__max_batch_size=6,
        operations__automated_rollback=True,
    )
    facts = read_facts(logs, BASE)
    assert abs(facts.estimates["team.engineers"].value - 12) <= 2
    assert facts.estimates["release.max_batch_size"].value == 6
    assert facts.estimates["operations.automated_rollback"].value is True
    logs, _ = simulated_logs(team__engineers=12, release__cadence="daily")
    facts = read_facts(logs, BASE)
    assert facts.estimates["release.max_batch_size"].value == 0
    assert facts.estimates["operations.automated_rollback"].value is False


def test_branching_strategy_follows_the_time_before_release():
    trunk, _ = simulated_logs(
        team__engineers=8, branching__strategy="trunk", branching__branch_lifetime_days=0.15
    )
    long_lived, _ = simulated_logs(team__engineers=8, branching__branch_lifetime_days=12.0)
    assert read_facts(trunk, BASE).estimates["branching.strategy"].value == "trunk"
    facts = read_facts(long_lived, BASE)
    assert facts.estimates["branching.strategy"].value == "long_lived"
    assert facts.stats["median_hours_before_release"] > 72


def test_old_work_carried_into_the_window_does_not_set_the_time_before_release():
    """A release that ships work written long before the window (a development line merged for it) says
    nothing about how long the window's own changes take to be ready: the split reads the window's work."""
    logs, _ = simulated_logs(team__engineers=8, branching__branch_lifetime_days=2.0)
    first = read_facts(logs, BASE)
    window = (first.start.date(), first.end.date())
    alone = read_facts(logs, BASE, window).stats["median_hours_before_release"]
    deployments = logs.deployments.copy()
    planned = np.flatnonzero(~deployments["unplanned"].to_numpy(bool))
    last = planned[-1]  # shipped by a late release: every earlier release of the window left it waiting
    created = pd.Timestamp(window[0], tz="UTC") - pd.Timedelta(days=300)
    old = pd.DataFrame(
        {
            "change_id": [f"OLD{k:03d}" for k in range(200)],
            "time_created": [created + pd.Timedelta(hours=k) for k in range(200)],
            "team": 1,
        }
    )
    old["team"] = old["team"].astype(logs.changes["team"].dtype)
    deployments.loc[deployments.index[last], "change_ids"] += " " + " ".join(old["change_id"])
    carried = EventLogs(pd.concat([logs.changes, old], ignore_index=True), deployments, logs.incidents)
    median = read_facts(carried, BASE, window).stats["median_hours_before_release"]
    assert median == pytest.approx(alone, rel=0.1)


def test_interval_censored_median_is_recovered():
    rng = np.random.default_rng(5)
    true = rng.lognormal(mean=math.log(30.0), sigma=0.8, size=400)
    releases = np.arange(0, 2000, 48.0)  # a release every other day; changes created at random times
    created = rng.uniform(0, 1500, size=400)
    ready = created + true
    shipped = releases[np.searchsorted(releases, ready)]
    previous = releases[np.searchsorted(releases, ready) - 1]
    lows = np.maximum(previous - created, 0.0)
    highs = shipped - created
    assert _interval_lognormal_median(lows, highs) == pytest.approx(30.0, rel=0.2)


@pytest.mark.parametrize("hours", [-5, 3, 8])
def test_patterns_are_read_in_the_teams_own_working_hours(hours):
    logs, _ = simulated_logs(team__engineers=8, release__cadence="daily")
    moved = make_logs(
        *(
            frame.assign(**{c: frame[c] + pd.Timedelta(hours=hours) for c in columns})
            for frame, columns in (
                (logs.changes, ["time_created"]),
                (logs.deployments, ["time_created"]),
                (logs.incidents, ["time_created", "time_resolved"]),
            )
        )
    )
    facts = read_facts(moved, BASE)
    assert facts.estimates["release.cadence"].value == "daily"
    assert facts.stats["working_hours_utc"].startswith(f"{(9 + hours) % 24:02d}:00")


@pytest.mark.parametrize("coverage", [0.3, 0.8, 0.95])
@pytest.mark.parametrize("escaped", [0.5, 2.0])
def test_flag_coverage_inverts_the_share_of_incidents_switched_off(coverage, escaped):
    none = math.exp(-escaped)
    share = (math.exp(-escaped * (1 - coverage)) - none) / (1 - none)
    assert _coverage_for(share, escaped) == pytest.approx(coverage, abs=1e-6)


def test_a_full_release_train_fits_the_backlog_the_window_opens_with():
    logs, _ = simulated_logs(days=42, team__engineers=8, release__cadence="daily", release__max_batch_size=3)
    facts = read_facts(logs, BASE)
    assert facts.stats["release_train_full"] is True
    result = calibrate(logs, base=BASE, reps=2, check_reps=2, workers=1)
    assert "simulation.warmup_days" in result.report["fit"]["parameters"]
    assert isinstance(result.scenario.simulation.warmup_days, int)


# ---------------------------------------------------------------------------------------------
# Scaled errors


@pytest.mark.parametrize(
    ("key", "simulated", "observed", "expected"),
    [
        ("deployment_frequency_per_day", 1.2, 1.0, 1.0),
        ("lead_time_hours", 100.0, 130.0, -1.0),
        ("change_failure_rate", 0.27, 0.20, 1.0),
        ("time_to_restore_hours", 10.0, 10.0, 0.0),
    ],
)
def test_scaled_error_is_one_at_the_accuracy_bar(key, simulated, observed, expected):
    assert scaled_error(key, simulated, observed) == pytest.approx(expected, abs=1e-9)


def test_scaled_error_of_a_missing_simulated_value_is_unknown_and_bar_error_measures_the_bar():
    assert math.isnan(scaled_error("time_to_restore_hours", None, 5.0))
    assert scaled_error("time_to_restore_hours", None, None) == 0.0
    assert bar_error("lead_time_hours", 130.0, 100.0) == pytest.approx(0.3)
    assert bar_error("change_failure_rate", 0.1, 0.17) == pytest.approx(0.07)
    assert bar_error("change_failure_rate", None, 0.17) is None


# ---------------------------------------------------------------------------------------------
# Calibration end to end (tiny replication counts: these test the plumbing, not the accuracy)


@pytest.fixture(scope="module")
def small_result():
    logs, window = simulated_logs(days=42, team__engineers=5, release__cadence="daily")
    return calibrate(logs, base=BASE, reps=2, check_reps=3, workers=1), window


def test_the_written_scenario_loads_back_identical_and_says_where_values_come_from(small_result):
    result, _ = small_result
    loaded = load_scenario_text(result.toml, "calibrated.toml")
    assert loaded == result.scenario
    assert result.scenario.start.weekday() == 0
    assert result.scenario.days == 42
    assert "estimated from the logs" in result.toml
    assert "fitted" in result.toml
    assert "left at default" in result.toml
    origins = {item["origin"] for item in result.report["parameters"].values()}
    assert origins == {"estimated", "fitted", "default"}
    assert result.report["parameters"]["release.cadence"] == {
        "value": "daily",
        "origin": "estimated",
        "note": result.report["parameters"]["release.cadence"]["note"],
    }


def test_report_compares_observed_and_simulated_metrics_as_plain_json(small_result):
    result, _ = small_result
    report = json.loads(json.dumps(result.report, allow_nan=False))
    for key in (
        "deployment_frequency_per_day",
        "lead_time_hours",
        "change_failure_rate",
        "time_to_restore_hours",
    ):
        row = report["metrics"][key]
        assert {"observed", "simulated_p50", "observed_band", "simulated_band", "error", "within_bar"} <= set(
            row
        )
    assert report["reps"] == 3
    assert report["fit"]["parameters"]
    assert report["warnings"] == result.warnings


def test_calibration_does_not_depend_on_the_number_of_workers():
    logs, _ = simulated_logs(days=28, team__engineers=4, release__cadence="daily")
    one = calibrate(logs, base=BASE, reps=2, check_reps=2, workers=1)
    two = calibrate(logs, base=BASE, reps=2, check_reps=2, workers=2)
    assert one.toml == two.toml
    assert one.report == two.report


def test_progress_callback_counts_up_to_its_total():
    logs, _ = simulated_logs(days=28, team__engineers=4, release__cadence="daily")
    calls = []
    calibrate(logs, base=BASE, reps=2, check_reps=2, workers=1, callback=lambda d, t: calls.append((d, t)))
    assert calls
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1][0] == calls[-1][1]


def test_fit_days_keep_a_usual_window_whole_and_cut_a_huge_one():
    assert fit_days(5_000, 90) == 90
    assert fit_days(sim.analysis.calibrate.FIT_CHANGES, 365) == 365
    assert fit_days(300_000, 90) == 45  # half the window holds FIT_CHANGES
    assert fit_days(2_000_000, 366) == MIN_FIT_DAYS  # never fewer days than that
    assert fit_days(2_000_000, 10) == 10  # nor more than the logs hold


def test_big_logs_are_fitted_on_their_first_days_and_keep_their_window(monkeypatch):
    monkeypatch.setattr(sim.analysis.calibrate, "FIT_CHANGES", 100)
    logs, _ = simulated_logs(days=63, team__engineers=5, release__cadence="daily")
    result = calibrate(logs, base=BASE, reps=2, check_reps=2, workers=1)
    window_days = result.report["window"]["days"]
    assert window_days > MIN_FIT_DAYS
    assert result.report["fit"]["days_simulated"] == MIN_FIT_DAYS
    assert any(f"simulates the first {MIN_FIT_DAYS} days" in line for line in result.warnings)
    assert result.scenario.days == window_days  # the written scenario is the team's whole window
    assert load_scenario_text(result.toml, "calibrated.toml") == result.scenario


# ---------------------------------------------------------------------------------------------
# Too little data, messy logs


def _rows(frame: pd.DataFrame) -> list[dict]:
    return frame.to_dict("records")


def test_too_few_deployments_leave_the_fit_out_and_say_what_is_missing():
    logs, _ = simulated_logs(days=42, team__engineers=4, release__cadence="monthly")
    assert len(logs.deployments) < 5
    result = calibrate(logs, base=BASE, reps=2, check_reps=2, workers=1)
    assert result.report["fit"]["parameters"] == []
    joined = " ".join(result.report["missing"])
    assert "at least 5 needed" in joined
    assert "defect rate" in joined
    assert get_value(result.scenario, "quality.defect_rate") == BASE.quality.defect_rate


def test_no_change_caused_incidents_read_a_low_defect_rate_and_leave_repair_at_defaults():
    logs, _ = simulated_logs(days=42, team__engineers=6, release__cadence="daily")
    quiet = make_logs(logs.changes, logs.deployments, logs.incidents.iloc[0:0])
    result = calibrate(quiet, base=BASE, reps=2, check_reps=2, workers=1)
    assert "quality.defect_rate" not in result.report["fit"]["parameters"]
    assert any("no incidents caused by a deployment" in note for note in result.report["missing"])
    # zero failures in n deployments read as a failure rate of 0.5 / (n + 1), not as the base's defect rate
    assert result.report["parameters"]["quality.defect_rate"]["origin"] == "estimated"
    assert 0 < result.scenario.quality.defect_rate < BASE.quality.defect_rate
    assert result.scenario.operations.hotfix_hours == BASE.operations.hotfix_hours


def test_messy_logs_are_coped_with_and_what_was_ignored_is_listed():
    logs, window = simulated_logs(days=56, team__engineers=6, release__cadence="daily")
    changes, deployments, incidents = (_rows(f) for f in (logs.changes, logs.deployments, logs.incidents))
    # a holiday: nothing happens in the third week
    holiday = (window.start + pd.Timedelta(days=14), window.start + pd.Timedelta(days=21))
    changes = [c for c in changes if not holiday[0] <= c["time_created"] < holiday[1]]
    deployments = [d for d in deployments if not holiday[0] <= d["time_created"] < holiday[1]]
    incidents = [i for i in incidents if not holiday[0] <= i["time_created"] < holiday[1]]
    weekend = window.start + pd.Timedelta(days=26, hours=11)  # a Saturday
    changes += [
        {"change_id": f"X{i}", "time_created": window.start + pd.Timedelta(days=30, hours=10 + i)}
        for i in range(3)
    ]  # never deployed
    deployments.append({"deploy_id": "W1", "time_created": weekend, "change_ids": "", "unplanned": False})
    incidents += [
        {
            "incident_id": "N1",
            "time_created": weekend,
            "time_resolved": weekend + pd.Timedelta(hours=2),
            "deploy_id": None,
        },  # not caused by a change
        {
            "incident_id": "N2",
            "time_created": weekend,
            "time_resolved": pd.NaT,
            "deploy_id": deployments[3]["deploy_id"],
        },  # still open
        {
            "incident_id": "N3",
            "time_created": weekend,
            "time_resolved": weekend + pd.Timedelta(hours=1),
            "deploy_id": "NOT-A-DEPLOYMENT",
        },  # unknown deployment
    ]
    messy = make_logs(pd.DataFrame(changes), pd.DataFrame(deployments), pd.DataFrame(incidents))
    result = calibrate(messy, base=BASE, reps=2, check_reps=2, workers=1)
    joined = " ".join(result.warnings)
    assert "not caused by a deployment" in joined
    assert "still open" in joined
    assert "not in the log" in joined
    assert "never deployed" in joined
    assert load_scenario_text(result.toml, "messy.toml") == result.scenario


def test_empty_logs_are_a_one_line_input_error():
    empty = make_logs([], [], [])
    with pytest.raises(InputError, match="no changes and no deployments"):
        calibrate(empty, base=BASE)
    logs, _ = simulated_logs(days=28, team__engineers=3)
    with pytest.raises(InputError, match="no deployments"):
        calibrate(make_logs(logs.changes, logs.deployments.iloc[0:0], logs.incidents.iloc[0:0]), base=BASE)


def test_default_base_is_the_shipped_baseline():
    assert default_base_path() == ROOT / "scenarios" / "baseline.toml"


# ---------------------------------------------------------------------------------------------
# The command


@pytest.fixture(scope="module")
def log_files(tmp_path_factory):
    logs, _ = simulated_logs(days=35, team__engineers=5, release__cadence="daily")
    folder = tmp_path_factory.mktemp("logs")
    write_logs(logs, folder)
    return folder


def _args(folder: Path, out: Path, *extra: str) -> list[str]:
    return [
        "calibrate",
        "--changes",
        str(folder / "changes.csv"),
        "--deployments",
        str(folder / "deployments.csv"),
        "--incidents",
        str(folder / "incidents.csv"),
        "--out",
        str(out),
        "--reps",
        "2",
        "--check-reps",
        "2",
        "--workers",
        "1",
        *extra,
    ]


def test_cli_json_prints_the_report_only_and_writes_a_valid_scenario(log_files, tmp_path, capsys):
    out = tmp_path / "calibrated.toml"
    assert main(_args(log_files, out, "--json")) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["scenario"] == "calibrated"
    assert load_scenario(out).release.cadence == "daily"


def test_cli_table_names_the_written_file(log_files, tmp_path, capsys):
    out = tmp_path / "team.toml"
    assert main(_args(log_files, out)) == 0
    text = capsys.readouterr().out
    assert "Calibration" in text
    assert "team.toml" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda folder, out: _args(folder / "nowhere", out), "nowhere"),
        (lambda folder, out: _args(folder, out.parent / "missing" / "x.toml"), "does not exist"),
        (lambda folder, out: _args(folder, out.parent), "is a folder"),
        (lambda folder, out: [*_args(folder, out), "--base", str(out.parent / "nope.toml")], "nope.toml"),
    ],
)
def test_cli_input_errors_are_one_line_and_exit_2(log_files, tmp_path, capsys, change, message):
    assert main(change(log_files, tmp_path / "out.toml")) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("spread", [0.0, 0.6])
def test_output_evidence_shrinks_when_months_vary_beyond_chance(spread):
    logs, _ = simulated_logs(
        days=180, team__engineers=6, team__output_spread=spread, release__cadence="daily"
    )
    facts = read_facts(logs, BASE)
    changes = int(
        ((logs.changes["time_created"] >= facts.start) & (logs.changes["time_created"] < facts.end)).sum()
    )
    evidence = facts.estimates["team.output_evidence"].value
    measured = facts.estimates.get("team.output_spread")
    if measured is None or measured.value == 0:
        assert evidence == pytest.approx(changes, rel=0.05)  # the team's own changes (hotfixes aside)
    else:
        # the level's relative variance is 1/k + spread²/blocks, a Poisson count of fewer changes
        blocks = facts.days // 30
        assert evidence == pytest.approx(1.0 / (1.0 / changes + measured.value**2 / blocks), rel=0.05)
    if spread > 0:
        assert evidence < 0.5 * changes
