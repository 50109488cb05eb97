"""Release trains against their calendars, and Little's law on the change pipeline.

Expected release opportunities are counted here from the documented rules (daily = working days,
weekly = Saturdays, biweekly = every other Saturday, monthly = the first Saturday of a month), not
from the model's calendar.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
START = dt.date(2026, 1, 5)  # a Monday
SATURDAY = 5


def release_train(cadence: str, days: int, **extra) -> Scenario:
    """A busy trunk team whose only event is the release train: no defects, no checklist errors."""
    values = {
        "start": START,
        "days": days,
        "branching.strategy": "trunk",
        "branching.branch_lifetime_days": 0.15,
        "ci.runners": 8,
        "quality.defect_rate": 0.0,
        "release.cadence": cadence,
        "release.deploy": "manual",
        "release.manual_error_rate": 0.0,
    }
    values.update(extra)
    return Scenario().with_values(values, source="test")


def opportunities(cadence: str, start: dt.date, days: int) -> int:
    dates = [start + dt.timedelta(days=d) for d in range(days)]
    saturdays = [d for d in dates if d.weekday() == SATURDAY]
    if cadence == "daily":
        return sum(d.weekday() < 5 for d in dates)
    if cadence == "weekly":
        return len(saturdays)
    if cadence == "biweekly":
        return len(saturdays) // 2
    if cadence == "monthly":
        return sum(d.day <= 7 for d in saturdays)
    raise ValueError(cadence)


@pytest.mark.parametrize(
    ("cadence", "days", "per_day"),
    [
        ("daily", 84, 5 / 7),
        ("weekly", 84, 1 / 7),
        ("biweekly", 364, 1 / 14),
        ("monthly", 364, 12 / 364),
    ],
)
def test_one_planned_deployment_per_release_opportunity(cadence, days, per_day):
    # a window shorter than any manual deploy: each opportunity ships one batch of all that is ready
    scenario = release_train(cadence, days, **{"release.window_hours": 0.05})
    logs = to_logs(simulate(scenario, 4, 0))
    planned = logs.deployments[~logs.deployments["unplanned"]]
    assert len(logs.deployments) == len(planned)  # nothing failed, so nothing unplanned
    assert len(planned) == opportunities(cadence, START, days)
    assert len(planned) / days == pytest.approx(per_day, rel=0.05)


def clock(origin: dt.date, hours: float) -> dt.datetime:
    return dt.datetime.combine(origin, dt.time()) + dt.timedelta(hours=hours)


@pytest.mark.parametrize("cadence", ["continuous", "daily", "weekly", "biweekly", "monthly"])
def test_manual_planned_deployments_start_only_inside_their_window(cadence):
    """Defaults: 8-hour windows from 15:00 on working days (daily) or 09:00 on Saturdays; continuous
    manual deploys need someone at work (09:00-17:00, Monday to Friday)."""
    rec = simulate(release_train(cadence, 182, **{"quality.defect_rate": 0.05}), 6, 0)
    starts = [clock(rec.origin, d.start) for d in rec.deployments if not d.unplanned]
    assert len(starts) >= 5
    for when in starts:
        hour = when.hour + when.minute / 60 + when.second / 3600
        if cadence == "continuous":
            assert when.weekday() < 5 and 9 <= hour < 17, when
        elif cadence == "daily":
            assert when.weekday() < 5 and 15 <= hour < 23, when
        else:
            assert when.weekday() == SATURDAY and 9 <= hour < 17, when
            if cadence == "monthly":
                assert when.day <= 7, when
    if cadence == "biweekly":
        offsets = {(when.date() - starts[0].date()).days for when in starts}
        assert all(days % 14 == 0 for days in offsets), sorted(offsets)


# ------------------------------------------------------------------------------------------------
# Little's law: time-average work in progress = throughput x mean time in system


def littles_law_terms(logs) -> tuple[float, float]:
    """(time-average WIP, throughput x mean lead time) over the scored window, from the logs alone."""
    first_deploy: dict[str, pd.Timestamp] = {}
    for when, ids in zip(logs.deployments["time_created"], logs.deployments["change_ids"]):
        for change in str(ids).split():
            if change not in first_deploy or when < first_deploy[change]:
                first_deploy[change] = when
    created = logs.changes["time_created"]
    deployed = pd.to_datetime(logs.changes["change_id"].map(first_deploy), utc=True)
    hours = pd.Timedelta(hours=1)
    span = (logs.end - logs.start) / hours
    # WIP: a change is in progress from its creation until its first deployment
    inside = (deployed.fillna(logs.end).clip(upper=logs.end) - created.clip(lower=logs.start)) / hours
    wip = float(inside.clip(lower=0).sum()) / span
    done = deployed.notna() & (deployed >= logs.start)
    throughput = int(done.sum()) / span
    mean_time = float(((deployed[done] - created[done]) / hours).mean())
    return wip, throughput * mean_time


@pytest.mark.parametrize("name", ["baseline", "small_batch", "trunk_based"])
def test_littles_law_holds_on_the_change_pipeline(name):
    # a year (whole weeks) so the window's edges weigh little next to the weeks-long lead times
    scenario = load_scenario(SCENARIOS / f"{name}.toml").with_values({"days": 364})
    terms = np.array([littles_law_terms(to_logs(simulate(scenario, 21, k))) for k in range(3)])
    wip, throughput_x_time = terms.sum(axis=0)
    assert wip > 10  # a real pipeline, not an empty one
    assert wip == pytest.approx(throughput_x_time, rel=0.03)
