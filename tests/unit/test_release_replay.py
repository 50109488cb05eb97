"""The recorded past replayed: a calibrated team releases at the instants its logs show until the state day."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis.calibrate import calibrate
from sim.analysis.forecast import moved_to
from sim.errors import InputError
from sim.metrics.logs import make_logs
from sim.model.delivery import simulate
from sim.model.release_process import irregular_opens, recorded_opens
from sim.model.scenario import Scenario

STATE_DAY = 100
AGES = (80.0, 41.5, 20.0, 5.0)  # days before the state day: releases on days 20, 58.5, 80 and 95
BASE = {
    "release.window_hours": 0.25,
    "release.deploy": "automated",
    "quality.defect_rate": 0.0,
    "branching.strategy": "trunk",
    "branching.branch_lifetime_days": 0.01,
    "team.engineers": 4,
    "ci.runners": 20,
    "days": 200,
    "simulation.warmup_days": 30,
    "release.state_day": STATE_DAY,
    "release.days_since_release": AGES[-1],
    "release.recorded_releases": " ".join(str(a) for a in AGES),
}
IRREGULAR = Scenario().with_values(
    {**BASE, "release.cadence": "irregular", "release.gap_law": "exponential", "release.gap_days": 3.0},
    source="test",
)
WHEN_READY = Scenario().with_values(
    {**BASE, "release.cadence": "when_ready", "release.pending_hazard": 0.05}, source="test"
)
RECORDED_DAYS = np.array([STATE_DAY - a for a in AGES])


def _deployments(scenario: Scenario, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(start day after the window's start, unplanned?) of every deployment of one replication."""
    records = simulate(scenario, 4, k)
    days = (np.asarray(records.deployments.start) - records.window_start) / 24.0
    return days, np.asarray(records.deployments.unplanned).astype(bool)


@pytest.mark.parametrize("scenario", [IRREGULAR, WHEN_READY], ids=["irregular", "when_ready"])
def test_the_recorded_releases_are_replayed_and_no_other_falls_before_the_state_day(scenario):
    for k in range(3):
        days, _ = _deployments(scenario.with_values({"release.fixup_share": 0.9}, source="test"), k)
        past = days[(days >= 0) & (days < STATE_DAY)]
        # one release at each recorded instant (within the deployment's minutes), and nothing else
        assert len(past) == len(AGES)
        assert np.allclose(np.sort(past), RECORDED_DAYS, atol=0.05)
        # past the state day the drawn law or hazard takes over: a team releasing every few days goes on
        assert np.sum(days >= STATE_DAY) > 10


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=0.1, max_value=129.0), min_size=1, max_size=12, unique=True),
    st.integers(0, 2**32 - 1),
)
def test_the_windows_before_the_state_day_are_exactly_the_recorded_ones(ages, seed):
    text = " ".join(f"{a:.4f}" for a in sorted(ages, reverse=True))
    last = float(text.split()[-1])
    scenario = IRREGULAR.with_values(
        {"release.recorded_releases": text, "release.days_since_release": last}, source="test"
    )
    window_start = scenario.simulation.warmup_days * 24.0
    state = window_start + STATE_DAY * 24.0
    opens = np.array(irregular_opens(scenario, np.random.default_rng(seed), 400 * 24.0, window_start))
    recorded = np.array(recorded_opens(scenario))
    inside = opens[(opens >= window_start) & (opens < state)]
    expected = recorded[recorded >= window_start]
    assert np.allclose(inside, expected)
    assert np.all(np.diff(opens) > 0)


def test_fixes_made_in_the_replayed_past_ship_with_the_next_recorded_release():
    scenario = IRREGULAR.with_values(
        {
            "quality.defect_rate": 0.3,
            "quality.test_detection_rate": 0.0,
            "operations.automated_rollback": False,
            "operations.hotfix_hours": 2.0,
        },
        source="test",
    )
    records = simulate(scenario, 4, 0)
    start = records.window_start
    recorded = np.array(recorded_opens(scenario))
    days, unplanned = _deployments(scenario, 0)
    anchor = (recorded[-1] - start) / 24.0
    # no hotfix deployment of its own while the recorded releases last: the fixes rode them
    assert not np.any(unplanned & (days >= 0) & (days < anchor))
    resolved = np.asarray(records.incidents.resolved)
    opened = np.asarray(records.incidents.created)
    fixed_in_past = (opened >= start) & (resolved < recorded[-1])
    assert fixed_in_past.sum() >= 1
    # each such incident was restored at a recorded release
    assert np.all(np.min(np.abs(resolved[fixed_in_past][:, None] - recorded[None, :]), axis=1) < 1e-6)
    # after the replayed past, fixes are hotfix deployments again
    assert np.any(unplanned & (days > STATE_DAY))


