"""Work made in the run-up to a release and fix-up releases (``release.prep_share``, ``release.fixup_share``):
the simulation's mechanism (sim.model.flow.work) and reading them from a window (sim.analysis.release_gaps)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.release_gaps import (
    NS_PER_DAY,
    RUN_UP_MARGIN_DAYS,
    fixup_share,
    is_patch,
    release_lines,
    run_up_share,
)
from sim.model.delivery import DeliveryModel, simulate
from sim.model.rng import replication_streams
from sim.model.scenario import Scenario

IRREGULAR = Scenario().with_values(
    {
        "release.cadence": "irregular",
        "release.gap_law": "exponential",
        "release.gap_days": 7.0,
        "release.window_hours": 0.25,
        "release.deploy": "automated",
        "quality.defect_rate": 0.0,
        "branching.strategy": "trunk",
        "branching.branch_lifetime_days": 0.01,
        "days": 360,
        "team.engineers": 6,
        "ci.runners": 20,  # no CI queue: run-up work is through CI within its margin
    },
    source="test",
)


def _leads(records) -> np.ndarray:
    """Days from being made to the first deployment, of the changes made and shipped in the window."""
    created = np.asarray(records.changes.created)
    shipped = np.asarray(records.changes.first_deploy_start)
    mine = (created >= records.window_start) & np.isfinite(shipped) & (shipped < records.window_end)
    return (shipped[mine] - created[mine]) / 24.0


def _synthetic_leads(share: float, hours: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Releases every 9 days; work at random moments, ``share`` of it moved into the run-up of its release."""
    releases = np.arange(9.0, 181.0, 9.0)
    made = rng.uniform(0.0, releases[-1], 4000)
    nxt = releases[np.searchsorted(releases, made, side="left")]
    run_up = rng.random(made.size) < share
    moved = nxt - RUN_UP_MARGIN_DAYS - rng.random(made.size) * hours / 24.0
    made = np.where(run_up & (moved > made), moved, made)
    return nxt - made, (releases * NS_PER_DAY).astype(np.int64)


@pytest.mark.parametrize("share", [0.0, 0.3, 0.6])
def test_the_run_up_share_is_read_back_from_synthetic_leads(share):
    leads, releases = _synthetic_leads(share, 24.0, np.random.default_rng(5))
    fitted = run_up_share(leads, releases, 0, 24.0)
    assert fitted is not None
    assert fitted[0] == pytest.approx(share, abs=0.04)


def test_too_little_work_or_no_release_reads_no_run_up():
    assert run_up_share(np.ones(5), np.array([NS_PER_DAY]), 0, 24.0) is None
    assert run_up_share(np.ones(50), np.array([], dtype=np.int64), 0, 24.0) is None


def test_fix_ups_are_releases_within_a_day_of_the_one_before():
    times = (np.array([0.0, 10.0, 10.2, 25.0, 25.5, 40.0]) * NS_PER_DAY).astype(np.int64)
    share, note = fixup_share(times)
    assert share == pytest.approx(0.5)  # 2 fix-ups after 4 release events
    assert "4 release events" in note
    assert fixup_share(times[:1]) is None


def test_run_up_work_is_made_and_merged_when_the_release_is_cut_at_any_hour():
    """Whoever cuts a release does its finishing work then, at night or at a weekend too: nearly every change
    ships within the run-up, its margin and a deployment (the windows open at any hour)."""
    scenario = IRREGULAR.with_values({"release.prep_share": 0.95}, source="test")
    for k in range(3):
        model = DeliveryModel(scenario, replication_streams(21, k))
        records = model.run()
        created = np.asarray(records.changes.created)
        shipped = np.asarray(records.changes.first_deploy_start)
        mine = (created >= records.window_start) & np.isfinite(shipped) & (shipped < records.window_end)
        lead_hours = shipped[mine] - created[mine]
        # 95 % is moved into a run-up of at most 24 + 2 hours; the rest, made at random times, waits longer
        assert np.mean(lead_hours > 24.0 + 2.0 + 1.0) < 0.12
        # windows open at nights and weekends too, and their run-up work is made then
        off_hours = [not model.flow.calendar.in_working_hours(float(t)) for t in created[mine]]
        assert np.mean(off_hours) > 0.3


