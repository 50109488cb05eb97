"""Invariants of the model's logs for random valid parameter sets (Hypothesis, small horizons)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.analysis.runner import run_scenario
from sim.metrics.scoring import score
from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import Scenario

REPS = 2
SEED = 17


@st.composite
def scenarios(draw) -> Scenario:
    """Any valid parameter set, on a two-week window after a one-week warm-up."""
    finite = {"allow_nan": False, "allow_infinity": False}
    values = {
        "days": 14,
        "simulation.warmup_days": 7,
        "team.engineers": draw(st.integers(1, 12)),
        "team.changes_per_engineer_per_day": draw(st.floats(0.2, 4.0, **finite)),
        "team.overtime": draw(st.floats(1.0, 2.0, **finite)),
        "branching.strategy": draw(st.sampled_from(["long_lived", "trunk"])),
        "branching.branch_lifetime_days": draw(st.floats(0.05, 20.0, **finite)),
        "branching.feature_flags": draw(st.booleans()),
        "branching.flag_coverage": draw(st.floats(0.0, 1.0, **finite)),
        "branching.conflict_rate": draw(st.floats(0.0, 0.05, **finite)),
        "ci.test_suite_minutes": draw(st.floats(1.0, 300.0, **finite)),
        # 0 = fixed durations; a cv below ~1e-154 crashes the model (reported), so draw sensible spreads
        "ci.suite_cv": draw(st.one_of(st.just(0.0), st.floats(0.05, 1.5, **finite))),
        "ci.runners": draw(st.integers(1, 6)),
        "ci.flaky_rate": draw(st.floats(0.0, 0.5, **finite)),
        "ci.skip_threshold_minutes": draw(st.floats(5.0, 240.0, **finite)),
        "quality.defect_rate": draw(st.floats(0.0, 0.5, **finite)),
        "quality.test_detection_rate": draw(st.floats(0.0, 1.0, **finite)),
        "quality.fix_hours": draw(st.floats(0.0, 12.0, **finite)),
        "release.cadence": draw(st.sampled_from(["continuous", "daily", "weekly", "biweekly", "monthly"])),
        "release.max_batch_size": draw(st.integers(0, 20)),
        "release.deploy": draw(st.sampled_from(["manual", "automated"])),
        "release.manual_error_rate": draw(st.floats(0.0, 0.3, **finite)),
        "operations.automated_rollback": draw(st.booleans()),
        "operations.detect_minutes": draw(st.floats(1.0, 600.0, **finite)),
        "operations.hotfix_hours": draw(st.floats(0.5, 24.0, **finite)),
        "operations.experts": draw(st.integers(1, 3)),
        "operations.fire_delay_hours": draw(st.floats(0.0, 12.0, **finite)),
    }
    return Scenario().with_values(values, source="hypothesis")


PROPERTY_SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(scenarios())
def test_scored_rates_are_shares(scenario):
    logs = to_logs(simulate(scenario, SEED, 0))
    result = score(logs.changes, logs.deployments, logs.incidents, start=logs.start, end=logs.end)
    for key in ("change_failure_rate", "rework_rate"):
        value = result["metrics"][key]
        assert value is None or 0.0 <= value <= 1.0, (key, value)
    assert not any("negative" in w for w in result["warnings"]), result["warnings"]
    for key in ("lead_time_hours", "time_to_restore_hours", "deployment_frequency_per_day"):
        value = result["metrics"][key]
        assert value is None or value >= 0.0


@PROPERTY_SETTINGS
@given(scenarios())
def test_changes_incidents_and_hotfixes_happen_in_order(scenario):
    rec = simulate(scenario, SEED, 0)
    created = np.asarray(rec.created)
    first_end = np.asarray(rec.first_deploy_end)
    deployed = ~np.isnan(first_end)
    assert np.all(first_end[deployed] >= created[deployed])  # every lead time >= 0
    for dep in rec.deployments:
        assert dep.end >= dep.start
        assert all(created[c] <= dep.start for c in dep.changes)  # nothing ships before it exists
    by_index = {dep.index: dep for dep in rec.deployments}
    for inc in rec.incidents:
        assert inc.created >= by_index[inc.deploy].end  # a failure follows the deployment that caused it
        if inc.resolved is not None:
            assert inc.resolved >= inc.created
    # an unplanned deployment answers an incident: at any moment there have been at least as many
    # incidents as unplanned deployments
    incident_times = np.sort([inc.created for inc in rec.incidents])
    unplanned_starts = np.sort([dep.start for dep in rec.deployments if dep.unplanned])
    for n, start in enumerate(unplanned_starts, 1):
        assert np.searchsorted(incident_times, start, side="right") >= n


def mean_lead_time_from_records(scenario: Scenario) -> float:
    """Mean lead time of the changes first deployed in the window, pooled over the replications."""
    total, count = 0.0, 0
    for k in range(REPS):
        rec = simulate(scenario, SEED, k)
        created = np.asarray(rec.created)
        first_end = np.asarray(rec.first_deploy_end)
        inside = (first_end >= rec.window_start) & (first_end < rec.window_end)
        total += float((first_end[inside] - created[inside]).sum())
        count += int(inside.sum())
    return total / count if count else math.nan


@PROPERTY_SETTINGS
@given(scenarios())
def test_lead_time_breakdown_adds_up_to_the_mean_lead_time(scenario):
    result = run_scenario(scenario, reps=REPS, seed=SEED, workers=1, show_progress=False)
    stages = result["lead_time_breakdown"]
    assert all(hours >= 0.0 for hours in stages.values()), stages
    expected = mean_lead_time_from_records(scenario)
    if math.isnan(expected):
        assert sum(stages.values()) == 0.0
        return
    assert math.isclose(sum(stages.values()), expected, rel_tol=1e-6, abs_tol=1e-9)
    efficiency = result["flow_efficiency"]
    assert efficiency is None or 0.0 <= efficiency <= 1.0
