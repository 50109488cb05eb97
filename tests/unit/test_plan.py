"""Plan files, ramps and the ``plan`` command: loading, validation, ramp semantics, JSON shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.plan import (
    final_window,
    load_plan,
    load_plan_text,
    plan_to_toml,
    run_plan,
    run_plan_replication,
    week_windows,
)
from sim.analysis.runner import run_scenario
from sim.cli import main
from sim.errors import InputError
from sim.model.delivery import simulate
from sim.model.params import Phase, Schedule
from sim.model.records import to_logs
from sim.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.toml"
SHORT_PLAN = ROOT / "tests" / "data" / "plans" / "short_plan.toml"
SHIPPED = [ROOT / "scenarios" / "plan_90_days.toml", ROOT / "scenarios" / "plan_heroics_90_days.toml"]
HOURS = 24.0


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


# ----------------------------------------------------------------------------------------------
# Ramp semantics (sim.model.params.Schedule, as plans use it)


def test_numeric_value_moves_linearly_over_the_ramp(baseline):
    schedule = Schedule(
        baseline, [Phase("fast CI", day=10, ramp_days=10, values={"ci.test_suite_minutes": 10.0})]
    )
    at = lambda day: schedule.get("ci.test_suite_minutes", day * HOURS)  # noqa: E731
    assert at(9.99) == 60.0
    assert at(15) == pytest.approx(35.0)  # halfway from 60 to 10
    assert at(12.5) == pytest.approx(47.5)
    assert at(20) == 10.0
    assert at(80) == 10.0


def test_integer_values_ramp_in_whole_steps(baseline):
    schedule = Schedule(baseline, [Phase("cap", day=0, ramp_days=10, values={"release.max_batch_size": 10})])
    values = [schedule.get("release.max_batch_size", day * HOURS) for day in np.linspace(0, 10, 41)]
    assert all(isinstance(v, int) for v in values)
    assert values[20] == 5
    assert values == sorted(values)


def test_a_switch_is_adopted_by_about_half_the_work_halfway(baseline):
    schedule = Schedule(
        baseline, [Phase("trunk", day=20, ramp_days=10, values={"branching.strategy": "trunk"})]
    )
    units = np.random.default_rng(7).random(4000)  # each unit of work's fixed adoption draw

    def share_on_trunk(day: float) -> float:
        return float(np.mean([schedule.get("branching.strategy", day * HOURS, u) == "trunk" for u in units]))

    assert share_on_trunk(19.9) == 0.0
    assert share_on_trunk(25) == pytest.approx(0.5, abs=0.03)
    assert share_on_trunk(22.5) == pytest.approx(0.25, abs=0.03)
    assert share_on_trunk(30) == 1.0


def test_units_that_adopt_a_switch_keep_it(baseline):
    schedule = Schedule(
        baseline, [Phase("flags", day=0, ramp_days=10, values={"branching.feature_flags": True})]
    )
    units = np.random.default_rng(3).random(500)
    adopted = [
        np.array([schedule.get("branching.feature_flags", d * HOURS, u) for u in units]) for d in (2, 5, 8)
    ]
    assert (adopted[0] <= adopted[1]).all() and (adopted[1] <= adopted[2]).all()


def test_phases_apply_in_order_and_each_ramps_from_the_value_in_force(baseline):
    phases = [
        Phase("half", day=10, ramp_days=0, values={"ci.test_suite_minutes": 30.0}),
        Phase("fast", day=20, ramp_days=10, values={"ci.test_suite_minutes": 10.0}),
    ]
    schedule = Schedule(baseline, phases)
    assert schedule.get("ci.test_suite_minutes", 15 * HOURS) == 30.0
    assert schedule.get("ci.test_suite_minutes", 25 * HOURS) == pytest.approx(20.0)  # halfway from 30, not 60
    assert schedule.get("ci.test_suite_minutes", 31 * HOURS) == 10.0


def test_phases_on_the_same_day_apply_in_file_order():
    text = _plan_text("""
[[phase]]
day = 5
name = "first"
set = { "ci.test_suite_minutes" = 30 }

