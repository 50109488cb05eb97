"""``score --convention``: one small log scored by hand the way dorasim, Four Keys and Apache DevLake
define each metric (docs/conventions.md), then the command line's ``all`` and ``--by team``.

The worked example (UTC; window 2024-01-01 to 2024-01-15, 14 days; Jan 1 is a Monday):

    D1 Jan 1 12:00 ships C1 (created Jan 1 10:00), C2 (Jan 1 12:00)
    D2 Jan 3 12:00 ships C3 (Jan 2 12:00)
    D3 Jan 3 18:00 ships C4 (Jan 3 19:00 — after the deployment) and C3 again
    D4 Jan 10 12:00 ships C5 (Jan 9 12:30), C7 (Jan 10 11:00);  C6 (Jan 10 13:00) is never deployed
    I1 Jan 3 20:00 → 23:30, deploy D3, root cause C3
    I2 Jan 10 12:00 → 14:00, deploy D4, root cause C5   (opened at D4's very instant)
    I3 Jan 5 00:00 → 01:00, no deployment (not caused by a change)
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim.cli import main
from sim.errors import InputError
from sim.metrics.conventions import score_convention
from sim.metrics.devlake import lower_median
from sim.metrics.logs import EventLogs, make_logs, write_logs
from sim.metrics.teams import score_by_team

WINDOW = {"start": "2024-01-01", "end": "2024-01-15"}


@pytest.fixture(scope="module")
def logs() -> EventLogs:
    changes = [
        ("C1", "2024-01-01T10:00"),
        ("C2", "2024-01-01T12:00"),
        ("C3", "2024-01-02T12:00"),
        ("C4", "2024-01-03T19:00"),
        ("C5", "2024-01-09T12:30"),
        ("C6", "2024-01-10T13:00"),
        ("C7", "2024-01-10T11:00"),
    ]
    deployments = [
        ("D1", "2024-01-01T12:00", "C1 C2"),
        ("D2", "2024-01-03T12:00", "C3"),
        ("D3", "2024-01-03T18:00", "C4 C3"),
        ("D4", "2024-01-10T12:00", "C5 C7"),
    ]
    incidents = [
        ("I1", "2024-01-03T20:00", "2024-01-03T23:30", "D3", "C3"),
        ("I2", "2024-01-10T12:00", "2024-01-10T14:00", "D4", "C5"),
        ("I3", "2024-01-05T00:00", "2024-01-05T01:00", "", ""),
    ]
    return make_logs(
        [{"change_id": c, "time_created": t} for c, t in changes],
        [{"deploy_id": d, "time_created": t, "change_ids": ids} for d, t, ids in deployments],
        [
            {"incident_id": i, "time_created": t, "time_resolved": r, "deploy_id": d, "root_cause": rc}
            for i, t, r, d, rc in incidents
        ],
    )


def scored(logs: EventLogs, convention: str) -> dict:
    return score_convention(logs.changes, logs.deployments, logs.incidents, convention=convention, **WINDOW)


def test_dora_is_todays_score(logs):
    result = scored(logs, "dora")
    m = result["metrics"]
    assert m["deployment_frequency_per_day"] == pytest.approx(4 / 14)
    assert m["lead_time_hours"] == pytest.approx(2.0)  # [0, 1, 2, 23.5, 24]; C4's −1 h excluded
    assert m["change_failure_rate"] == 0.5  # D3 and D4 named
    assert m["time_to_restore_hours"] == pytest.approx(2.75)  # I1 3.5 h, I2 2 h; I3 names no deployment
    assert "convention" not in result


def test_fourkeys_by_hand(logs):
    result = scored(logs, "fourkeys")
    m, details = result["metrics"], result["details"]
    # weeks from Sunday: Jan 1–6 has 2 deployment days, Jan 7–13 has 1, Jan 14 has 0 → median 1
    assert details["deployment_days_per_week_median"] == 1
    assert m["deployment_frequency_per_day"] == pytest.approx(1 / 7)
    assert details["deployment_frequency_label"] == "Weekly"
    assert result["bands"]["deployment_frequency"] == "high"  # the band follows Four Keys' own label
    # (deployment, change) pairs in minutes: 120, 0 (dropped), 1440, −60 (dropped), 1800, 1410, 60
    assert details["lead_time_pairs"] == 5
    assert m["lead_time_hours"] == pytest.approx(1410 / 60)  # median of 60, 120, 1410, 1440, 1800
    assert details["lead_time_label"] == "One day"
    # I1's root cause C3 is listed by D2 and D3 (2 matches), I2's C5 by D4 (1): 3 / 4 deployments
    assert m["change_failure_rate"] == pytest.approx(0.75)
    assert details["change_failure_rate_label"] == "46-60%"
    # from the earlier of opening and the root cause's first deployment, whole hours:
    # I1 from D2 (Jan 3 12:00) to 23:30 → 11; I2 2; I3 1 → median 2
    assert m["time_to_restore_hours"] == 2
    assert m["rework_rate"] is None


def test_fourkeys_change_failure_rate_can_exceed_one():
    logs = make_logs(
        [{"change_id": "C", "time_created": "2024-01-01"}],
        [{"deploy_id": "D", "time_created": "2024-01-02", "change_ids": "C"}],
        [
            {
                "incident_id": f"I{k}",
                "time_created": "2024-01-03",
                "time_resolved": "",
                "deploy_id": "D",
                "root_cause": "C",
            }
            for k in range(2)
        ],
    )
    assert scored(logs, "fourkeys")["metrics"]["change_failure_rate"] == 2.0
    assert scored(logs, "dora")["metrics"]["change_failure_rate"] == 1.0


def test_devlake_by_hand(logs):
    result = scored(logs, "devlake")
    m, details = result["metrics"], result["details"]
    # weeks from Monday: Jan 1–7 has 2 deployment days, Jan 8–14 has 1 → lower median 1
    assert details["deployment_days_per_week_median"] == 1
    assert details["deployment_days_per_month_median"] == 3
    assert m["deployment_frequency_per_day"] == pytest.approx(1 / 7)
    assert result["bands"]["deployment_frequency"] == "high"
    # C1, C2 shipped by the very first deployment: dropped; C3 1440, C4 −60 → 0, C5 1410, C7 60
    assert details["changes_dropped_first_deployment"] == 2
    assert m["lead_time_hours"] == pytest.approx(1.0)  # lower middle of 0, 60, 1410, 1440
    # every incident attached to the last deployment strictly before it: I1, I2 (tie with D4), I3 → D3
    assert details["incidents_attached"] == 3
    assert m["change_failure_rate"] == pytest.approx(0.25)
    # from D3 (Jan 3 18:00) to each resolution: 330, 9840, 1860 minutes → lower middle 1860
    assert m["time_to_restore_hours"] == pytest.approx(31.0)


def test_lower_median():
    assert lower_median([4, 1, 3, 2]) == 2
    assert lower_median([5]) == 5
    assert lower_median([]) is None


def test_all_on_the_command_line_is_keyed_by_convention(logs, tmp_path, capsys):
    write_logs(logs, tmp_path)
    args = [
        "score",
        "--changes",
        str(tmp_path / "changes.csv"),
        "--deployments",
        str(tmp_path / "deployments.csv"),
        "--incidents",
        str(tmp_path / "incidents.csv"),
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-15",
    ]
    assert main([*args, "--convention", "all", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["dora", "fourkeys", "devlake"]
    assert doc["devlake"]["metrics"]["change_failure_rate"] == pytest.approx(0.25)
    assert main([*args, "--convention", "all"]) == 0
    table = capsys.readouterr().out
    assert "Four Keys" in table and "Apache DevLake" in table and "75.0 %" in table
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == scored(logs, "dora")


def test_unknown_convention_is_one_line(logs, tmp_path, capsys):
    write_logs(logs, tmp_path)
    code = main(
        [
            "score",
            "--changes",
            str(tmp_path / "changes.csv"),
            "--deployments",
            str(tmp_path / "deployments.csv"),
            "--incidents",
            str(tmp_path / "incidents.csv"),
            "--convention",
            "linearb",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--convention 'linearb': choose one of dora, fourkeys, devlake, all" in err


# ---------------------------------------------------------------------------------------------
# --by team


@pytest.fixture()
def team_logs(logs) -> EventLogs:
    teams = {"changes": [1, 1, 2, 2, 1, 1, 1], "deployments": [1, 2, 2, 1], "incidents": [2, 1, 1]}
    frames = {k: f.assign(team=teams[k]) for k, f in logs.frames().items()}
    return EventLogs(frames["changes"], frames["deployments"], frames["incidents"])


def test_by_team_scores_each_teams_rows_over_the_pooled_window(team_logs):
    result = score_by_team(team_logs, **WINDOW)
    assert [t["team"] for t in result["teams"]] == [1, 2]
    one, two = result["teams"]
    assert one["counts"]["deployments"] == 2 and two["counts"]["deployments"] == 2
    assert one["window_days"] == two["window_days"] == result["window_days"] == 14
    assert result["metrics"] == scored(team_logs, "dora")["metrics"]  # the pooled score is unchanged
    assert two["metrics"]["change_failure_rate"] == 0.5  # I1 names D3 (team 2)


def test_by_team_without_windows_uses_the_pooled_default_window(team_logs):
    result = score_by_team(team_logs)
    assert all(t["window_days"] == result["window_days"] for t in result["teams"])


def test_by_team_with_all(team_logs):
    result = score_by_team(team_logs, convention="all", **WINDOW)
    assert list(result) == ["dora", "fourkeys", "devlake"]
    assert [t["team"] for t in result["devlake"]["teams"]] == [1, 2]


def test_by_team_needs_the_column(logs, tmp_path, capsys):
    with pytest.raises(InputError, match=r"--by team: changes\.csv has no team column"):
        score_by_team(logs)
    write_logs(logs, tmp_path)
    code = main(
        [
            "score",
            "--changes",
            str(tmp_path / "changes.csv"),
            "--deployments",
            str(tmp_path / "deployments.csv"),
            "--incidents",
            str(tmp_path / "incidents.csv"),
            "--by",
            "team",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no team column" in err


def test_by_team_on_the_command_line(team_logs, tmp_path, capsys):
    write_logs(team_logs, tmp_path)
    args = [
        "score",
        "--changes",
        str(tmp_path / "changes.csv"),
        "--deployments",
        str(tmp_path / "deployments.csv"),
        "--incidents",
        str(tmp_path / "incidents.csv"),
        "--by",
        "team",
    ]
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [t["team"] for t in doc["teams"]] == [1, 2] and "metrics" in doc
    assert main(args) == 0
    assert "Team 2" in capsys.readouterr().out


def test_empty_logs_score_under_every_convention():
    empty = make_logs([], [], [])
    for name in ("fourkeys", "devlake"):
        result = score_convention(empty.changes, empty.deployments, empty.incidents, convention=name)
        assert result["metrics"]["deployment_frequency_per_day"] is None
        assert result["warnings"]


def test_devlake_recovery_time_keeps_incidents_resolved_inside_the_window():
    """DevLake's dashboard filters the resolution date to the window: one resolved after it is not timed."""
    logs = make_logs(
        [{"change_id": "C1", "time_created": "2024-01-01T00:00"}],
        [{"deploy_id": "D1", "time_created": "2024-01-02T00:00", "change_ids": "C1"}],
        [
            {
                "incident_id": "I1",
                "time_created": "2024-01-03T00:00",
                "time_resolved": "2024-01-04T00:00",
                "deploy_id": "D1",
            },
            {
                "incident_id": "I2",
                "time_created": "2024-01-05T00:00",
                "time_resolved": "2024-03-01T00:00",
                "deploy_id": "D1",
            },
        ],
    )
    result = scored(logs, "devlake")
    assert result["details"]["resolved_incidents"] == 1
    assert result["metrics"]["time_to_restore_hours"] == pytest.approx(48.0)  # D1 → I1's resolution only
    assert scored(logs, "dora")["metrics"]["time_to_restore_hours"] == pytest.approx((24 + 56 * 24) / 2)


@pytest.mark.parametrize("window_days, expected_days, expected_frequency", [(400, 400, 1.0), (800, 400, 0.0)])
def test_devlake_deployment_frequency_looks_at_the_last_400_days_only(
    window_days, expected_days, expected_frequency
):
    """Daily deployments in the window's first 400 days, none after: DevLake's calendar (today − 0..399
    days, today = the window's last day) sees them only when the window is no longer than that."""
    start = pd.Timestamp("2020-01-06", tz="UTC")  # a Monday
    days = [start + pd.Timedelta(days=d) for d in range(400)]
    logs = make_logs(
        [], [{"deploy_id": f"D{i}", "time_created": t, "change_ids": ""} for i, t in enumerate(days)], []
    )
    end = start + pd.Timedelta(days=window_days)
    result = score_convention(
        logs.changes, logs.deployments, logs.incidents, convention="devlake", start=start, end=end
    )
    assert result["details"]["deployment_frequency_days"] == expected_days
    assert result["metrics"]["deployment_frequency_per_day"] == pytest.approx(expected_frequency)
    assert score_convention(
        logs.changes, logs.deployments, logs.incidents, convention="dora", start=start, end=end
    )["metrics"]["deployment_frequency_per_day"] == pytest.approx(400 / window_days)
