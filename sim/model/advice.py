"""Notes about a scenario that is valid but does not do quite what its numbers say.

The scenario schema rejects what is impossible; these notes flag what is possible but capped or
surprising, so a run can say so next to its results (``run`` JSON ``warnings``).
"""

from __future__ import annotations

from sim.model.calendar import weekly_hours
from sim.model.scenario import Scenario


def scenario_notes(scenario: Scenario) -> list[str]:
    notes = []
    asked, given = weekly_hours(scenario.team.working_hours_per_day, scenario.team.overtime)
    if given < asked - 1e-9:
        notes.append(f"team.overtime = {scenario.team.overtime:g} asks for {asked:.0f}-hour weeks, but evenings "
                     f"and weekends hold only {given:.0f} hours: the extra beyond that is not worked")
    return notes