[[phase]]
day = 5
name = "second"
set = { "ci.test_suite_minutes" = 15 }
""")
    plan = load_plan_text(text, "same_day.toml")
    schedule = Schedule(plan.scenario, plan.phases)
    assert schedule.get("ci.test_suite_minutes", 6 * HOURS) == 15.0


def test_adoption_costs_fade_linearly_and_zero_costs_leave_no_trace(baseline):
    costly = Schedule(baseline, [Phase("x", day=10, ramp_days=10, capacity_cost=0.4, defect_cost=1.0)])
    assert costly.capacity_factor(10 * HOURS) == pytest.approx(0.6)
    assert costly.capacity_factor(15 * HOURS) == pytest.approx(0.8)
    assert costly.defect_factor(15 * HOURS) == pytest.approx(1.5)
    assert costly.capacity_factor(20 * HOURS) == 1.0 and costly.defect_factor(9 * HOURS) == 1.0
    free = Schedule(baseline, [Phase("x", day=10, ramp_days=10, values={"ci.test_suite_minutes": 20.0})])
    assert {free.capacity_factor(d * HOURS) for d in range(40)} == {1.0}
    assert {free.defect_factor(d * HOURS) for d in range(40)} == {1.0}


# ----------------------------------------------------------------------------------------------
# Loading and writing


def _plan_text(phases: str, top: str = "") -> str:
    return f'extends = "{BASELINE.as_posix()}"\nname = "test plan"\n{top}\n{phases}'


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_plans_load_with_phases_in_order(path):
    plan = load_plan(path)
    assert plan.name == path.stem
    assert plan.scenario.days == 90 and plan.reps == 30
    days = [p.day for p in plan.phases]
    assert days == sorted(days) and days[0] == 0
    assert plan.phases[1].day == 14  # two weeks of observing the baseline first
    assert plan.phases[0].values == {}


def test_phase_values_are_validated_and_typed_like_the_scenario():
    plan = load_plan(SHORT_PLAN)
    assert plan.phases[0].values == {"ci.test_suite_minutes": 10.0, "ci.flaky_rate": 0.02}
    assert isinstance(plan.phases[2].values["release.max_batch_size"], int)
    assert plan.scenario.days == 28 and plan.reps == 4 and plan.seed == 1


def test_nested_set_tables_are_read_as_dotted_keys():
    plan = load_plan_text(
        _plan_text('[[phase]]\nday = 1\nname = "ci"\n[phase.set.ci]\ntest_suite_minutes = 12\n'),
        "nested.toml",
    )
    assert plan.phases[0].values == {"ci.test_suite_minutes": 12.0}


def test_costs_default_to_assumed_values_and_a_name_defaults_to_the_file():
    plan = load_plan_text(f'extends = "{BASELINE.as_posix()}"\n[[phase]]\nday = 1\n', "my_plan.toml")
    assert plan.name == "my_plan"
    assert plan.phases[0].name == "phase 1"
    assert plan.phases[0].capacity_cost > 0 and plan.phases[0].defect_cost > 0


def test_plan_to_toml_round_trips():
    plan = load_plan(SHORT_PLAN)
    again = load_plan_text(plan_to_toml(plan), "copy.toml")
    assert again.scenario == plan.scenario
    assert again.phases == plan.phases
    assert (again.name, again.reps, again.seed) == (plan.name, plan.reps, plan.seed)


def test_load_plan_text_resolves_extends_against_base_dir():
    text = 'extends = "baseline.toml"\nname = "upload"\n[[phase]]\nday = 2\nname = "a"\nset = { "ci.runners" = 3 }\n'
    with pytest.raises(InputError, match=r"upload.toml: phase 1 \('a'\): set: ci.runners cannot change"):
        load_plan_text(text, "upload.toml", base_dir=ROOT / "scenarios")
    text = text.replace('"ci.runners" = 3', '"ci.flaky_rate" = 0.05')
    assert load_plan_text(text, "upload.toml", base_dir=ROOT / "scenarios").phases[0].values == {
        "ci.flaky_rate": 0.05
    }


# ----------------------------------------------------------------------------------------------
# Weekly windows and the JSON document


def test_week_windows_are_whole_weeks_and_the_final_window_is_the_last_14_days():
    assert week_windows(90) == [(7 * w, 7) for w in range(12)]
    assert week_windows(28) == [(0, 7), (7, 7), (14, 7), (21, 7)]
    assert week_windows(5) == [(0, 5)]
    assert final_window(90) == (76, 14)
    assert final_window(10) == (0, 10)


def test_weekly_scores_tile_the_run_exactly():
    """Deployments per week x 7 summed over the weeks = the whole run's deployments (no gap, no overlap)."""
    plan = load_plan(SHORT_PLAN)
    result = run_plan_replication(plan.scenario, 5, 2, "2023", plan.phases)
    logs = to_logs(simulate(plan.scenario, 5, 2, plan.phases))
    weekly = sum(round(metrics["deployment_frequency_per_day"] * 7) for metrics, _ in result.weeks)
    assert weekly == len(logs.deployments) > 0
    final_start = logs.start + np.timedelta64(14, "D")
    assert result.final.counts["deployments"] == int((logs.deployments["time_created"] >= final_start).sum())


