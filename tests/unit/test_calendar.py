"""The calendar: working hours, release windows per cadence, next deploy opportunity, overtime."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pandas as pd
import pytest

from sim.model.calendar import Calendar, hours_to_ns

MONDAY = dt.date(2026, 1, 5)  # day 0; day 5 is Saturday 10 January, day 33 is Saturday 7 February


def h(day: int, hour: float) -> float:
    """Simulation hours of ``hour`` o'clock on ``day`` days after the origin."""
    return day * 24.0 + hour


@pytest.fixture
def cal() -> Calendar:
    return Calendar(MONDAY, 70, working_hours=8.0, window_hours=8.0)


@pytest.mark.parametrize(
    ("t", "working"),
    [
        (h(0, 9.0), True),
        (h(0, 16.99), True),
        (h(0, 17.0), False),
        (h(0, 8.99), False),
        (h(4, 12.0), True),  # Friday
        (h(5, 12.0), False),
        (h(6, 12.0), False),  # the weekend
        (h(7, 9.0), True),  # Monday again
    ],
)
def test_working_hours_are_nine_to_five_monday_to_friday(cal, t, working):
    assert cal.in_working_hours(t) is working


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (h(0, 10.0), h(0, 10.0)),  # already at work
        (h(0, 7.0), h(0, 9.0)),  # before the day starts
        (h(0, 18.0), h(1, 9.0)),  # after work: next morning
        (h(4, 17.5), h(7, 9.0)),  # Friday evening: Monday morning
        (h(5, 11.0), h(7, 9.0)),  # Saturday: Monday morning
    ],
)
def test_next_working_time(cal, t, expected):
    assert cal.next_working_time(t) == expected


def test_working_day_length_follows_the_scenario():
    short = Calendar(MONDAY, 14, working_hours=6.0)
    assert short.in_working_hours(h(0, 14.99)) and not short.in_working_hours(h(0, 15.0))
    assert short.next_working_time(h(0, 15.5)) == h(1, 9.0)


def test_daily_windows_open_at_15_on_working_days(cal):
    opens = [t for t in cal.window_opens("daily") if t < h(14, 0)]
    assert opens == [h(d, 15.0) for d in range(14) if d % 7 < 5]


def test_weekly_windows_open_saturday_morning(cal):
    opens = [t for t in cal.window_opens("weekly") if t < h(70, 0)]
    assert opens == [h(d, 9.0) for d in range(5, 70, 7)]


def test_biweekly_windows_are_every_other_saturday(cal):
    weekly = set(cal.window_opens("weekly"))
    opens = cal.window_opens("biweekly")
    assert len(opens) >= 4
    assert set(opens) <= weekly
    assert all(b - a == 14 * 24.0 for a, b in pairwise(opens))


def test_monthly_windows_are_the_first_saturday_of_each_month(cal):
    dates = [MONDAY + dt.timedelta(hours=t) for t in cal.window_opens("monthly")]
    dates = [d for d in dates if d < MONDAY + dt.timedelta(days=70)]
    # January's first Saturday (the 3rd) is before the origin
    assert dates == [dt.date(2026, 2, 7), dt.date(2026, 3, 7)]
    assert all(t % 24.0 == 9.0 for t in cal.window_opens("monthly"))


@pytest.mark.parametrize(
    ("cadence", "t", "manual", "allowed"),
    [
        ("daily", h(0, 15.0), True, True),
        ("daily", h(0, 22.99), True, True),
        ("daily", h(0, 23.0), True, False),  # the 8-hour window has closed
        ("daily", h(0, 14.99), False, False),
        ("daily", h(5, 15.0), False, False),  # no daily release on Saturday
        ("weekly", h(5, 9.0), True, True),
        ("weekly", h(5, 16.99), True, True),
        ("weekly", h(5, 17.0), True, False),
        ("weekly", h(4, 15.0), False, False),  # Friday is not the weekly window
        ("continuous", h(5, 3.0), False, True),  # automated: any time
        ("continuous", h(5, 12.0), True, False),  # manual: someone must be at work
        ("continuous", h(2, 10.0), True, True),
    ],
)
def test_may_deploy(cal, cadence, t, manual, allowed):
    assert cal.may_deploy(cadence, t, manual) is allowed


@pytest.mark.parametrize(
    ("cadence", "t", "manual", "expected"),
    [
        ("daily", h(0, 10.0), True, h(0, 15.0)),
        ("daily", h(0, 16.0), True, h(1, 15.0)),  # the next window to open, not the one already open
        ("daily", h(4, 23.5), False, h(7, 15.0)),  # Friday night: Monday
        ("weekly", h(0, 10.0), True, h(5, 9.0)),
        ("weekly", h(5, 9.0), True, h(12, 9.0)),
        ("continuous", h(5, 12.0), True, h(7, 9.0)),  # manual: Monday morning
        ("continuous", h(5, 12.0), False, h(5, 12.0)),  # automated: now
    ],
)
def test_next_opportunity(cal, cadence, t, manual, expected):
    assert cal.next_opportunity(cadence, t, manual) == expected


def test_next_opportunity_agrees_with_may_deploy(cal):
    for cadence in ("daily", "weekly", "biweekly", "monthly"):
        t, found = h(0, 0.5), 0
        while (nxt := cal.next_opportunity(cadence, t, True)) is not None and t < h(70, 0):
            assert nxt > t and cal.may_deploy(cadence, nxt, True)
            assert not cal.may_deploy(cadence, nxt - 0.01, True)
            t, found = nxt, found + 1
        assert found >= 2, cadence


def test_no_opportunity_far_beyond_the_horizon(cal):
    assert cal.next_opportunity("weekly", h(400, 0), True) is None


def weekly_hours(cal: Calendar, overtime: float) -> tuple[float, float]:
    """(all hours, tired hours) an engineer works in the first week."""
    segments = [seg for day in range(7) for seg in cal.work_segments(day, overtime)]
    return sum(length for _, length, _ in segments), sum(length for _, length, tired in segments if tired)


def test_normal_week_is_forty_hours_on_weekdays(cal):
    assert weekly_hours(cal, 1.0) == (40.0, 0.0)
    assert cal.work_segments(5, 1.0) == [] and cal.work_segments(6, 1.0) == []
    assert cal.work_segments(0, 1.0) == [(9.0, 8.0, False)]


@pytest.mark.parametrize("overtime", [1.1, 1.25, 1.5, 1.7])
def test_overtime_adds_tired_hours_in_proportion(cal, overtime):
    total, tired = weekly_hours(cal, overtime)
    assert total == pytest.approx(40.0 * overtime)
    assert tired == pytest.approx(40.0 * (overtime - 1.0))


def test_heavy_overtime_spills_into_weekends(cal):
    assert cal.work_segments(5, 1.1) == []  # a little overtime stays on weekday evenings
    saturday = cal.work_segments(5, 1.5)
    assert saturday and all(tired for _, _, tired in saturday)


def test_hours_to_ns_gives_utc_instants_rounded_to_seconds():
    ns = hours_to_ns(MONDAY, [0.0, 1.5, 24.0 + 0.6 / 3600.0, 0.4 / 3600.0])
    stamps = pd.to_datetime(ns, utc=True)
    assert list(stamps) == [
        pd.Timestamp("2026-01-05T00:00:00Z"),
        pd.Timestamp("2026-01-05T01:30:00Z"),
        pd.Timestamp("2026-01-06T00:00:01Z"),
        pd.Timestamp("2026-01-05T00:00:00Z"),
    ]
