"""What plans must do: the shipped 90-day plan reaches Elite, heroics do not, adoption costs dip.

The shipped plans run with their own 30 replications (the numbers users see); the adoption-cost
checks compare a plan with and without costs on the same seeds (common random numbers).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from sim.analysis.plan import Plan, load_plan, load_plan_text, run_plan

ROOT = Path(__file__).resolve().parents[2]
ELITE = (ROOT / "scenarios" / "elite.toml").as_posix()


@pytest.fixture(scope="module")
def process_plan():
    return run_plan(load_plan(ROOT / "scenarios" / "plan_90_days.toml"))


@pytest.fixture(scope="module")
def heroics_plan():
    return run_plan(load_plan(ROOT / "scenarios" / "plan_heroics_90_days.toml"))


@pytest.mark.slow
def test_the_90_day_plan_ends_elite(process_plan):
    result = process_plan
    assert result["reps"] == 30
    assert result["final"]["bands"]["overall"] == "elite"
    assert result["probability_elite_at_end"] >= 0.5
    assert result["first_elite_week"] is not None and result["first_elite_week"] <= 12


@pytest.mark.slow
def test_the_90_day_plan_starts_from_the_struggling_baseline_and_improves_week_by_week(process_plan):
    weeks = process_plan["weeks"]
    assert [w["bands"]["overall"] for w in weeks[:2]] == ["low", "low"]  # two weeks of observing
    lead = [w["metrics"]["lead_time_hours"]["p50"] for w in weeks]
    assert lead[0] >= 168 and lead[-1] < 24
    assert lead[-1] <= 0.1 * lead[0]
    first = process_plan["first_elite_week"]
    assert all(w["bands"]["overall"] != "elite" for w in weeks[: first - 1])


@pytest.mark.slow
def test_heroics_never_reach_elite_and_the_process_plan_beats_them_at_the_end(heroics_plan, process_plan):
    assert heroics_plan["first_elite_week"] is None
    assert heroics_plan["probability_elite_at_end"] == 0.0
    assert heroics_plan["final"]["bands"]["overall"] in ("low", "medium")
    assert all(w["band_probabilities"]["elite"] == 0.0 for w in heroics_plan["weeks"])
    process, heroics = process_plan["final"]["metrics"], heroics_plan["final"]["metrics"]
    assert process["deployment_frequency_per_day"]["p50"] > heroics["deployment_frequency_per_day"]["p50"]
    for key in ("lead_time_hours", "change_failure_rate", "time_to_restore_hours"):
        assert process[key]["p50"] < heroics[key]["p50"], key


@pytest.mark.slow
def test_the_90_day_plan_gets_worse_before_it_gets_better(process_plan):
    """The J-curve: some mid-plan week is clearly (>= 3%) worse than week 1 on lead time or CFR."""
    weeks = process_plan["weeks"]
    middle = weeks[1:9]
    for key in ("lead_time_hours", "change_failure_rate"):
        first = weeks[0]["metrics"][key]["p50"]
        worst = max(
            (w["metrics"][key]["p50"] for w in middle if w["metrics"][key]["p50"] is not None), default=None
        )
        if first is not None and worst is not None and worst > first * 1.03:
            return
    pytest.fail("no mid-plan week is worse than week 1 on lead time or change failure rate (p50)")


# ----------------------------------------------------------------------------------------------
# Adoption costs (the J-curve) on a team that already deploys continuously, so output shows up
# directly in deployment frequency.

COST_PLAN = f"""
extends = "{ELITE}"
name = "adoption cost"
days = 28
reps = 8

[[phase]]
day = 7
name = "a new practice, nothing else changes"
ramp_days = 14
capacity_cost = {{capacity}}
defect_cost = {{defect}}
set = {{{{}}}}
"""


def _cost_plan(capacity: float, defect: float) -> Plan:
    return load_plan_text(COST_PLAN.format(capacity=capacity, defect=defect), "cost.toml")


def _weekly(result: dict, key: str, stat: str) -> list[float]:
    return [w["metrics"][key][stat] for w in result["weeks"]]


@pytest.fixture(scope="module")
def without_cost():
    return run_plan(_cost_plan(0.0, 0.0), workers=1)


def test_a_plan_without_adoption_cost_has_no_dip(without_cost):
    """Zero cost: every week equals the unchanged scenario's on the same random numbers."""
    unchanged = dataclasses.replace(_cost_plan(0.0, 0.0), phases=())
    without = run_plan(unchanged, workers=1)
    assert json.dumps(without_cost["weeks"]) == json.dumps(without["weeks"])
    assert json.dumps(without_cost["final"]) == json.dumps(without["final"])


def test_capacity_cost_dips_output_while_the_phase_ramps_then_fades(without_cost):
    free = _weekly(without_cost, "deployment_frequency_per_day", "mean")
    costly = _weekly(run_plan(_cost_plan(0.5, 0.0), workers=1), "deployment_frequency_per_day", "mean")
    assert costly[0] == pytest.approx(free[0], rel=0.05)  # before the ramp: the same output
    assert costly[1] < 0.75 * free[1]  # first week of the ramp: a third to a half of the output lost
    assert costly[1] < costly[2] < costly[3]  # the dip fades as the ramp ends


def test_defect_cost_raises_the_failure_rate_while_the_phase_ramps(without_cost):
    free = _weekly(without_cost, "change_failure_rate", "mean")
    costly = _weekly(run_plan(_cost_plan(0.0, 2.0), workers=1), "change_failure_rate", "mean")
    assert costly[1] + costly[2] > 1.3 * (free[1] + free[2])
