"""Runaway backlogs are flagged; the shipped scenarios are stable (docs/model.md, sim/analysis/stability.py)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis import stability
from sim.analysis.runner import run_scenario
from sim.model.catalog import shipped_path
from sim.model.scenario import load_scenario

REPS = 8


def run(name: str, *overrides: str, reps: int = REPS) -> dict:
    return run_scenario(load_scenario(shipped_path(name), list(overrides)), reps, 1, workers=1)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baseline", "trunk_based", "automated", "small_batch", "elite", "heroics"])
def test_every_shipped_scenario_is_stable(name):
    result = run(name)
    assert result["stability"]["stable"] is True
    assert result["stability"]["unstable_share"] <= 0.25


@pytest.mark.parametrize(
    "overrides",
    [
        ("release.max_batch_size=5",),  # 13 changes a week shipped, ~80 made
        ("release.max_batch_size=12",),
    ],
)
def test_a_capped_weekly_train_is_a_runaway_backlog(overrides):
    result = run("baseline", *overrides, reps=4)
    s = result["stability"]
    assert s["stable"] is False and s["unstable_share"] == 1.0
    assert s["backlog_growth_per_week"] > 20
    assert s["undeployed_share"] > 0.5


def test_elite_with_manual_deploys_cannot_keep_up():
    assert run("elite", "release.deploy=manual", reps=4)["stability"]["stable"] is False


def test_the_growth_it_reports_is_the_arrivals_minus_the_shipments():
    """Conservation: a backlog grows by what is made but not shipped each week (Little's bookkeeping)."""
    from sim.model.delivery import simulate

    scenario = load_scenario(shipped_path("baseline"), ["release.max_batch_size=5"])
    for k in range(3):
        rec = simulate(scenario, 1, k)
        w0, w1 = rec.window_start, rec.window_end
        weeks = (w1 - w0) / 168
        made = ((rec.created >= w0) & (rec.created < w1)).sum() / weeks
        shipped = ((rec.first_deploy_end >= w0) & (rec.first_deploy_end < w1)).sum() / weeks
        growth = stability.backlog(rec).growth_per_week
        assert growth == pytest.approx(made - shipped, rel=0.15)


def test_a_window_too_short_to_judge_is_not_called_unstable():
    result = run("baseline", "release.max_batch_size=5", "days=10", reps=2)
    assert result["stability"]["stable"] is True
    assert result["stability"]["backlog_growth_per_week"] is None


def test_trend_ignores_a_weekly_sawtooth_and_finds_a_ramp():
    rng = np.random.default_rng(3)
    days = np.arange(91)
    sawtooth = 100 + 40 * (days % 7) + rng.normal(0, 5, len(days))
    slope, se = stability._trend(sawtooth)
    assert abs(slope) < 3 * se
    ramp = sawtooth + 9.0 * days  # 63 changes a week
    slope, se = stability._trend(ramp)
    assert slope == pytest.approx(9.0, rel=0.05)
    assert slope / se > stability.T_THRESHOLD


def test_the_sentence_names_the_growth():
    result = run("baseline", "release.max_batch_size=5", reps=2)
    sentence = stability.stability_sentence(result["stability"])
    assert sentence is not None and "changes a week" in sentence
    assert stability.stability_sentence({"stable": True}) is None
