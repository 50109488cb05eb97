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
        notes.append(
            f"team.overtime = {scenario.team.overtime:g} asks for {asked:.0f}-hour weeks, but evenings "
            f"and weekends hold only {given:.0f} hours: the extra beyond that is not worked"
        )
    caveat = fit_caveat(scenario)
    if caveat:
        notes.append(caveat)
    return notes


THIN_DEPLOYMENTS = 5  # fewer deployments than this in a calibration window leave its fit thin


def fit_caveat(scenario: Scenario) -> str | None:
    """One line when a calibrated scenario's fit is poor or its data thin (None otherwise)."""
    fit = scenario.calibration
    if fit is None:
        return None
    problems = []
    if fit.deployments < THIN_DEPLOYMENTS:
        problems.append(f"only {fit.deployments} deployment(s) in its window")
    if fit.outside_bar:
        problems.append(f"{fit.outside_bar} outside the calibration bar")
    if not problems:
        return None
    return (
        f"calibrated on {fit.window or 'a team’s logs'} with {' and '.join(problems)}: read its numbers as "
        f"rough (the ranges carry the parameter uncertainty the data leave; docs/model.md)"
    )