def test_every_recorded_release_has_work_to_ship_even_from_a_quiet_team():
    quiet = IRREGULAR.with_values(
        {"team.engineers": 1, "team.changes_per_engineer_per_day": 0.05}, source="test"
    )  # a change every four working weeks on average, and releases 21 to 38 days apart
    for k in range(4):
        days, _ = _deployments(quiet, k)
        assert np.sum((days >= 0) & (days < STATE_DAY)) == len(AGES)


def test_recorded_releases_keep_their_dates_when_a_forecast_moves_the_start():
    later = moved_to(IRREGULAR, IRREGULAR.start + dt.timedelta(days=40), source="test")

    def dates(scenario: Scenario) -> list[dt.datetime]:
        origin = dt.datetime.combine(scenario.start, dt.time()) - dt.timedelta(
            days=scenario.simulation.warmup_days
        )
        return [origin + dt.timedelta(hours=h) for h in recorded_opens(scenario)]

    assert dates(later) == dates(IRREGULAR)


def test_a_malformed_record_is_one_line_naming_the_key():
    with pytest.raises(InputError, match=r"release\.recorded_releases"):
        IRREGULAR.with_values({"release.recorded_releases": "80, 41.5"}, source="test")
    with pytest.raises(InputError, match=r"release\.recorded_releases"):
        IRREGULAR.with_values({"release.recorded_releases": "-3"}, source="test")


def test_calibration_records_the_windows_releases_and_reproduces_their_count():
    first = dt.date(2025, 9, 1)  # a Monday
    ts = lambda day, hours=12.0: pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hours)  # noqa: E731
    changes = [
        {"change_id": f"c{d}", "time_created": ts(first + dt.timedelta(days=d), 10)} for d in range(180)
    ]
    release_days = (17, 47, 60, 103, 110, 166)
    deployments = []
    for k, d in enumerate(release_days):
        since = release_days[k - 1] if k else -1
        ids = " ".join(f"c{x}" for x in range(since + 1, d + 1))
        deployments.append(
            {"deploy_id": f"r{k}", "time_created": ts(first + dt.timedelta(days=d), 11), "change_ids": ids}
        )
    logs = make_logs(changes, deployments, [])
    end = first + dt.timedelta(days=180)
    result = calibrate(logs, reps=2, check_reps=4, workers=1, window=(first, end))
    release = result.scenario.release
    ages = [float(a) for a in release.recorded_releases.split()]
    assert ages == pytest.approx([180 - d - 11 / 24 for d in release_days], abs=1e-3)
    assert release.days_since_release == pytest.approx(ages[-1], abs=1e-3)
    frequency = result.report["metrics"]["deployment_frequency_per_day"]
    assert frequency["simulated_p50"] == pytest.approx(frequency["observed"], rel=0.01)


def test_the_release_before_the_window_is_placed_by_the_oldest_work_the_first_one_ships():
    from sim.analysis.release_gaps import NS_PER_DAY, PREVIOUS_RELEASE_LEAD_DAYS, recorded_ages

    day = NS_PER_DAY
    releases = np.array([150, 40, 95]) * day  # the window is days 0 to 180
    # the first release shipped work made from 30 days before the window: the one before came just before it
    ages = recorded_ages(releases, np.array([-30, 10, 39]) * day, 0, 180 * day)
    assert ages == pytest.approx([210 + PREVIOUS_RELEASE_LEAD_DAYS, 140, 85, 30])
    # work made inside the window says nothing of where the release before it fell
    assert recorded_ages(releases, np.array([5, 39]) * day, 0, 180 * day) == pytest.approx([140, 85, 30])


def test_incidents_open_at_the_state_day_are_repaired_from_it():
    quiet = IRREGULAR.with_values(
        {"release.manual_error_rate": 0.0, "operations.open_incidents": 3, "operations.experts": 1},
        source="test",
    )
    days, unplanned = _deployments(quiet, 0)
    fixes = days[unplanned]
    # one fix deployment each, after the state day (one expert: one after the other), and none before
    assert len(fixes) == 3 and np.all(fixes >= STATE_DAY)
    _, unplanned = _deployments(quiet.with_values({"operations.open_incidents": 0}, source="test"), 0)
    assert not unplanned.any()


