"""The throughput Monte Carlo (``sim.analysis.throughput``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.analysis.throughput import daily_released, ship_days, throughput_forecast, throughput_from_logs
from sim.errors import InputError
from sim.metrics.logs import make_logs
from sim.metrics.scoring import columns_from_frames

CUT = dt.date(2026, 3, 2)


def weekly_logs(weeks: int = 30, per_release: int = 7, until: dt.date = CUT):
    """One change a day; a release every Monday 10:00 shipping the week's changes."""
    changes, deployments = [], []
    first = until - dt.timedelta(weeks=weeks)
    pending: list[str] = []
    for day in range(weeks * 7):
        date = first + dt.timedelta(days=day)
        if date.weekday() == 0 and pending:
            deployments.append(
                {
                    "deploy_id": f"r{day}",
                    "time_created": pd.Timestamp(date, tz="UTC") + pd.Timedelta(hours=10),
                    "change_ids": " ".join(pending),
                }
            )
            pending = []
        cid = f"c{day}"
        changes.append(
            {"change_id": cid, "time_created": pd.Timestamp(date, tz="UTC") + pd.Timedelta(hours=12)}
        )
        pending.append(cid)
    return make_logs(changes, deployments, [])


def test_daily_released_counts_first_deployments_per_day():
    logs = weekly_logs()
    columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    daily = daily_released(columns, CUT - dt.timedelta(days=28), CUT)
    assert len(daily) == 28
    assert daily.sum() == 28  # four releases of seven changes
    assert sorted(set(daily.tolist())) == [0, 7]


def test_a_constant_throughput_ships_on_a_known_day():
    daily = np.array([3])  # three changes every day
    days = ship_days(daily, 10, reps=20, seed=1)
    assert set(days) == {3}  # 3, 6, 9, 12 after days 0..3


def test_no_release_in_the_window_gives_no_ship_date_and_says_so():
    result = throughput_forecast(np.zeros(30, dtype=int), 5, CUT, reps=10)
    assert result["p50"] is None and result["unfinished"] == 10
    assert "not_judged" in result


def test_same_seed_same_days_and_replications_do_not_depend_on_their_count():
    daily = np.array([0, 0, 5, 0, 1, 0, 9])
    assert ship_days(daily, 20, 50, seed=3) == ship_days(daily, 20, 50, seed=3)
    assert ship_days(daily, 20, 10, seed=3) == ship_days(daily, 20, 50, seed=3)[:10]


def test_more_work_takes_longer():
    daily = np.array([0, 2, 0, 0, 7, 1])
    small = np.array(ship_days(daily, 5, 200, seed=2), dtype=float)
    big = np.array(ship_days(daily, 50, 200, seed=2), dtype=float)
    assert np.all(big >= small)


def test_forecast_from_logs_has_the_forecast_shape():
    result = throughput_from_logs(weekly_logs(), 14, CUT, window_days=56, reps=200, seed=1)
    for key in ("p5", "p10", "p50", "p85", "p95", "days_p50", "ship_dates", "window", "method"):
        assert key in result
    assert result["window"] == {
        "start": (CUT - dt.timedelta(days=56)).isoformat(),
        "end": CUT.isoformat(),
        "days": 56,
    }
    # 14 changes need two release days of 7: at least 1 day, at most the horizon
    assert 1 <= result["days_p5"] <= result["days_p50"] <= result["days_p95"]


def test_bad_input_is_one_line():
    with pytest.raises(InputError, match="--changes 0"):
        ship_days(np.array([1]), 0, 1, seed=0)
    with pytest.raises(InputError, match="--reps 0"):
        throughput_forecast(np.array([1]), 3, CUT, reps=0)
