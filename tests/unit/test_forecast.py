"""``sim.analysis.forecast`` and ``python -m sim forecast``: ship dates of a piece of work."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.forecast import ShipResult, forecast, probability_curve, ship_time, summarize_ships
from sim.analysis.plan import load_plan
from sim.cli import main
from sim.errors import InputError
from sim.model.delivery import simulate
from sim.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
START = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(SCENARIOS / "baseline.toml")


@pytest.fixture(scope="module")
def elite():
    return load_scenario(SCENARIOS / "elite.toml")


def test_ship_time_is_when_the_last_of_the_first_n_changes_is_live(baseline):
    moved = baseline.with_values({"start": START}, source="test")
    result = ship_time(moved, 30, START, 1, 0)
    run = moved.with_values({"days": result.horizon_days}, source="test")
    records = simulate(run, 1, 0)
    created = np.asarray(records.created)
    ends = np.asarray(records.first_deploy_end)
    t0 = records.window_start
    after = np.flatnonzero(created >= t0)
    work = after[np.argsort(created[after], kind="stable")[:30]]  # the first 30 created from the start on
    assert created[work].max() <= np.sort(created[after])[29]
    assert result.hours == pytest.approx(ends[work].max() - t0)
    assert not np.isnan(ends[work]).any()


def test_a_cap_too_short_leaves_the_work_unfinished(baseline):
    result = ship_time(baseline, 400, START, 1, 0, max_days=7)
    assert result.hours is None and result.horizon_days == 7


def test_quantiles_are_the_first_day_by_which_that_share_had_shipped():
    hours = [24.0 * d + 5 for d in (3, 1, 2, 10, 4, 5, 6, 7, 8, 9)]
    results = [ShipResult(k, h, 42) for k, h in enumerate(hours)]
    out = summarize_ships(
        results, scenario_name="x", changes=5, start=START, seed=1, target=START + dt.timedelta(days=4)
    )
    assert out["days_p50"] == 5 and out["p50"] == "2026-03-07"
    assert out["days_p85"] == 9 and out["days_p95"] == 10
    assert out["probability_by_target"] == pytest.approx(0.4)  # days 1, 2, 3, 4
    assert out["spread_days"] == 5


def test_unfinished_replications_never_make_the_target_and_hide_high_quantiles():
    results = [ShipResult(0, 24.0, 42), ShipResult(1, None, 730)]
    out = summarize_ships(
        results, scenario_name="x", changes=5, start=START, seed=1, target=START + dt.timedelta(days=900)
    )
    assert out["p50"] == "2026-03-03" and out["p95"] is None
    assert out["probability_by_target"] == 0.5 and out["unfinished"] == 1


def test_process_ships_sooner_and_with_less_spread(baseline, elite):
    slow = forecast(baseline, 40, START, reps=30, seed=1, workers=1)
    fast = forecast(elite, 40, START, reps=30, seed=1, workers=1)
    assert fast["days_p85"] < slow["days_p50"]
    assert fast["spread_days"] < slow["spread_days"]


def test_the_same_seed_gives_the_same_forecast_whatever_the_workers(baseline):
    one = forecast(baseline, 20, START, reps=6, seed=3, workers=1)
    two = forecast(baseline, 20, START, reps=6, seed=3, workers=2)
    assert one == two


def test_a_plan_forecast_keeps_the_plans_start_and_gets_faster_later():
    plan = load_plan(SCENARIOS / "plan_90_days.toml")
    early = forecast(plan.scenario, 40, plan.scenario.start, reps=10, seed=1, phases=plan.phases, workers=1)
    late = forecast(
        plan.scenario,
        40,
        plan.scenario.start + dt.timedelta(days=63),
        reps=10,
        seed=1,
        phases=plan.phases,
        workers=1,
    )
    assert late["days_p50"] < early["days_p50"]
    with pytest.raises(InputError, match="before the plan starts"):
        forecast(plan.scenario, 40, plan.scenario.start - dt.timedelta(days=1), reps=2, phases=plan.phases)


def test_probability_curve_rises_to_the_finished_share():
    out = summarize_ships(
        [ShipResult(0, 30.0, 42), ShipResult(1, 80.0, 42)], scenario_name="x", changes=1, start=START, seed=1
    )
    curve = probability_curve(out)
    assert [r["share"] for r in curve] == [0.0, 0.5, 0.5, 1.0]
    assert curve[0]["date"] == "2026-03-02"


def test_cli_json_has_the_contract_keys(capsys, tmp_path):
    report = tmp_path / "f.html"
    code = main(
        [
            "forecast",
            str(SCENARIOS / "baseline.toml"),
            "--changes",
            "20",
            "--start",
            "2026-03-02",
            "--target",
            "2026-03-31",
            "--reps",
            "5",
            "--workers",
            "1",
            "--json",
            "--report",
            str(report),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert {"scenario", "changes", "start", "reps", "p50", "p85", "p95", "probability_by_target"} <= set(doc)
    assert doc["changes"] == 20 and doc["start"] == "2026-03-02" and doc["reps"] == 5
    for q in ("p50", "p85", "p95"):
        dt.date.fromisoformat(doc[q])
    assert 0.0 <= doc["probability_by_target"] <= 1.0
    assert "<svg" in report.read_text(encoding="utf-8")


def test_cli_without_target_gives_null_and_a_plan_by_name(capsys):
    assert main(["forecast", "plan_90_days", "--reps", "2", "--workers", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["probability_by_target"] is None and doc["scenario"] == "plan_90_days"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "next monday"], "--start 'next monday': not a date"),
        (
            ["--start", "2026-03-02", "--target", "2026-03-01"],
            "--target 2026-03-01: before --start 2026-03-02",
        ),
        (["--report", "out.pdf"], "the report is HTML"),
    ],
)
def test_cli_mistakes_are_one_line_and_exit_2(capsys, args, message):
    assert main(["forecast", "baseline", "--reps", "1", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_monte_carlo_resamples_the_calibration_window_when_the_work_starts_at_its_end(baseline):
    from sim.cli.forecast import monte_carlo_window
    from sim.model.scenario import Calibration

    calibrated = baseline.model_copy(update={"calibration": Calibration(window="2025-06-01 to 2026-06-01")})
    end = dt.date(2026, 6, 1)
    assert monte_carlo_window(calibrated, end, None) == (dt.date(2025, 6, 1), end)
    assert monte_carlo_window(calibrated, end, 30) == (dt.date(2026, 5, 2), end)  # --window-days wins
    later = dt.date(2026, 7, 1)  # work starting elsewhere: the 180 days before it
    assert monte_carlo_window(calibrated, later, None) == (later - dt.timedelta(days=180), later)
    assert monte_carlo_window(baseline, end, None) == (end - dt.timedelta(days=180), end)