def test_calibration_records_the_incidents_open_at_the_windows_end():
    first = dt.date(2025, 9, 1)
    ts = lambda day, hours=12.0: pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hours)  # noqa: E731
    changes = [
        {"change_id": f"c{d}", "time_created": ts(first + dt.timedelta(days=d), 10)} for d in range(180)
    ]
    release_days = (20, 70, 130, 170)
    deployments = [
        {
            "deploy_id": f"r{k}",
            "time_created": ts(first + dt.timedelta(days=d), 11),
            "change_ids": " ".join(f"c{x}" for x in range((release_days[k - 1] + 1) if k else 0, d + 1)),
        }
        for k, d in enumerate(release_days)
    ]
    incidents = [
        {
            "incident_id": "i0",
            "deploy_id": "r1",
            "time_created": ts(first + dt.timedelta(days=75)),
            "time_resolved": ts(first + dt.timedelta(days=80)),
        },
        {
            "incident_id": "i1",
            "deploy_id": "r3",
            "time_created": ts(first + dt.timedelta(days=175)),
            "time_resolved": pd.NaT,
        },
    ]
    logs = make_logs(changes, deployments, incidents)
    result = calibrate(logs, reps=2, check_reps=2, workers=1, window=(first, first + dt.timedelta(days=180)))
    assert result.scenario.operations.open_incidents == 1
    assert result.report["parameters"]["operations.open_incidents"]["origin"] == "estimated"


def test_reports_name_the_recorded_releases_by_their_count():
    from sim.report.story import describe_changes, show_value

    assert show_value("release.recorded_releases", "80 41.5 20 5") == "4 releases"
    assert show_value("release.recorded_releases", "") == "none"
    plain = IRREGULAR.with_values({"release.recorded_releases": ""}, source="test")
    assert describe_changes(IRREGULAR, plain) == "releases replayed before the state day 4 releases → none"


def _run_up_logs(run_up: bool) -> tuple[object, dt.date, dt.date]:
    """180 days of a team releasing every three weeks: a change every day, and with ``run_up`` twelve more
    made in the six hours before each release."""
    first = dt.date(2025, 9, 1)
    ts = lambda day, hours=12.0: pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hours)  # noqa: E731
    release_days = (15, 38, 60, 81, 104, 125, 147, 170)
    rng = np.random.default_rng(5)
    changes, deployments, before = [], [], 0
    for k, day in enumerate(release_days):
        released = ts(first + dt.timedelta(days=day), 16)
        made = list(released - pd.to_timedelta(rng.uniform(0.5, 6.0, 12), unit="h")) if run_up else []
        made += [ts(first + dt.timedelta(days=d), 11) for d in range(before, day)]
        ids = []
        for j, t in enumerate(made):
            ids.append(f"c{k}-{j}")
            changes.append({"change_id": ids[-1], "time_created": t})
        deployments.append({"deploy_id": f"r{k}", "time_created": released, "change_ids": " ".join(ids)})
        before = day
    return make_logs(changes, deployments, []), first, first + dt.timedelta(days=180)


def test_with_the_releases_replayed_the_run_up_share_is_fitted_to_the_lead_time():
    logs, start, end = _run_up_logs(run_up=True)  # 12 of every 33-odd changes made just before a release
    result = calibrate(logs, reps=2, check_reps=4, workers=1, window=(start, end))
    assert result.scenario.release.cadence == "irregular"
    assert "release.prep_share" in result.report["fit"]["parameters"]
    assert result.report["parameters"]["release.prep_share"]["origin"] == "fitted"
    lead = result.report["metrics"]["lead_time_hours"]
    assert lead["within_bar"], lead
    plain, start, end = _run_up_logs(run_up=False)  # work made every day, nothing for the release
    steady = calibrate(plain, reps=2, check_reps=4, workers=1, window=(start, end))
    assert steady.scenario.release.prep_share < result.scenario.release.prep_share


