"""``calibrate`` on logs with a team column: every team calibrated, assembled into one organisation
(sim.analysis.calibrate_org) that ``plan`` and ``forecast`` run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibrate_org import _team_runs as calibrate_org_runs
from sim.analysis.calibrate_org import calibrate_org, team_names
from sim.analysis.ci_facts import read_ci_runs
from sim.analysis.plan import load_plan
from sim.cli import main
from sim.errors import InputError
from sim.metrics.logs import EventLogs, write_logs
from sim.model.delivery import simulate
from sim.model.flow.work import team_size
from sim.model.records import to_logs
from sim.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
ORG = load_scenario(ROOT / "scenarios" / "org_baseline.toml")
BASE = load_scenario(ROOT / "scenarios" / "baseline.toml")


def org_logs(days: int = 42, seed: int = 3, **values) -> EventLogs:
    """One replication of a small organisation (``events`` writes a team column in all three files)."""
    scenario = ORG.with_values(
        {
            "days": days,
            "org.teams": 3,
            "team.engineers": 12,
            "ci.runners": 3,
            **{k.replace("__", "."): v for k, v in values.items()},
        }
    )
    window = to_logs(simulate(scenario, seed, 0))
    return EventLogs(window.changes, window.deployments, window.incidents)


def two_teams_of_different_sizes() -> EventLogs:
    """Two single-team histories of 3 and 9 engineers over the same days, named web and api."""
    frames = []
    for team, engineers, seed in (("web", 3, 1), ("api", 9, 2)):
        scenario = BASE.with_values({"days": 42, "team.engineers": engineers, "release.cadence": "daily"})
        logs = to_logs(simulate(scenario, seed, 0))
        parts = []
        for frame, ids in (
            (logs.changes, ("change_id",)),
            (logs.deployments, ("deploy_id",)),
            (logs.incidents, ("incident_id", "deploy_id")),
        ):
            frame = frame.copy()
            for column in ids:
                frame[column] = frame[column].map(
                    lambda v, t=team: f"{t}:{v}" if isinstance(v, str) and v else v
                )
            if "change_ids" in frame:
                frame["change_ids"] = frame["change_ids"].map(
                    lambda cell, t=team: (
                        " ".join(f"{t}:{c}" for c in str(cell).split()) if isinstance(cell, str) else cell
                    )
                )
            frame["team"] = team
            parts.append(frame)
        frames.append(parts)
    return EventLogs(*(pd.concat([a, b], ignore_index=True) for a, b in zip(*frames, strict=True)))


@pytest.fixture(scope="module")
def org_result():
    logs = org_logs()
    return logs, calibrate_org(logs, base=BASE, reps=2, check_reps=3, workers=1)


def test_every_team_becomes_a_team_of_the_organisation(org_result):
    _, result = org_result
    plan = result.plan
    assert plan.scenario.org.teams == 3
    assert [sorted(p.teams) for p in plan.phases] == [[0], [1], [2]]
    assert all(
        p.day == 0 and p.ramp_days == 0 and p.capacity_cost == 0 and p.defect_cost == 0 for p in plan.phases
    )
    teams = result.report["teams"]
    assert [t["team"] for t in teams] == ["1", "2", "3"]
    assert plan.scenario.team.engineers == sum(t["engineers_observed"] for t in teams)
    for k, team in enumerate(teams):
        own = team["calibration"]["parameters"]
        output = own["team.engineers"]["value"] * own["team.changes_per_engineer_per_day"]["value"]
        rate = plan.phases[k].values.get(
            "team.changes_per_engineer_per_day", plan.scenario.team.changes_per_engineer_per_day
        )
        assert team_size(k, plan.scenario.team.engineers, 3) * rate == pytest.approx(output, rel=1e-4)


def test_the_report_keeps_the_calibration_contract(org_result):
    _, result = org_result
    report = json.loads(json.dumps(result.report, allow_nan=False))
    for key in ("window", "fit", "stability", "missing", "warnings", "parameters", "metrics"):
        assert key in report
    for key in (
        "deployment_frequency_per_day",
        "lead_time_hours",
        "change_failure_rate",
        "time_to_restore_hours",
    ):
        assert {"observed", "simulated_p50", "within_bar"} <= set(report["metrics"][key])
        for team in report["teams"]:
            assert {"observed", "simulated_p50", "within_bar"} <= set(team["metrics"][key])
    assert report["parameters"]["org.teams"]["value"] == 3
    assert report["shared"]["team.engineers"]["value"] == result.plan.scenario.team.engineers


def test_each_team_simulated_in_the_organisation_ships_about_what_its_logs_show(org_result):
    _, result = org_result
    for team in result.report["teams"]:
        row = team["metrics"]["deployment_frequency_per_day"]
        assert row["simulated_p50"] == pytest.approx(row["observed"], rel=0.35)


def test_the_written_file_runs_with_plan_and_a_plan_may_extend_it(org_result, tmp_path, capsys):
    _, result = org_result
    (tmp_path / "org.toml").write_text(result.toml)
    (tmp_path / "next.toml").write_text(
        'extends = "org.toml"\nname = "next"\nreps = 2\n[[phase]]\nday = 7\n'
        'name = "team 1 automates"\nramp_days = 7\nteams = [1]\n'
        'set = { "release.deploy" = "automated" }\n'
    )
    plan = load_plan(tmp_path / "next.toml")
    assert [p.name for p in plan.phases][-1] == "team 1 automates"
    assert len(plan.phases) == 4
    assert main(["plan", str(tmp_path / "next.toml"), "--reps", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"] == "next"
    assert main(["run", str(tmp_path / "org.toml"), "--reps", "1"]) == 2
    assert "is a plan" in capsys.readouterr().err
    start = result.plan.scenario.start + dt.timedelta(days=7)
    assert (
        main(
            [
                "forecast",
                str(tmp_path / "org.toml"),
                "--changes",
                "20",
                "--start",
                start.isoformat(),
                "--reps",
                "3",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["p50"] is not None
    # a file that only extends the organisation is a plan too: its teams' phases come with it
    (tmp_path / "as_is.toml").write_text('extends = "org.toml"\nname = "as is"\n')
    assert (
        main(
            [
                "forecast",
                str(tmp_path / "as_is.toml"),
                "--changes",
                "20",
                "--start",
                start.isoformat(),
                "--reps",
                "3",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["p50"] is not None


def test_cli_writes_the_organisation_and_shows_each_team(tmp_path, capsys):
    write_logs(org_logs(days=28), tmp_path)
    out = tmp_path / "org.toml"
    assert (
        main(
            [
                "calibrate",
                "--changes",
                str(tmp_path / "changes.csv"),
                "--deployments",
                str(tmp_path / "deployments.csv"),
                "--incidents",
                str(tmp_path / "incidents.csv"),
                "--out",
                str(out),
                "--reps",
                "1",
                "--check-reps",
                "2",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "Organisation calibration" in text
    assert "organisation" in text and "org.toml" in text
    assert load_plan(out).scenario.org.teams == 3


def test_team_sizes_the_model_cannot_hold_are_scaled_and_said(tmp_path):
    logs = two_teams_of_different_sizes()
    result = calibrate_org(logs, base=BASE, reps=1, check_reps=2, workers=1)
    assert any(w.startswith("team sizes:") for w in result.warnings)
    teams = {t["team"]: t for t in result.report["teams"]}
    assert teams["api"]["engineers_observed"] > teams["web"]["engineers_observed"]
    sizes = {t["engineers_in_model"] for t in teams.values()}
    assert max(sizes) - min(sizes) <= 1  # the model deals engineers in turn
    rates = [
        p.values.get(
            "team.changes_per_engineer_per_day", result.plan.scenario.team.changes_per_engineer_per_day
        )
        for p in result.plan.phases
    ]
    assert rates[list(teams).index("api")] > rates[list(teams).index("web")]


def test_ci_runs_are_shared_out_by_commit_and_the_pool_is_the_organisations():
    logs = org_logs()
    rng = np.random.default_rng(4)
    changes = logs.changes.sample(n=300, random_state=1)
    start = pd.Timestamp(logs.deployments["time_created"].min())
    queued = start + pd.to_timedelta(np.sort(rng.uniform(0, 30 * 24, len(changes))), unit="h")
    minutes = np.where(changes["team"].astype(str) == "1", 10.0, 40.0) * rng.gamma(25, 1 / 25, len(changes))
    runs = pd.DataFrame(
        {
            "run_id": [str(i) for i in range(len(changes))],
            "commit": changes["change_id"].to_numpy(),
            "time_queued": queued,
            "time_started": queued + pd.Timedelta(seconds=20),
            "time_finished": queued + pd.Timedelta(seconds=20) + pd.to_timedelta(minutes, unit="m"),
            "conclusion": "success",
            "attempt": 1,
            "workflow": "ci",
            "branch": "main",
        }
    )
    result = calibrate_org(logs, base=BASE, reps=1, check_reps=2, workers=1, ci_runs=runs)
    suites = {
        t["team"]: t["calibration"]["parameters"]["ci.test_suite_minutes"] for t in result.report["teams"]
    }
    assert suites["1"]["from"] == "CI runs"
    assert suites["1"]["value"] == pytest.approx(10.0, rel=0.15)
    assert suites["2"]["value"] == pytest.approx(40.0, rel=0.15)
    assert "CI runs" in result.report["shared"]["ci.runners"]["rule"]
    assert "estimated from CI runs" in result.toml


def test_logs_without_a_team_column_are_one_team_and_half_named_teams_are_an_error():
    logs = org_logs()
    assert team_names(EventLogs(logs.changes.drop(columns="team"), logs.deployments, logs.incidents)) == []
    with pytest.raises(
        InputError, match=r"^calibrate: changes\.csv has a team column but incidents\.csv has none"
    ):
        team_names(EventLogs(logs.changes, logs.deployments, logs.incidents.drop(columns="team")))


def test_cli_a_team_without_releases_in_the_window_is_one_line(tmp_path, capsys):
    logs = org_logs()
    deployments = logs.deployments
    times = pd.to_datetime(deployments["time_created"], utc=True)
    first = times.min().normalize()
    cut = first + pd.Timedelta(days=21)
    kept = deployments[(deployments["team"].astype(str) != "3") | (times >= cut)].reset_index(drop=True)
    incidents = logs.incidents[logs.incidents["deploy_id"].isin(kept["deploy_id"])].reset_index(drop=True)
    write_logs(EventLogs(logs.changes, kept, incidents), tmp_path)
    args = [
        "calibrate",
        "--changes",
        str(tmp_path / "changes.csv"),
        "--deployments",
        str(tmp_path / "deployments.csv"),
        "--incidents",
        str(tmp_path / "incidents.csv"),
        "--out",
        str(tmp_path / "org.toml"),
        "--reps",
        "1",
        "--check-reps",
        "1",
    ]
    assert main([*args, "--start", str(first.date()), "--end", str(cut.date())]) == 2
    err = capsys.readouterr().err
    assert "team 3 has no deployment in the window" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "org.toml").exists()


def test_a_team_column_of_the_ci_runs_shares_them_out(tmp_path):
    header = "run_id,commit,time_queued,time_started,time_finished,conclusion,attempt,branch,team\n"
    rows = [
        f"{k},{k:07x}a,2026-01-05T10:{k:02d}:00Z,2026-01-05T10:{k:02d}:30Z,2026-01-05T11:{k:02d}:00Z,success,1,"
        f"main,{'web' if k % 2 else 'api'}\n"
        for k in range(1, 21)
    ]
    path = tmp_path / "ci_runs.csv"
    path.write_text(header + "".join(rows))
    runs = read_ci_runs(path)
    assert sorted(runs["team"].unique()) == ["api", "web"]
    logs = two_teams_of_different_sizes()
    web = calibrate_org_runs(runs, "web", logs)
    assert web is not None
    assert set(web["team"]) == {"web"}


def test_the_organisation_does_not_depend_on_the_number_of_workers():
    logs = org_logs(days=28)
    one = calibrate_org(logs, base=BASE, reps=1, check_reps=2, workers=1)
    two = calibrate_org(logs, base=BASE, reps=1, check_reps=2, workers=2)
    assert one.toml == two.toml
    assert one.report == two.report


def test_the_release_law_comes_from_a_team_releasing_when_ready_not_the_busiest():
    from sim.analysis.calibrate_org_assembly import shared_values

    weekly = BASE.with_values({"release.cadence": "weekly", "release.gap_days": 14.0})
    irregular = BASE.with_values(
        {"release.cadence": "irregular", "release.gap_days": 5.0, "release.window_hours": 0.25}
    )
    warnings: list[str] = []
    shared = shared_values(
        ["web", "api"], {"web": weekly, "api": irregular}, ["web", "api"], None, 16, warnings
    )
    assert shared["release.gap_days"]["value"] == 5.0
    assert "api" in shared["release.gap_days"]["rule"]
    assert shared["release.window_hours"]["value"] == weekly.release.window_hours  # the calendar team's
    # each key matters to one team only: nothing to warn about
    assert not any(w.startswith(("release.gap_days", "release.window_hours")) for w in warnings)
    assert shared["team.engineers"]["value"] == 16