def test_run_up_work_ships_soon_after_it_is_made_and_no_work_is_lost():
    plain = simulate(IRREGULAR, 11, 0)
    prepared = simulate(IRREGULAR.with_values({"release.prep_share": 0.6}, source="test"), 11, 0)
    assert len(prepared.changes.created) == len(plain.changes.created)  # moved, never made or dropped
    # the run-up, its margin and the time to deploy (run-up work is made when the release is cut, at any hour)
    within = 26.0 / 24.0 + 0.5
    before, after = _leads(plain), _leads(prepared)
    assert np.mean(after <= within) > np.mean(before <= within) + 0.3
    assert np.median(after) < 0.6 * np.median(before)


def test_run_up_work_is_only_ever_made_later_than_it_fell_due():
    plain = np.sort(np.asarray(simulate(IRREGULAR, 4, 0).changes.created))
    prepared = np.sort(
        np.asarray(
            simulate(IRREGULAR.with_values({"release.prep_share": 0.8}, source="test"), 4, 0).changes.created
        )
    )
    # postponing work can only shift the sorted times later (first-order dominance)
    assert np.all(prepared >= plain - 1e-9)


def test_every_fix_up_window_ships_its_fix():
    shipped = windows = 0
    for k in range(3):
        model = DeliveryModel(
            IRREGULAR.with_values({"release.fixup_share": 1.0}, source="test"), replication_streams(8, k)
        )
        records = model.run()
        start = np.sort(np.asarray(records.deployments.start))
        fixups = np.asarray(model.flow.calendar.fixup_opens)
        fixups = fixups[(fixups >= model.window_start) & (fixups < model.window_end - 1.0)]
        # a deployment starts while the fix-up window is open
        first = np.searchsorted(start, fixups, side="left")
        opened = start[np.minimum(first, len(start) - 1)]
        shipped += int(np.sum((first < len(start)) & (opened <= fixups + 0.25 + 1e-9)))
        windows += len(fixups)
    # a fix-up follows nearly every release (7-day median gaps; unless the next release comes first)
    assert windows > 60
    assert shipped >= 0.9 * windows  # its fix is through CI in time (RUN_UP_MARGIN_HOURS) nearly always


def test_without_the_keys_nothing_moves():
    a = simulate(IRREGULAR, 2, 0)
    b = simulate(
        IRREGULAR.with_values({"release.prep_share": 0.0, "release.fixup_share": 0.0}, source="test"), 2, 0
    )
    assert np.array_equal(np.asarray(a.changes.created), np.asarray(b.changes.created))
    assert np.array_equal(np.asarray(a.deployments.start), np.asarray(b.deployments.start))


WHEN_READY = Scenario().with_values(
    {
        "release.cadence": "when_ready",
        "release.pending_hazard": 0.004,
        "release.window_hours": 0.25,
        "release.deploy": "automated",
        "quality.defect_rate": 0.0,
        "branching.strategy": "trunk",
        "branching.branch_lifetime_days": 0.01,
        "team.engineers": 2,
        "days": 200,
        "simulation.warmup_days": 200,
    },
    source="test",
)


def _deploy_days(scenario: Scenario, k: int) -> np.ndarray:
    records = simulate(scenario, 6, k)
    return (np.asarray(records.deployments.start) - records.window_start) / 24.0


@pytest.mark.parametrize("waited", [5.0, 60.0])
def test_a_when_ready_team_starts_from_its_recorded_last_release(waited):
    scenario = WHEN_READY.with_values(
        {"release.state_day": 100, "release.days_since_release": waited}, source="test"
    )
    for k in range(5):
        days = _deploy_days(scenario, k)
        last = 100 - waited
        # a release at the recorded day (within the deployment's minutes) and none after it until the state day
        assert np.any(np.abs(days - last) < 0.1)
        assert not np.any((days > last + 0.1) & (days < 100))


def test_a_longer_wait_with_more_work_waiting_brings_the_next_release_sooner():
    def next_release(waited: float) -> float:
        scenario = WHEN_READY.with_values(
            {"release.state_day": 100, "release.days_since_release": waited}, source="test"
        )
        return float(
            np.median([min(d for d in _deploy_days(scenario, k) if d >= 100) - 100 for k in range(30)])
        )

    # the release rate grows with the work made since the last release: after 60 quiet days it is higher
    assert next_release(60.0) < 0.7 * next_release(2.0)


