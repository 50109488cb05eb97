"""Backtests (``sim.analysis.backtest``, ``python -m sim backtest``) and calibration windows."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from sim.analysis.backtest import (
    BacktestSettings,
    actual_ship_day,
    backtest,
    cut_dates,
    logs_at,
    parse_sizes,
)
from sim.analysis.calibrate import calibrate
from sim.cli import main
from sim.errors import InputError
from sim.metrics.logs import make_logs, write_logs
from sim.metrics.scoring import columns_from_frames

CUT = dt.date(2026, 3, 2)


def ts(day: dt.date, hours: float = 12.0) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hours)


def release_logs(days: int = 400, every: int = 10, end: dt.date = CUT + dt.timedelta(days=120)):
    """Two changes a day; a release every ``every`` days shipping everything made since the last one."""
    first = end - dt.timedelta(days=days)
    changes, deployments, pending = [], [], []
    for day in range(days):
        date = first + dt.timedelta(days=day)
        if day % every == 0 and pending:
            deployments.append(
                {"deploy_id": f"r{day}", "time_created": ts(date, 18), "change_ids": " ".join(pending)}
            )
            pending = []
        for k in (0, 1):
            changes.append({"change_id": f"c{day}_{k}", "time_created": ts(date, 9 + 4 * k)})
            pending.append(f"c{day}_{k}")
    incidents = [
        {
            "incident_id": "i1",
            "time_created": ts(CUT - dt.timedelta(days=3)),
            "time_resolved": ts(CUT + dt.timedelta(days=2)),
            "deploy_id": deployments[-15]["deploy_id"],
        }
    ]
    return make_logs(changes, deployments, incidents)


def test_logs_at_a_cut_hold_what_the_team_knew_then():
    logs = release_logs()
    window = logs_at(logs, CUT - dt.timedelta(days=60), CUT)
    assert (window.deployments["time_created"] < ts(CUT, 0)).all()
    assert (window.deployments["time_created"] >= ts(CUT - dt.timedelta(days=60), 0)).all()
    assert (window.changes["time_created"] < ts(CUT, 0)).all()
    # the incident resolved after the cut is still open at it
    assert window.incidents["time_resolved"].isna().all() and len(window.incidents) == 1
    # changes already live before the window are history, not part of it
    columns = columns_from_frames(window.changes, window.deployments, window.incidents)
    assert columns.change_t.min() >= ts(CUT - dt.timedelta(days=60 + 10), 0).value


def test_the_actual_ship_day_is_the_last_first_deployment_of_the_first_n_changes():
    logs = release_logs(every=10)
    columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    day, reason = actual_ship_day(columns, CUT, 6)  # three days of changes, shipped at the next release
    assert reason is None
    releases = sorted(pd.to_datetime(logs.deployments["time_created"]).dt.date)
    next_release = next(d for d in releases if d > CUT + dt.timedelta(days=2))
    assert day == (next_release - CUT).days
    day, reason = actual_ship_day(columns, CUT, 10_000)
    assert day is None and "only" in reason


def test_cut_dates_leave_a_window_before_and_a_horizon_after():
    logs = release_logs()
    columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    cuts = cut_dates(columns, every_days=30, window_days=180, horizon_days=90)
    assert cuts == sorted(cuts) and len(cuts) >= 3
    first = pd.Timestamp(int(columns.deploy_t.min()), tz="UTC").date()
    last = pd.Timestamp(int(columns.deploy_t.max()), tz="UTC").date()
    assert all(c >= first + dt.timedelta(days=180) and c <= last - dt.timedelta(days=90) for c in cuts)
    with pytest.raises(InputError, match="too little history"):
        cut_dates(columns, every_days=30, window_days=600, horizon_days=90)


def test_a_throughput_backtest_scores_every_case_it_can_judge():
    logs = release_logs()
    settings = BacktestSettings(method="throughput", sizes=(6, 40), throughput_reps=300)
    result = backtest(logs, cuts=[CUT], settings=settings, workers=1)
    assert [c["n"] for c in result["cases"]] == [6, 40]
    for case in result["cases"]:
        scored = case["throughput"]
        assert {"p5", "p50", "p85", "p95", "crps", "in_p5_p95", "le_p85"} <= set(scored)
        assert "model" not in case
    assert result["summary"]["throughput"]["cases"] == 2
    # a steady team releasing every ten days: the resampled window brackets what happened
    assert result["summary"]["throughput"]["coverage_p5_p95"] == 1.0
    assert backtest(logs, cuts=[CUT], settings=settings, workers=1)["cases"] == result["cases"]


def test_a_model_backtest_calibrates_each_window_and_forecasts_from_the_cut():
    logs = release_logs()
    settings = BacktestSettings(
        method="both", sizes=(10,), reps=6, calibration_reps=2, calibration_check_reps=2
    )
    result = backtest(logs, cuts=[CUT], settings=settings, workers=1)
    (case,) = result["cases"]
    assert "model" in case and "throughput" in case
    window = result["windows"][0]
    assert window["calibration"]["deployments"] >= 3
    assert result["dora"][0]["metrics"]["deployment_frequency_per_day"]["observed"] == pytest.approx(
        9 / 90, abs=0.02
    )
    assert result["summary"]["crps_ratio_model_to_throughput"] is not None


def test_a_window_without_releases_is_not_judged():
    logs = release_logs()
    times = logs.deployments["time_created"]
    keep = (times >= ts(CUT, 0)) | (
        times < ts(CUT - dt.timedelta(days=200), 0)
    )  # history, then a quiet window
    quiet = make_logs(logs.changes, logs.deployments[keep], logs.incidents.iloc[0:0])
    result = backtest(quiet, cuts=[CUT], settings=BacktestSettings(method="throughput"), workers=1)
    assert result["cases"] == [] and "no release" in result["not_judged"][0]["reason"]


def test_sizes_parse_and_bad_ones_are_one_line():
    assert parse_sizes(["actual30", "20"]) == ("actual30", 20)
    with pytest.raises(InputError, match="--n 'x'"):
        parse_sizes(["x"])
    with pytest.raises(InputError, match="--n 0"):
        parse_sizes(["0"])


def test_calibrate_takes_a_window_and_refuses_one_without_releases():
    logs = release_logs()
    start, end = CUT - dt.timedelta(days=90), CUT
    result = calibrate(logs_at(logs, start, end), reps=2, check_reps=2, workers=1, window=(start, end))
    assert result.report["window"] == {"start": start.isoformat(), "end": end.isoformat(), "days": 90}
    assert result.scenario.release.cadence == "irregular"
    assert result.scenario.release.gap_days == pytest.approx(10.0, rel=0.25)
    assert result.scenario.calibration is not None and result.scenario.calibration.deployments == 9
    with pytest.raises(InputError, match="no deployment in the window"):
        calibrate(logs, reps=2, check_reps=2, workers=1, window=(dt.date(2020, 1, 1), dt.date(2020, 3, 1)))
    with pytest.raises(InputError, match="end must come after"):
        calibrate(logs, reps=2, check_reps=2, workers=1, window=(end, start))


def _write(logs, folder):
    write_logs(logs, folder)
    return [
        f"--changes={folder / 'changes.csv'}",
        f"--deployments={folder / 'deployments.csv'}",
        f"--incidents={folder / 'incidents.csv'}",
    ]


def test_cli_backtest_json_and_one_line_errors(tmp_path, capsys):
    files = _write(release_logs(), tmp_path)
    code = main(
        ["backtest", *files, "--method", "throughput", "--cuts", CUT.isoformat(), "--n", "8", "--json"]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cases"][0]["n"] == 8 and "summary" in doc and "dora" in doc
    assert main(["backtest", "--method", "throughput"]) == 2
    assert "--changes" in capsys.readouterr().err
    assert main(["backtest", *files, "--repo", str(tmp_path)]) == 2
    assert main(["backtest", *files, "--window-days", "900"]) == 2
    assert "too little history" in capsys.readouterr().err


def test_cli_calibrate_reads_the_window_the_import_recorded(tmp_path, capsys):
    files = _write(release_logs(), tmp_path)
    report = {"source": "git", "settings": {"since": "2025-12-01", "until": "2026-03-01"}}
    (tmp_path / "import_report.json").write_text(json.dumps(report), encoding="utf-8")
    code = main(
        [
            "calibrate",
            *files,
            "--out",
            str(tmp_path / "ours.toml"),
            "--reps",
            "2",
            "--check-reps",
            "2",
            "--json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["window"]["start"] == "2025-12-01" and doc["window"]["end"] == "2026-03-01"
    assert doc["window"]["source"] == "import_report.json"
    assert "[calibration]" in (tmp_path / "ours.toml").read_text(encoding="utf-8")
    assert main(["calibrate", *files, "--out", str(tmp_path / "x.toml"), "--start", "2026-01-01"]) == 2
    assert "together" in capsys.readouterr().err


def test_cli_backtest_writes_its_report(tmp_path, capsys):
    files = _write(release_logs(), tmp_path)
    report = tmp_path / "backtest.html"
    code = main(
        [
            "backtest",
            *files,
            "--method",
            "throughput",
            "--cuts",
            CUT.isoformat(),
            "--n",
            "8",
            "--report",
            str(report),
        ]
    )
    assert code == 0
    text = report.read_text(encoding="utf-8")
    assert "Every case" in text and CUT.isoformat() in text
    assert main(["backtest", *files, "--report", str(tmp_path / "x.txt")]) == 2


def test_cli_forecast_sets_the_throughput_monte_carlo_beside_the_model(tmp_path, capsys):
    _write(release_logs(), tmp_path)
    code = main(
        [
            "forecast",
            "baseline",
            "--changes",
            "8",
            "--start",
            CUT.isoformat(),
            "--reps",
            "4",
            "--workers",
            "1",
            "--method",
            "both",
            "--logs",
            str(tmp_path),
            "--json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == "model" and doc["throughput"]["method"] == "throughput"
    for key in ("p5", "p10", "p50", "p85", "p95", "days_p5", "days_p10"):
        assert key in doc and key in doc["throughput"]
    assert doc["throughput"]["window"]["end"] == CUT.isoformat()
    assert main(["forecast", "baseline", "--method", "throughput"]) == 2
    assert "--logs" in capsys.readouterr().err


def test_team_size_is_the_effective_number_of_authors_when_the_logs_name_them():
    from sim.analysis.log_facts import effective_authors

    assert effective_authors(np.array(["a", "b", "c", "d"] * 5)) == pytest.approx(4.0)
    assert effective_authors(np.array(["a"] * 9)) == pytest.approx(1.0)
    assert 1.0 < effective_authors(np.array(["a"] * 90 + ["b", "c", "d"] * 3)) < 2.0
    assert effective_authors(np.array(["nan"])) is None
    logs = release_logs()
    changes = logs.changes.copy()
    changes["author"] = [f"dev{i % 3}" for i in range(len(changes))]
    start, end = CUT - dt.timedelta(days=90), CUT
    named = make_logs(changes, logs.deployments, logs.incidents)
    result = calibrate(logs_at(named, start, end), reps=2, check_reps=2, workers=1, window=(start, end))
    assert result.scenario.team.engineers == 3
    per_day = result.report["log_statistics"]["changes_per_working_day"]
    assert result.scenario.team.changes_per_engineer_per_day == pytest.approx(per_day / 3, rel=1e-3)


def test_a_plan_from_a_thin_calibrated_baseline_says_so(tmp_path, capsys):
    logs = release_logs()
    start, end = CUT - dt.timedelta(days=30), CUT
    result = calibrate(logs_at(logs, start, end), reps=2, check_reps=2, workers=1, window=(start, end))
    (tmp_path / "ours.toml").write_text(result.toml, encoding="utf-8")
    (tmp_path / "plan.toml").write_text(
        'extends = "ours.toml"\ndays = 28\n\n[[phase]]\nday = 7\nname = "weekly"\n'
        'set = { "release.cadence" = "weekly" }\n',
        encoding="utf-8",
    )
    assert result.scenario.calibration is not None and result.scenario.calibration.deployments < 5
    assert main(["plan", str(tmp_path / "plan.toml"), "--reps", "2", "--workers", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "deployment(s) in its window" in doc["caveat"]
    assert main(["run", str(tmp_path / "ours.toml"), "--reps", "2", "--workers", "1", "--json"]) == 0
    assert any("calibrated on" in w for w in json.loads(capsys.readouterr().out)["warnings"])


def test_a_cut_with_too_little_history_is_not_judged():
    logs = release_logs(days=200)
    first = pd.to_datetime(logs.deployments["time_created"]).min().date()
    cut = first + dt.timedelta(days=30)
    result = backtest(logs, cuts=[cut], settings=BacktestSettings(method="throughput"), workers=1)
    assert result["cases"] == [] and "too little history" in result["not_judged"][0]["reason"]


def test_a_calibrated_scenario_forecasts_from_the_end_of_its_window_with_its_release_state():
    from sim.analysis.forecast import forecast, moved_to, state_date

    logs = release_logs()
    start, end = CUT - dt.timedelta(days=90), CUT
    scenario = calibrate(
        logs_at(logs, start, end), reps=2, check_reps=2, workers=1, window=(start, end)
    ).scenario
    assert state_date(scenario) == CUT
    assert forecast(scenario, 5, reps=2, workers=1)["start"] == CUT.isoformat()
    later = moved_to(scenario, CUT - dt.timedelta(days=7), source="test")
    assert state_date(later) == CUT  # the state keeps its date when the start moves before it
    assert moved_to(scenario, CUT + dt.timedelta(days=7), source="test").release.state_day == -1


def test_a_team_releasing_when_ready_keeps_its_weekend_output_and_its_branch_lifetime_is_read():
    logs = release_logs()  # two changes every day, weekends included, each released within ten days
    start, end = CUT - dt.timedelta(days=90), CUT
    result = calibrate(logs_at(logs, start, end), reps=2, check_reps=2, workers=1, window=(start, end))
    team = result.scenario.team
    # 14 changes a week made in the model's 5 working days
    assert team.engineers * team.changes_per_engineer_per_day == pytest.approx(2 * 7 / 5, rel=0.05)
    # the time before release is read from the changes (ready at once), not fitted to the lead time
    assert "branching.branch_lifetime_days" not in result.report["fit"]["parameters"]
    assert result.scenario.branching.branch_lifetime_days < 0.5


def test_the_warm_up_reaches_back_to_the_oldest_work_a_window_release_ships():
    logs = release_logs()
    start, end = CUT - dt.timedelta(days=90), CUT
    changes = logs.changes.copy()
    deployments = logs.deployments.copy()
    changes.loc[len(changes)] = {"change_id": "old", "time_created": ts(start - dt.timedelta(days=150))}
    inside = deployments.index[deployments["time_created"] >= ts(start, 0)][0]
    deployments.loc[inside, "change_ids"] = deployments.loc[inside, "change_ids"] + " old"
    window = logs_at(make_logs(changes, deployments, logs.incidents), start, end)
    result = calibrate(window, reps=2, check_reps=2, workers=1, window=(start, end))
    assert result.scenario.simulation.warmup_days >= 150


def test_a_few_saturday_releases_are_a_team_releasing_when_ready_not_a_train():
    first = dt.date(2025, 9, 1)  # a Monday
    changes = [
        {"change_id": f"c{d}", "time_created": ts(first + dt.timedelta(days=d), 10)} for d in range(180)
    ]
    saturdays = [first + dt.timedelta(days=d) for d in (47, 103, 166)]  # three Saturdays in 26 weeks
    deployments = [
        {
            "deploy_id": f"r{k}",
            "time_created": ts(day, 11),
            "change_ids": " ".join(
                c["change_id"]
                for c in changes
                if ts(day, 11) > c["time_created"] >= (ts(saturdays[k - 1], 11) if k else ts(first, 0))
            ),
        }
        for k, day in enumerate(saturdays)
    ]
    logs = make_logs(changes, deployments, [])
    result = calibrate(logs, reps=2, check_reps=2, workers=1, window=(first, first + dt.timedelta(days=180)))
    assert result.scenario.release.cadence == "irregular"


def test_releases_that_follow_bursts_of_work_are_read_as_work_driven():
    first = dt.date(2025, 9, 1)
    changes, deployments, day = [], [], 3
    for k, quiet in enumerate((5, 40, 12, 55, 20, 8)):  # a burst of ten changes, a release, a quiet spell
        burst = [
            {"change_id": f"c{k}_{j}", "time_created": ts(first + dt.timedelta(days=day), 9 + j % 8)}
            for j in range(10)
        ]
        changes += burst
        deployments.append(
            {
                "deploy_id": f"r{k}",
                "time_created": ts(first + dt.timedelta(days=day + 1), 12),
                "change_ids": " ".join(c["change_id"] for c in burst),
            }
        )
        day += 1 + quiet
    logs = make_logs(changes, deployments, [])
    result = calibrate(logs, reps=2, check_reps=2, workers=1, window=(first, first + dt.timedelta(days=day)))
    assert result.scenario.release.cadence == "when_ready"
    models = result.report["log_statistics"]["release_models"]
    assert (
        models["when_ready_preferred_by_aic"]
        and models["when_ready_log_likelihood"] > models["clock_log_likelihood"]
    )


def test_the_table_says_which_cuts_it_could_not_judge_and_why(tmp_path, capsys):
    logs = release_logs(days=200)
    first = pd.to_datetime(logs.deployments["time_created"]).min().date()
    files = _write(logs, tmp_path)
    cut = (first + dt.timedelta(days=30)).isoformat()
    assert main(["backtest", *files, "--method", "throughput", "--cuts", cut]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"cut {cut} not judged: too little history" in out
    assert "No case could be judged" in out


def test_the_next_days_dora_forecast_starts_from_the_state_at_the_cut(monkeypatch):
    from sim.analysis import backtest as module
    from sim.analysis import runner

    seen = []

    class Captured(Exception):
        pass

    def capture(scenario, reps, seed, **_kwargs):
        seen.append(scenario)
        raise Captured

    monkeypatch.setattr(runner, "replicate", capture)
    logs = release_logs(every=20)
    window = logs_at(logs, CUT - dt.timedelta(days=180), CUT)
    scenario = calibrate(window, reps=1, check_reps=1, seed=1, workers=1).scenario
    assert scenario.release.state_day > 0
    with pytest.raises(Captured):
        module._model_runs(scenario, CUT, 90, 2, 1)
    (run,) = seen
    # the run starts at the cut and the recorded state holds on that same day, not 180 days later
    assert run.start == CUT and run.days == 90
    assert run.release.state_day == 0
    assert run.release.days_since_release == scenario.release.days_since_release
