"""Invariants every change's journey must keep, for random organisations (Hypothesis).

Engineers 1–200 in one or more teams, every cadence, strategy, deploy method and restore path:

- every stage time is >= 0, and the stages add up to the change's lead time;
- created <= first ready <= first deployment start <= first deployment end;
- a change ships through CI once: it is listed by more than one deployment only after the earlier
  one was rolled back (a follow-up fix is its own change, never a second trip of the same one).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sim.model.delivery import simulate
from sim.model.records import stage_hours
from sim.model.scenario import Scenario
from sim.model.stages import STAGES

SEED = 29


@st.composite
def organisations(draw) -> Scenario:
    finite = {"allow_nan": False, "allow_infinity": False}
    # small teams often: their last merge comes before the horizon ends, so work written during the run
    # (follow-up fixes) would be picked up again by anything that walks the merge units a second time
    engineers = draw(st.one_of(st.integers(1, 3), st.integers(1, 200)))
    values = {
        "days": draw(st.integers(14, 18)),
        "simulation.warmup_days": 7,
        "team.engineers": engineers,
        "org.teams": draw(st.integers(1, min(engineers, 12))),
        "team.changes_per_engineer_per_day": draw(st.floats(0.2, 3.0, **finite)),
        "team.overtime": draw(st.floats(1.0, 2.0, **finite)),
        "branching.strategy": draw(st.sampled_from(["long_lived", "trunk"])),
        "branching.branch_lifetime_days": draw(st.floats(0.05, 15.0, **finite)),
        # flags on more often than not, with high coverage: flag flips and their follow-up fixes are the
        # rarest path and the one most likely to send a change through CI twice
        "branching.feature_flags": draw(st.sampled_from([True, True, False])),
        "branching.flag_coverage": draw(st.one_of(st.just(1.0), st.floats(0.0, 1.0, **finite))),
        "ci.test_suite_minutes": draw(st.floats(1.0, 120.0, **finite)),
        "ci.runners": draw(st.integers(1, 40)),
        "ci.flaky_rate": draw(st.floats(0.0, 0.3, **finite)),
        "quality.defect_rate": draw(st.floats(0.0, 0.4, **finite)),
        "operations.fire_delay_hours": draw(st.floats(0.0, 6.0, **finite)),
        "quality.test_detection_rate": draw(st.floats(0.0, 1.0, **finite)),
        "release.cadence": draw(st.sampled_from(["continuous", "daily", "weekly", "biweekly", "monthly"])),
        "release.max_batch_size": draw(st.integers(0, 20)),
        "release.deploy": draw(st.sampled_from(["manual", "automated"])),
        "operations.automated_rollback": draw(st.booleans()),
        "operations.experts": draw(st.integers(1, 3)),
    }
    return Scenario().with_values(values, source="hypothesis")


def _small_flagged_team(days: int, engineers: int) -> Scenario:
    """A team whose last merge comes before the horizon ends, with flag flips and their follow-up fixes."""
    return Scenario().with_values(
        {
            "days": days,
            "simulation.warmup_days": 7,
            "team.engineers": engineers,
            "branching.strategy": "trunk",
            "branching.branch_lifetime_days": 0.15,
            "branching.feature_flags": True,
            "branching.flag_coverage": 1.0,
            "release.cadence": "continuous",
            "release.deploy": "automated",
            "quality.defect_rate": 0.3,
            "ci.test_suite_minutes": 10.0,
        },
        source="example",
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
@example(_small_flagged_team(14, 1))
@example(_small_flagged_team(16, 2))
def test_every_change_keeps_its_invariants(scenario):
    rec = simulate(scenario, SEED, 0)
    created, ready = rec.created, rec.first_ready
    start, end = rec.first_deploy_start, rec.first_deploy_end
    shipped = np.flatnonzero(~np.isnan(end))
    assert np.all(created[shipped] <= ready[shipped] + 1e-9)
    assert np.all(ready[shipped] <= start[shipped] + 1e-9)
    assert np.all(start[shipped] <= end[shipped])
    hours = stage_hours(rec, shipped)
    for stage in STAGES:
        assert np.all(hours[stage] >= -1e-9), (stage, hours[stage].min())
    total = sum(hours[stage] for stage in STAGES)
    np.testing.assert_allclose(total, end[shipped] - created[shipped], rtol=1e-9, atol=1e-6)

    rolled_back = {inc.deploy for inc in rec.incidents if inc.path == "rollback"}
    listings: dict[int, list[int]] = {}
    for dep in rec.deployments:
        for change in dep.changes:
            listings.setdefault(change, []).append(dep.index)
    for change, deps in listings.items():
        assert all(d in rolled_back for d in deps[:-1]), (change, deps)  # shipped again only after a rollback


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_teams_ship_their_own_changes(scenario):
    rec = simulate(scenario, SEED, 1)
    team_of_change = np.asarray(rec.changes.team)
    for dep in rec.deployments:
        assert all(team_of_change[c] == dep.team for c in dep.changes)
    assert set(team_of_change.tolist()) <= set(range(scenario.org.teams))


def test_elite_with_one_engineer_has_no_negative_release_wait():
    """A flag flip's follow-up fix goes through CI once, so no stage runs backwards."""
    from sim.model.catalog import shipped_path
    from sim.model.scenario import load_scenario

    scenario = load_scenario(shipped_path("elite"), ["team.engineers=1"])
    for k in range(4):
        rec = simulate(scenario, 1, k)
        shipped = np.flatnonzero(~np.isnan(rec.first_deploy_end))
        hours = stage_hours(rec, shipped)
        assert hours["release_wait"].min() >= -1e-9