def test_old_waiting_work_joins_the_train_on_the_state_day_with_its_ages():
    scenario = IRREGULAR.with_values(
        {
            "release.state_day": 60,
            "release.days_since_release": 10.0,
            "release.waiting_changes": 12,
            "release.waiting_age_days": 100.0,
            "release.waiting_age_spread": 0.5,
            "days": 200,
        },
        source="test",
    )
    records = simulate(scenario, 3, 0)
    state = records.window_start + 60 * 24.0
    created = np.asarray(records.changes.created)
    shipped = np.asarray(records.changes.first_deploy_start)
    ready = np.asarray(records.changes.first_ready)
    old = np.flatnonzero(ready == state)  # the carried-in work is ready on the state day itself
    assert len(old) == 12
    ages = (state - created[old]) / 24.0
    # the log-normal's quantiles: median 100 days, none younger than the last release
    assert np.median(ages) == pytest.approx(100.0, rel=0.05)
    assert ages.min() >= 10.0 and ages.max() > 150.0
    assert np.all(shipped[old] >= state)  # shipped at a release after the state day, not before
    plain = simulate(scenario.with_values({"release.waiting_changes": 0}, source="test"), 3, 0)
    assert len(plain.changes.created) == len(created) - 12


def test_old_waiting_work_is_what_missed_the_last_release():
    from sim.analysis.log_facts.work import old_waiting_work

    day = NS_PER_DAY
    created = np.array([10, 20, 30, 95, 99]) * day
    first_deploy = np.array([50 * day, -1, 120 * day, -1, -1])  # 120: shipped after the window's end (100)
    waiting = old_waiting_work(created, first_deploy, last_release=90 * day, end=100 * day)
    assert waiting is not None
    assert waiting["count"] == 2  # made on days 20 and 30, before the last release, not shipped by day 100
    assert waiting["median_days"] == pytest.approx(np.sqrt(80 * 70))
    assert old_waiting_work(created[3:], first_deploy[3:], 90 * day, 100 * day) is None


def test_a_run_whose_only_work_is_carried_in_is_scored():
    from sim.analysis.runner import run_replication

    scenario = IRREGULAR.with_values(
        {
            "team.changes_per_engineer_per_day": 1e-4,
            "release.state_day": 0,
            "release.days_since_release": 5.0,
            "release.waiting_changes": 5,
            "release.waiting_age_days": 40.0,
            "days": 120,
        },
        source="test",
    )
    result = run_replication(scenario, 1, 0)
    assert result.counts["changes"] >= 5
    assert result.metrics["lead_time_hours"] >= 40 * 24.0


@pytest.mark.parametrize(
    ("name", "patch"),
    [
        ("8.1.8", True),
        ("8.2.0", False),
        ("v1.4", False),
        ("rel_1_13_2", True),
        ("24.1.1", True),
        ("nightly", False),
    ],
)
def test_a_patch_release_is_told_by_its_version(name, patch):
    assert is_patch(name) is patch


@pytest.mark.parametrize("held", [0.0, 0.5])
def test_the_share_held_for_feature_releases_is_read_back(held):
    """Releases every 10 days, every third a feature release; work made at random times, the held share of the
    work due at a patch release shipped at the next feature release, and 5 % of all work merged one release
    late whatever the kind (which the reading must not count as held)."""
    rng = np.random.default_rng(3)
    days = np.arange(10.0, 361.0, 10.0)
    names = np.array([f"1.{i // 3}.{i % 3}" for i in range(len(days))])
    feature = np.array([not is_patch(n) for n in names])
    made = rng.uniform(0.0, days[-4], 3000)
    i = np.searchsorted(days, made + RUN_UP_MARGIN_DAYS)
    ship = i.copy()
    hold = ~feature[i] & (rng.random(made.size) < held)
    ship[hold] = [np.flatnonzero(feature[j:])[0] + j for j in i[hold]]
    late = rng.random(made.size) < 0.05
    ship[late] += 1
    to_ns = lambda d: (np.asarray(d) * NS_PER_DAY).astype(np.int64)  # noqa: E731
    patch, reading = release_lines(names, to_ns(days), to_ns(made), to_ns(days[ship]))
    assert patch.tolist() == (~feature).tolist()
    assert reading is not None
    assert reading[0] == pytest.approx(held, abs=0.05)