@pytest.fixture(scope="module")
def short_result():
    return run_plan(load_plan(SHORT_PLAN), workers=1)


def test_plan_json_has_the_documented_shape(short_result):
    result = short_result
    assert set(result) == {
        "plan",
        "days",
        "reps",
        "seed",
        "benchmark",
        "phases",
        "weeks",
        "final",
        "probability_elite_at_end",
        "first_elite_week",
    }
    assert result["reps"] == 4 and result["seed"] == 1 and len(result["weeks"]) == 4
    week = result["weeks"][0]
    assert set(week) == {"week", "start_day", "days", "metrics", "bands", "band_probabilities", "pooled"}
    assert set(week["metrics"]["lead_time_hours"]) == {"p10", "p50", "p90", "mean"}
    assert sum(week["band_probabilities"].values()) == pytest.approx(1.0)
    run_shaped = run_scenario(load_plan(SHORT_PLAN).scenario, reps=1, workers=1)
    assert set(result["final"]) == set(run_shaped)
    assert result["final"]["days"] == 14 and result["final"]["reps"] == 4
    assert result["probability_elite_at_end"] == result["final"]["band_probabilities"]["elite"]
    assert result["phases"][1] == {
        "day": 7,
        "name": "trunk and automation",
        "ramp_days": 7,
        "capacity_cost": 0.3,
        "defect_cost": 1.5,
        "teams": "all",
        "set": {
            "branching.strategy": "trunk",
            "branching.branch_lifetime_days": 0.2,
            "release.deploy": "automated",
            "operations.automated_rollback": True,
        },
    }
    json.dumps(result, allow_nan=False)


def test_first_elite_week_is_the_first_week_whose_median_is_elite(short_result):
    elite_weeks = [w["week"] for w in short_result["weeks"] if w["bands"]["overall"] == "elite"]
    assert short_result["first_elite_week"] == (elite_weeks[0] if elite_weeks else None)


def test_output_does_not_depend_on_the_number_of_workers(short_result):
    plan = load_plan(SHORT_PLAN)
    two = run_plan(plan, workers=2)
    assert json.dumps(two) == json.dumps(short_result)
    assert json.dumps(run_plan(plan, seed=2, workers=1)) != json.dumps(short_result)


# ----------------------------------------------------------------------------------------------
# The command line