def test_a_recorded_release_missed_while_the_one_before_deploys_ships_when_the_deployer_is_free():
    busy = IRREGULAR.with_values(
        {
            "release.deploy": "manual",
            "release.manual_deploy_hours": 6.0,
            "release.manual_error_rate": 0.0,
            "release.recorded_releases": "80 41.5 41.4 20 5",  # two releases 2.4 hours apart on day 58.5
        },
        source="test",
    )
    for k in range(3):
        days, _ = _deployments(busy, k)
        past = np.sort(days[(days >= 0) & (days < STATE_DAY)])
        assert len(past) == 5
        # the second of the pair waited for the first deployment to end, and went out the same day
        assert 58.6 - 1e-6 <= past[2] < 59.6


def test_a_recorded_release_that_finds_nothing_for_a_day_is_not_made_weeks_later():
    from sim.model.release_process import PendingHazard

    hours = np.array([10.0, 20.0, 500.0])  # work made at 10 h, 20 h and 500 h
    hazard = PendingHazard(hours, 0.0, np.random.default_rng(1), state=([30.0, 40.0], 1000.0, 0.0))
    hazard.released([0, 1], 30.0)  # the first recorded release shipped the two changes
    assert hazard.due() == 40.0  # the second is due at its instant
    hazard.expire(100.0, 24.0)  # nothing was ready for it by then: it is gone
    assert hazard.due() == math.inf  # and no other release before the state day (a zero hazard here)


def test_recorded_releases_minutes_apart_each_ship_in_turn_with_their_own_work():
    """Post-releases cut minutes after a release (a packaging fix each): a deployer still deploying the one
    before ships each in turn within the day, each with the work made for it, not all in one batch."""
    ages = (80.0, 41.5, 41.48, 41.46, 41.44, 5.0)  # four releases within 90 minutes of day 58.5
    scenario = IRREGULAR.with_values(
        {
            "release.recorded_releases": " ".join(str(a) for a in ages),
            "release.deploy": "manual",
            "release.manual_deploy_hours": 1.0,
        },
        source="test",
    )
    for k in range(4):
        days, unplanned = _deployments(scenario, k)
        past = days[(days >= 0) & (days < STATE_DAY) & ~unplanned]
        assert len(past) == len(ages)
        cluster = past[(past > 58.0) & (past < 60.0)]
        assert len(cluster) == 4
        assert cluster.min() == pytest.approx(58.5, abs=0.02) and cluster.max() < 58.5 + 1.0


def test_work_held_for_a_feature_release_skips_the_recorded_patch_release():
    """A development line (``release.held_share``): of the work due at a recorded patch release ('p'), the held
    share waits for the next recorded feature release; the rest ships at the patch as before."""
    marked = "80 41.5p 20 5"  # the release on day 58.5 is a patch release; day 80's a feature release

    def shipped_at_patch(held: float) -> tuple[float, float]:
        at_patch = at_feature = due = 0
        for k in range(3):
            scenario = IRREGULAR.with_values(
                {"release.recorded_releases": marked, "release.held_share": held}, source="test"
            )
            records = simulate(scenario, 4, k)
            day = (np.asarray(records.changes.created) - records.window_start) / 24.0
            first = (np.asarray(records.changes.first_deploy_start) - records.window_start) / 24.0
            mine = (day > 20.2) & (day < 58.4)  # made after day 20's release, due at the patch release
            due += int(mine.sum())
            at_patch += int(np.sum(mine & (np.abs(first - 58.5) < 0.1)))
            at_feature += int(np.sum(mine & (np.abs(first - 80.0) < 0.1)))
        return at_patch / due, at_feature / due

    plain_patch, plain_feature = shipped_at_patch(0.0)
    held_patch, held_feature = shipped_at_patch(0.6)
    assert plain_patch > 0.95 and plain_feature < 0.05
    assert held_patch == pytest.approx(0.4, abs=0.08)
    assert held_feature == pytest.approx(0.6, abs=0.08)


def test_patch_marks_are_part_of_the_record_and_nothing_else_is():
    assert IRREGULAR.with_values({"release.recorded_releases": "80 41.5p 20 5"}, source="test")
    assert recorded_opens(IRREGULAR) == recorded_opens(
        IRREGULAR.with_values({"release.recorded_releases": "80 41.5p 20p 5"}, source="test")
    )
    with pytest.raises(InputError):
        IRREGULAR.with_values({"release.recorded_releases": "80 41.5q 20 5"}, source="test")
