"""DORA scoring on tiny hand-made logs; every expected number is worked out in a comment."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from sim.errors import InputError
from sim.metrics.scoring import BAND_KEYS, COUNT_KEYS, METRIC_KEYS, score, score_logs

# A ten-day window, 2024-01-01 (inclusive) to 2024-01-11 (exclusive).
START, END = "2024-01-01", "2024-01-11"

CHANGES = [
    ("C1", "2024-01-01T00:00:00Z"),  # first deployed D1 01-01 10:00 -> 10 h
    ("C2", "2024-01-01T06:00:00Z"),  # D1 -> 4 h
    ("C3", "2024-01-02T00:00:00Z"),  # D2 01-03 00:00 -> 24 h (shipped again by D3: ignored)
    ("C4", "2024-01-02T12:00:00Z"),  # D3 01-05 00:00 -> 60 h
    ("C5", "2024-01-09T00:00:00Z"),  # never deployed
]
DEPLOYMENTS = [
    ("D1", "2024-01-01T10:00:00Z", "C1 C2", False),
    ("D2", "2024-01-03T00:00:00Z", "C3", False),
    ("D3", "2024-01-05T00:00:00Z", "C3 C4", True),
    ("D4", "2024-01-08T00:00:00Z", "", False),
]
INCIDENTS = [
    ("I1", "2024-01-03T01:00:00Z", "2024-01-03T04:00:00Z", "D2"),  # 3 h
    ("I2", "2024-01-03T02:00:00Z", "2024-01-03T03:00:00Z", "D2"),  # 1 h, same deployment
    ("I3", "2024-01-05T00:30:00Z", "2024-01-05T06:30:00Z", "D3"),  # 6 h
    ("I4", "2024-01-06T00:00:00Z", None, "D1"),  # open: fails D1, not timed
    ("I5", "2024-01-07T00:00:00Z", "2024-01-07T05:00:00Z", None),  # no change: not in CFR nor TTR
]


@pytest.fixture
def team(logs_from):
    return logs_from(CHANGES, DEPLOYMENTS, INCIDENTS)


def test_every_metric_by_hand(team):
    result = score_logs(team, start=START, end=END)
    assert result["window_days"] == 10
    assert result["metrics"] == {
        "deployment_frequency_per_day": 4 / 10,
        "lead_time_hours": (10 + 24) / 2,  # sorted 4, 10, 24, 60
        "change_failure_rate": 3 / 4,  # D1, D2, D3 named by incidents
        "time_to_restore_hours": 3.0,  # sorted 1, 3, 6
        "rework_rate": 1 / 4,  # D3
    }
    assert result["counts"] == {"changes": 5, "deployments": 4, "incidents": 5, "undeployed_changes": 1}
    assert result["bands"] == {
        "deployment_frequency": "high",
        "lead_time": "elite",
        "change_failure_rate": "low",
        "time_to_restore": "high",
        "overall": "low",
    }
    assert result["warnings"] == []


def test_result_has_exactly_the_documented_keys_and_plain_json_values(team):
    result = score_logs(team, start=START, end=END)
    assert list(result) == ["window_days", "metrics", "bands", "counts", "warnings"]
    assert tuple(result["metrics"]) == METRIC_KEYS
    assert tuple(result["bands"]) == BAND_KEYS
    assert tuple(result["counts"]) == COUNT_KEYS
    assert all(type(v) is float for v in result["metrics"].values())
    assert all(type(v) is int for v in result["counts"].values())
    assert json.loads(json.dumps(result, allow_nan=False)) == result


def test_default_window_is_the_calendar_days_of_the_deployments_and_incidents(team):
    # earliest deployment 01-01 10:00 (D1), latest 01-08 00:00 (D4); incidents fall inside:
    # days 01-01 .. 01-08 inclusive. C5 (created 01-09) is outside and not counted at all.
    result = score_logs(team)
    assert result["window_days"] == 8
    assert result["metrics"]["deployment_frequency_per_day"] == 4 / 8
    assert result["counts"]["undeployed_changes"] == 0
    assert result["warnings"][0] == (
        "window inferred from the deployments and incidents: 2024-01-01 to 2024-01-08 "
        "(8 days, inclusive); set it with --start/--end"
    )


def test_late_resolutions_and_old_changes_never_widen_the_default_window(logs_from):
    logs = logs_from(
        [
            ("C0", "2023-11-01T08:00:00Z"),
            ("C1", "2024-01-01T08:00:00Z"),
        ],  # an old commit shipped in the window
        [("D1", "2024-01-01T09:00:00Z", "C0 C1"), ("D2", "2024-01-05T09:00:00Z", "")],
        [("I1", "2024-01-01T10:00:00Z", "2024-03-01T00:00:00Z", "D1")],  # resolved 60 days later
    )
    result = score_logs(logs)
    assert result["window_days"] == 5  # 01-01 .. 01-05
    assert result["metrics"]["deployment_frequency_per_day"] == 2 / 5
    assert result["metrics"]["time_to_restore_hours"] == pytest.approx(24 * 59 + 14)  # still timed in full
    assert result["counts"]["changes"] == 2  # C0 counts: its first deployment is in the window


def test_an_explicit_window_gives_no_inferred_window_warning(team):
    assert score_logs(team, start=START, end=END)["warnings"] == []


def test_even_count_median_is_the_mean_of_the_two_middle_values(logs_from):
    logs = logs_from(
        [("A", "2024-01-01T00:00:00Z"), ("B", "2024-01-01T00:00:00Z")],
        [("D1", "2024-01-01T01:00:00Z", "A"), ("D2", "2024-01-01T04:00:00Z", "B")],  # 1 h and 4 h
        [
            ("I1", "2024-01-01T05:00:00Z", "2024-01-01T05:30:00Z", "D1"),  # 0.5 h
            ("I2", "2024-01-01T05:00:00Z", "2024-01-01T07:00:00Z", "D2"),  # 2 h
        ],
    )
    metrics = score_logs(logs)["metrics"]
    assert metrics["lead_time_hours"] == 2.5
    assert metrics["time_to_restore_hours"] == 1.25


def test_empty_sets_give_null(logs_from):
    logs = logs_from([("C1", "2024-01-02T00:00:00Z")], [], [])
    result = score_logs(logs, start=START, end=END)
    assert result["metrics"] == {
        "deployment_frequency_per_day": 0.0,  # zero deployments in ten days is a rate, not a gap
        "lead_time_hours": None,
        "change_failure_rate": None,
        "time_to_restore_hours": None,
        "rework_rate": None,
    }
    assert result["counts"] == {"changes": 1, "deployments": 0, "incidents": 0, "undeployed_changes": 1}
    assert result["bands"]["deployment_frequency"] == "low"
    assert result["bands"]["lead_time"] is None
    assert result["bands"]["overall"] == "low"  # keys without data do not block overall


def test_logs_without_any_row_give_an_empty_window(logs_from):
    result = score_logs(logs_from())
    assert result["window_days"] == 0
    assert set(result["metrics"].values()) == {None}
    assert result["counts"] == dict.fromkeys(COUNT_KEYS, 0)
    assert len(result["warnings"]) == 1


def test_only_incidents_with_a_deploy_id_are_timed(logs_from):
    logs = logs_from(
        [("C1", "2024-01-01T00:00:00Z")],
        [("D1", "2024-01-01T01:00:00Z", "C1")],
        [("I1", "2024-01-01T02:00:00Z", "2024-01-01T12:00:00Z", None)],
    )
    result = score_logs(logs)
    assert result["metrics"]["time_to_restore_hours"] is None
    assert result["metrics"]["change_failure_rate"] == 0.0
    assert result["counts"]["incidents"] == 1


# ---- window rules ------------------------------------------------------------------------------


def test_change_first_deployed_before_the_window_is_excluded_even_when_shipped_again(logs_from):
    logs = logs_from(
        [("OLD", "2023-12-30T00:00:00Z"), ("NEW", "2024-01-01T00:00:00Z")],
        [
            ("D0", "2023-12-31T00:00:00Z", "OLD"),  # first deployment of OLD: before the window
            ("D1", "2024-01-02T00:00:00Z", "OLD NEW"),  # 24 h for NEW; OLD shipped again
        ],
        [],
    )
    result = score_logs(logs, start=START, end=END)
    assert result["metrics"]["lead_time_hours"] == 24.0
    assert result["counts"]["changes"] == 1
    assert result["counts"]["deployments"] == 1


def test_change_created_before_the_window_and_first_deployed_inside_counts(logs_from):
    logs = logs_from(
        [("EARLY", "2023-12-31T12:00:00Z")],
        [("D1", "2024-01-01T06:00:00Z", "EARLY")],  # 18 h, across the window start
        [],
    )
    result = score_logs(logs, start=START, end=END)
    assert result["metrics"]["lead_time_hours"] == 18.0
    assert result["counts"]["changes"] == 1


def test_start_is_inclusive_and_end_exclusive(logs_from):
    logs = logs_from(
        [],
        [("AT_START", "2024-01-01T00:00:00Z", ""), ("AT_END", "2024-01-11T00:00:00Z", "")],
        [
            ("I_START", "2024-01-01T00:00:00Z", None, None),
            ("I_END", "2024-01-11T00:00:00Z", None, None),
        ],
    )
    result = score_logs(logs, start=START, end=END)
    assert result["counts"]["deployments"] == 1
    assert result["counts"]["incidents"] == 1


def test_undeployed_means_created_in_the_window_and_not_deployed_by_its_end(logs_from):
    logs = logs_from(
        [
            ("LATE", "2024-01-10T00:00:00Z"),  # created inside, first deployed after the end: undeployed
            ("NEVER", "2024-01-05T00:00:00Z"),  # created inside, never deployed: undeployed
            ("BEFORE", "2023-12-20T00:00:00Z"),  # created before the window, never deployed: not counted
            ("AFTER", "2024-01-12T00:00:00Z"),  # created after the window: not counted
        ],
        [("D9", "2024-01-12T00:00:00Z", "LATE AFTER")],
        [],
    )
    result = score_logs(logs, start=START, end=END)
    assert result["counts"] == {"changes": 2, "deployments": 0, "incidents": 0, "undeployed_changes": 2}
    assert result["metrics"]["lead_time_hours"] is None


def test_change_failure_rate_counts_only_incidents_inside_the_window(logs_from):
    logs = logs_from(
        [],
        [
            ("D0", "2023-12-31T00:00:00Z", ""),
            ("D1", "2024-01-02T00:00:00Z", ""),
            ("D2", "2024-01-03T00:00:00Z", ""),
        ],
        [
            ("IN_OLD", "2024-01-01T01:00:00Z", "2024-01-01T03:00:00Z", "D0"),  # old deployment: TTR only
            ("IN_D1", "2024-01-02T01:00:00Z", "2024-01-02T02:00:00Z", "D1"),  # fails D1, 1 h
            ("AFTER_D2", "2024-01-11T00:00:00Z", "2024-01-11T01:00:00Z", "D2"),  # after the end: ignored
        ],
    )
    result = score_logs(logs, start=START, end=END)
    assert result["metrics"]["change_failure_rate"] == 1 / 2
    assert result["metrics"]["time_to_restore_hours"] == 1.5  # median of 2 h and 1 h
    assert result["counts"]["incidents"] == 2


def test_explicit_window_days_is_a_float_when_not_whole(team):
    result = score_logs(team, start="2024-01-01T00:00:00Z", end="2024-01-01T12:00:00Z")
    assert result["window_days"] == 0.5
    assert result["metrics"]["deployment_frequency_per_day"] == 1 / 0.5  # D1 at 10:00


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-01-01", "2024-01-11"),
        (dt.date(2024, 1, 1), dt.date(2024, 1, 11)),
        (dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 11)),
        ("2024-01-01T02:00:00+02:00", "2024-01-10T19:00:00-05:00"),
        (pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-11", tz="UTC")),
    ],
)
def test_window_bounds_in_any_form_mean_the_same_instants(team, start, end):
    assert score_logs(team, start=start, end=end) == score_logs(team, start=START, end=END)


@pytest.mark.parametrize(("start", "end"), [("2024-01-05", "2024-01-05"), ("2024-01-05", "2024-01-01")])
def test_end_not_after_start_is_an_input_error(team, start, end):
    with pytest.raises(InputError, match="must be after start"):
        score_logs(team, start=start, end=end)


def test_unknown_benchmark_is_an_input_error(team):
    with pytest.raises(InputError, match="2019"):
        score_logs(team, benchmark="2019")


def test_benchmark_2021_uses_its_own_cut_offs(team):
    bands = score_logs(team, start=START, end=END, benchmark=2021)["bands"]
    # LT 17 h: 2021 elite needs < 1 h -> high; DF 0.4: >= 12/365 -> high
    assert bands["lead_time"] == "high"
    assert bands["deployment_frequency"] == "high"


# ---- time zones --------------------------------------------------------------------------------


def test_offsets_are_converted_to_utc_and_naive_times_taken_as_utc(logs_from):
    logs = logs_from(
        [("C1", "2024-01-01T12:00:00+02:00"), ("C2", "2024-01-01T09:00:00")],  # 10:00Z and 09:00Z
        [("D1", "2024-01-01T07:00:00-05:00", "C1 C2")],  # 12:00Z: 2 h and 3 h
        [],
    )
    assert score_logs(logs)["metrics"]["lead_time_hours"] == 2.5


def test_default_window_uses_utc_calendar_days(logs_from):
    # 01:00 at +02:00 is 23:00Z on the day before: both events fall on 2024-01-01 (UTC)
    logs = logs_from([("C1", "2024-01-01T00:30:00Z")], [("D1", "2024-01-02T01:00:00+02:00", "C1")], [])
    assert score_logs(logs)["window_days"] == 1


# ---- cell shapes, warnings ---------------------------------------------------------------------


def test_change_ids_as_lists_score_like_strings(team):
    as_lists = team.deployments.assign(change_ids=team.deployments["change_ids"].str.split().astype(object))
    expected = score_logs(team, start=START, end=END)
    assert score(team.changes, as_lists, team.incidents, start=START, end=END) == expected


def test_unknown_change_ids_are_one_aggregated_warning(logs_from):
    logs = logs_from(
        [("C1", "2024-01-01T00:00:00Z")],
        [
            ("D1", "2024-01-01T01:00:00Z", "C1 X9"),
            ("D2", "2024-01-01T02:00:00Z", "X8"),
            ("D3", "2024-01-01T03:00:00Z", "X7 X6"),
        ],
        [],
    )
    result = score_logs(logs)
    assert result["warnings"][1:] == [
        "deployments.csv: 3 deployments list 4 change ids not in changes.csv (e.g. D1 lists X9); "
        "those ids are ignored"
    ]
    assert result["metrics"]["lead_time_hours"] == 1.0


def test_incident_naming_an_unknown_deployment_is_warned_and_still_timed(logs_from):
    logs = logs_from(
        [],
        [("D1", "2024-01-01T00:00:00Z", "")],
        [("I1", "2024-01-01T01:00:00Z", "2024-01-01T03:00:00Z", "D404")],
    )
    result = score_logs(logs)
    assert result["warnings"][1:] == [
        "incidents.csv: 1 incident names a deploy_id not in deployments.csv (e.g. I1 names D404)"
    ]
    assert result["metrics"]["change_failure_rate"] == 0.0
    assert result["metrics"]["time_to_restore_hours"] == 2.0


def test_negative_lead_time_is_excluded_and_warned(logs_from):
    logs = logs_from(
        [("C1", "2024-01-01T05:00:00Z"), ("C2", "2024-01-01T00:00:00Z")],
        [("D1", "2024-01-01T03:00:00Z", "C1 C2")],  # C1: -2 h, C2: 3 h
        [],
    )
    result = score_logs(logs)
    assert result["metrics"]["lead_time_hours"] == 3.0
    assert result["counts"]["changes"] == 2
    assert result["warnings"][1:] == [
        "changes.csv: 1 change first deployed before being created (e.g. C1, -2.0 h); excluded from lead_time_hours"
    ]


def test_missing_required_column_is_an_input_error(team):
    with pytest.raises(InputError, match=r"deployments\.csv: missing required column 'change_ids'"):
        score(team.changes, team.deployments.drop(columns="change_ids"), team.incidents)