def test_cli_json_is_one_document_and_the_table_tells_the_story(tmp_path, capsys):
    assert main(["plan", str(SHORT_PLAN), "--reps", "2", "--workers", "1", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["reps"] == 2 and err == ""
    assert main(["plan", str(SHORT_PLAN), "--reps", "2", "--workers", "1", "--seed", "3"]) == 0
    out, _ = capsys.readouterr()
    for text in (
        "fast CI",
        "Week by week",
        "P(elite)",
        "First week whose p50s are Elite",
        "the last 14 days",
    ):
        assert text in out


PHASE = '[[phase]]\nday = {day}\nname = "{name}"\nramp_days = {ramp}\nset = {{ {set} }}\n'


def _phase(day=14, name="ci", ramp=7, values='"ci.test_suite_minutes" = 10'):
    return PHASE.format(day=day, name=name, ramp=ramp, set=values)


BAD_PLANS = {
    # case: (plan text, what stderr must say after the file name)
    "bad toml": (_plan_text("[[phase]\nday = 1\n"), "invalid TOML"),
    "unknown top-level key": (
        _plan_text("[[phases]]\nday = 1\n"),
        "unknown top-level key 'phases' (did you mean 'phase'?)",
    ),
    "unknown scenario key": (
        _plan_text("", "[ci]\nrunnerz = 3\n"),
        "unknown key 'ci.runnerz' = 3: not a scenario key (did you mean 'ci.runners'?)",
    ),
    "day beyond the horizon": (
        _plan_text(_phase(day=90)),
        "phase 1 ('ci'): day = 90: outside the horizon (0 <= day < 90)",
    ),
    "negative day": (_plan_text(_phase(day=-1)), "phase 1 ('ci'): day = -1: outside the horizon"),
    "day not a number": (
        _plan_text(_phase(day='"monday"')),
        "phase 1 ('ci'): day = 'monday': must be a number of days",
    ),
    "missing day": (_plan_text('[[phase]]\nname = "ci"\n'), "phase 1 ('ci'): missing 'day'"),
    "negative ramp": (_plan_text(_phase(ramp=-3)), "phase 1 ('ci'): ramp_days = -3: must be a number >= 0"),
    "unknown set key": (
        _plan_text(_phase(values='"ci.test_suite_minute" = 10')),
        "phase 1 ('ci'): set: unknown key 'ci.test_suite_minute' (did you mean 'ci.test_suite_minutes'?)",
    ),
    "identity key in set": (
        _plan_text(_phase(values='"days" = 30')),
        "phase 1 ('ci'): set: unknown key 'days'",
    ),
    "static key in set": (
        _plan_text(_phase(values='"operations.experts" = 3')),
        "phase 1 ('ci'): set: operations.experts cannot change during a run",
    ),
    "value out of range": (
        _plan_text(_phase(values='"ci.flaky_rate" = 2.0')),
        "phase 1 ('ci'): set: ci.flaky_rate = 2.0: input should be less than or equal to 0.95",
    ),
    "unknown choice": (
        _plan_text(_phase(name="trunk", values='"branching.strategy" = "trunc"')),
        "phase 1 ('trunk'): set: branching.strategy = 'trunc': must be one of 'long_lived' or 'trunk'",
    ),
    "wrong type": (
        _plan_text(_phase(values='"branching.feature_flags" = "yes"')),
        "phase 1 ('ci'): set: branching.feature_flags = 'yes'",
    ),
    "second phase invalid": (
        _plan_text(_phase() + _phase(day=20, name="batches", values='"release.max_batch_size" = -1')),
        "phase 2 ('batches'): set: release.max_batch_size = -1",
    ),
    "out of order": (
        _plan_text(_phase(day=30, name="late") + _phase(day=20, name="early")),
        "phase 2 ('early'): day = 20 comes before phase 1 ('late', day 30)",
    ),
    "unknown phase key": (
        _plan_text(_phase() + "ramp = 3\n"),
        "phase 1 ('ci'): unknown key 'ramp' (did you mean 'ramp_days'?)",
    ),
    "capacity cost too big": (
        _plan_text(_phase() + "capacity_cost = 1.5\n"),
        "phase 1 ('ci'): capacity_cost = 1.5: must be a share >= 0 and < 1",
    ),
    "negative defect cost": (
        _plan_text(_phase() + "defect_cost = -0.5\n"),
        "phase 1 ('ci'): defect_cost = -0.5: must be a number >= 0",
    ),
    "set not a table": (
        _plan_text('[[phase]]\nday = 1\nname = "ci"\nset = 3\n'),
        "phase 1 ('ci'): set = 3: must be a table",
    ),
    "phase not a table": (_plan_text("phase = 3\n"), "phase: must be a list of [[phase]] tables"),
    "bad reps": (_plan_text("", "reps = 0"), "reps = 0: must be a whole number >= 1"),
    "extends missing": ('extends = "nowhere.toml"\n', "extends = 'nowhere.toml': file not found"),
}


@pytest.mark.parametrize("case", list(BAD_PLANS))
def test_bad_plan_exits_2_with_one_line_naming_file_phase_and_problem(case, tmp_path, capsys):
    text, message = BAD_PLANS[case]
    path = tmp_path / "bad_plan.toml"
    path.write_text(text)
    assert main(["plan", str(path), "--reps", "1", "--workers", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert f"bad_plan.toml: {message}" in err


def test_a_missing_plan_file_is_one_line(tmp_path, capsys):
    assert main(["plan", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err.strip().endswith("nope.toml: plan file not found")
    assert main(["plan", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_a_bad_plan_fails_in_a_real_process_without_a_traceback(tmp_path):
    (tmp_path / "bad.toml").write_text(BAD_PLANS["out of order"][0])
    done = subprocess.run(
        [sys.executable, "-m", "sim", "plan", str(tmp_path / "bad.toml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert "bad.toml: phase 2 ('early'): day = 20 comes before phase 1" in done.stderr
