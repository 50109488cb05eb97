"""Each lever moves its metric the way the mechanisms say.

Every comparison runs the same replications (same root seed: common random numbers) for both
settings through ``sim.analysis.runner.run_scenario``, and compares medians (p50 over replications) or the
pooled lead-time breakdown. The lever changes are large enough that the effect is many times the
replication noise; none of the assertions pins a number the model happened to produce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.analysis.runner import run_scenario
from sim.metrics.bands import BANDS
from sim.model.delivery import simulate
from sim.model.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
REPS = 8
DAYS = 56


def scenario(base: str = "baseline", days: int = DAYS, **values: Any) -> Scenario:
    """A shipped scenario with dotted keys overridden (``ci__runners=2`` sets ``ci.runners``)."""
    dotted = {key.replace("__", "."): value for key, value in values.items()}
    return load_scenario(SCENARIOS / f"{base}.toml", {**dotted, "days": days})


def run(s: Scenario, reps: int = REPS) -> dict:
    return run_scenario(s, reps=reps, workers=1, show_progress=False)


def p50(result: dict, metric: str) -> float:
    value = result["metrics"][metric]["p50"]
    assert value is not None, f"{metric} has no value"
    return value


def rank(band: str) -> int:
    """0 = elite ... 3 = low."""
    return BANDS.index(band)


# A CI that is the bottleneck: every change merges and is tested on its own, tests are never
# skipped, and changes ship as soon as they pass.
BUSY_CI = {
    "branching__strategy": "trunk",
    "branching__branch_lifetime_days": 0.15,
    "ci__test_suite_minutes": 60.0,
    "ci__skip_threshold_minutes": 240.0,
    "ci__flaky_rate": 0.0,
    "release__cadence": "continuous",
    "release__deploy": "automated",
}


def test_more_runners_shorten_ci_wait_and_lead_time():
    one = run(scenario(**BUSY_CI, ci__runners=1))
    four = run(scenario(**BUSY_CI, ci__runners=4))
    assert one["lead_time_breakdown"]["ci_queue"] > 1.0  # the queue really forms with one runner
    assert four["lead_time_breakdown"]["ci_queue"] < 0.5 * one["lead_time_breakdown"]["ci_queue"]
    assert p50(four, "lead_time_hours") < p50(one, "lead_time_hours")


def test_slower_suite_lengthens_lead_time():
    never_skipped = {**BUSY_CI, "ci__runners": 8, "ci__skip_threshold_minutes": 1440.0}
    fast = run(scenario(**{**never_skipped, "ci__test_suite_minutes": 10.0}))
    slow = run(scenario(**{**never_skipped, "ci__test_suite_minutes": 120.0}))
    assert slow["lead_time_breakdown"]["ci_running"] > fast["lead_time_breakdown"]["ci_running"]
    assert p50(slow, "lead_time_hours") > p50(fast, "lead_time_hours")


def test_suite_past_the_skip_threshold_raises_change_failure_rate():
    # at the threshold the suite always runs; at 6x the threshold it is mostly skipped and catches nothing
    common = {
        "release__cadence": "daily",
        "ci__flaky_rate": 0.0,
        "ci__runners": 8,
        "ci__skip_threshold_minutes": 20.0,
    }
    at_threshold = run(scenario(**common, ci__test_suite_minutes=20.0))
    far_past = run(scenario(**common, ci__test_suite_minutes=120.0))
    assert p50(far_past, "change_failure_rate") > p50(at_threshold, "change_failure_rate") + 0.05


def test_bigger_batches_raise_change_failure_rate():
    common = {"release__cadence": "daily", "release__deploy": "automated"}
    small = run(scenario(**common, release__max_batch_size=2))
    big = run(scenario(**common, release__max_batch_size=30))
    assert p50(big, "change_failure_rate") > p50(small, "change_failure_rate") + 0.05


def test_automated_rollback_shortens_restore():
    by_hand = run(scenario())
    rollback = run(scenario(operations__automated_rollback=True))
    assert p50(rollback, "time_to_restore_hours") < 0.5 * p50(by_hand, "time_to_restore_hours")


def test_feature_flags_shorten_restore():
    # small batches, no automated rollback: a failure is either flipped off or fixed by hand
    fast_flow = {
        **BUSY_CI,
        "ci__runners": 8,
        "ci__test_suite_minutes": 10.0,
    }  # a 10-minute suite is not skipped
    without = run(scenario(**fast_flow, branching__feature_flags=False))
    flags = run(scenario(**fast_flow, branching__feature_flags=True))
    assert p50(flags, "time_to_restore_hours") < 0.5 * p50(without, "time_to_restore_hours")
    assert p50(flags, "rework_rate") < p50(without, "rework_rate")  # a flag flip needs no hotfix deploy


def test_more_experts_shorten_restore_by_hand():
    # daily releases: incidents often overlap, so with one expert they queue behind each other
    one = run(scenario(release__cadence="daily", operations__experts=1))
    three = run(scenario(release__cadence="daily", operations__experts=3))
    assert three["metrics"]["time_to_restore_hours"]["mean"] < one["metrics"]["time_to_restore_hours"]["mean"]
    assert p50(three, "time_to_restore_hours") < p50(one, "time_to_restore_hours")


def conflict_share(s: Scenario, reps: int = REPS) -> float:
    conflicts = merges = 0
    for k in range(reps):
        records = simulate(s, s.seed, k)
        conflicts += records.conflicts
        merges += records.merges
    return conflicts / merges


def test_longer_branches_bring_more_conflicts_and_longer_lead_time():
    short = scenario(branching__branch_lifetime_days=3.0)
    long = scenario(branching__branch_lifetime_days=15.0)
    assert conflict_share(long) > 2 * conflict_share(short)
    assert p50(run(long), "lead_time_hours") > p50(run(short), "lead_time_hours")


def test_overtime_alone_does_not_lift_the_baseline_band():
    baseline = run(scenario())
    for overtime in (1.5, 2.0):
        tired = run(scenario(team__overtime=overtime))
        assert rank(tired["bands"]["overall"]) >= rank(baseline["bands"]["overall"])
        assert tired["band_probabilities"]["elite"] == 0.0
        # more hours do not shorten the wait for branches and release trains
        assert p50(tired, "lead_time_hours") > 0.8 * p50(baseline, "lead_time_hours")


def test_automated_deploys_remove_checklist_failures():
    # with no defects at all, only a manual checklist error can fail a deployment
    flawless = {"quality__defect_rate": 0.0, "release__manual_error_rate": 0.2}
    manual = run(scenario(**flawless, release__deploy="manual"))
    automated = run(scenario(**flawless, release__deploy="automated"))
    assert p50(manual, "change_failure_rate") > 0.05
    assert automated["metrics"]["change_failure_rate"]["p90"] == 0.0


def test_automated_deploys_do_not_beat_a_weekly_release_train():
    # the deploy method does not move the calendar: a weekly train ships about once a week either way
    automated = run(scenario(release__deploy="automated", quality__defect_rate=0.0))
    assert p50(automated, "deployment_frequency_per_day") < 2 / 7
    assert rank(automated["bands"]["deployment_frequency"]) > rank("elite")


def test_continuous_automated_deploys_ship_more_often_than_continuous_manual_ones():
    # manual continuous deploys take hours and only happen in working hours
    common = {**BUSY_CI, "ci__runners": 8, "ci__test_suite_minutes": 10.0}
    manual = run(scenario(**{**common, "release__deploy": "manual"}))
    automated = run(scenario(**common))
    assert p50(automated, "deployment_frequency_per_day") > p50(manual, "deployment_frequency_per_day")
    assert p50(automated, "lead_time_hours") < p50(manual, "lead_time_hours")


# ------------------------------------------------------------------------------------------------
# The seed story on the shipped scenarios (DESIGN §5)

STORY_REPS = 16


@pytest.fixture(scope="module")
def story() -> dict[str, dict]:
    names = ("baseline", "trunk_based", "automated", "small_batch", "elite", "heroics")
    return {name: run(load_scenario(SCENARIOS / f"{name}.toml"), reps=STORY_REPS) for name in names}


@pytest.mark.slow
def test_baseline_is_low_with_lead_times_of_weeks(story):
    assert story["baseline"]["bands"]["overall"] == "low"
    assert p50(story["baseline"], "lead_time_hours") >= 168


@pytest.mark.slow
def test_elite_is_elite_on_all_four_keys(story):
    elite = story["elite"]
    for key in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"):
        assert elite["bands"][key] == "elite", key
    assert p50(elite, "lead_time_hours") <= 0.1 * p50(story["baseline"], "lead_time_hours")
    assert p50(elite, "time_to_restore_hours") < 1.0


@pytest.mark.slow
def test_heroics_stay_low_or_medium_and_elite_beats_them_everywhere(story):
    heroics, elite = story["heroics"], story["elite"]
    assert heroics["bands"]["overall"] in ("low", "medium")
    assert p50(elite, "deployment_frequency_per_day") > p50(heroics, "deployment_frequency_per_day")
    for metric in ("lead_time_hours", "change_failure_rate", "time_to_restore_hours"):
        assert p50(elite, metric) < p50(heroics, metric), metric


@pytest.mark.slow
@pytest.mark.parametrize("name", ["trunk_based", "automated", "small_batch"])
def test_no_single_lever_reaches_elite_alone(story, name):
    assert story[name]["bands"]["overall"] != "elite"
