"""Schedule.view: a section's typed values at a time, for a team and a unit of work's draw."""

from __future__ import annotations

import pytest

from sim.model.params import Phase, Schedule
from sim.model.scenario import Scenario, parameter_keys
from sim.model.sections import CI, Branching, Release

PHASE = Phase(
    "faster CI",
    day=0.0,
    ramp_days=10.0,
    teams=frozenset({1}),
    values={"ci.test_suite_minutes": 10.0, "branching.strategy": "trunk", "ci.runners": 4},
)


def test_a_section_no_phase_changes_is_the_scenarios_own() -> None:
    scenario = Scenario()
    schedule = Schedule(scenario, [PHASE])
    assert schedule.view(Release, 100.0, 1) is scenario.release


@pytest.mark.parametrize("t", [0.0, 60.0, 120.0, 240.0, 500.0])
@pytest.mark.parametrize("team", [0, 1])
@pytest.mark.parametrize("u", [0.1, 0.5, 0.9])
def test_a_view_reads_what_get_reads(t: float, team: int, u: float) -> None:
    schedule = Schedule(Scenario().with_values({"org.teams": 2}), [PHASE])
    for key in parameter_keys():
        section, field = key.split(".")
        model = {"ci": CI, "branching": Branching}.get(section)
        if model is not None:
            assert getattr(schedule.view(model, t, team, u), field) == schedule.get(key, t, u, team), key


def test_a_view_follows_the_ramp_for_the_team_that_adopts_it() -> None:
    schedule = Schedule(Scenario().with_values({"org.teams": 2}), [PHASE])
    assert schedule.view(CI, 120.0, 0).test_suite_minutes == 60.0  # team 0 does not adopt the phase
    assert schedule.view(CI, 120.0, 1).test_suite_minutes == pytest.approx(35.0)  # halfway through the ramp
    assert schedule.view(Branching, 120.0, 1, u=0.4).strategy == "trunk"  # adopted: u < progress
    assert schedule.view(Branching, 120.0, 1, u=0.6).strategy == "long_lived"
