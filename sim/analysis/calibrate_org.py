"""Calibrate an organisation: logs with a ``team`` column (``import git A B C --team-per-repo``, docs/import.md).

Each team's rows are calibrated on their own (:func:`sim.analysis.calibrate.calibrate`, over one window for
every team, with the CI runs of the team's commits), and the teams are assembled into one organisation:
``org.teams`` teams sharing the CI runner pool and the experts, as the model has them
(:mod:`sim.model.delivery`). The model takes per-team values the way a plan does: a ``[[phase]]`` for some
teams only (:mod:`sim.model.params`). So the file written is a plan whose phases all start on day 0, with
no ramp and no adoption cost, each setting one team's own values — ``plan`` and ``forecast`` run it as it
is, and a plan that ``extends`` it adds its phases after them.

What the model cannot hold per team is said, never faked:

- **team sizes**: the model deals the organisation's engineers to its teams in turn (equal sizes), so each
  team's changes per engineer per day is scaled to keep its output (its engineers × their rate);
- **keys sized once per run** (``fixed`` on their field in :mod:`sim.model.sections`: the runner pool, the
  experts, the irregular release law, the warm-up, the output's evidence): one value for the whole
  organisation — the CI runs' estimate for the runner pool, the sum of the changes seen for the output's
  evidence, the longest warm-up, the release law of the busiest team releasing when ready, the release window
  of the busiest team with a calendar, otherwise the value of the team with the most deployments — and a
  warning lists the teams' own values where those the key matters to differ.

A final check simulates the organisation (``check_reps`` replications) and scores every team's rows over the
window, as ``score --by team`` does, beside what each team's logs show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.analysis.calibrate import (
    CHECK_REPS,
    DEFAULT_REPS,
    CalibrationResult,
    calibrate,
    check_window,
    default_base_path,
)
from sim.analysis.calibrate_org_assembly import assemble
from sim.analysis.calibrate_org_check import check_org, org_report
from sim.analysis.ci_facts import ci_facts
from sim.analysis.log_facts import read_facts
from sim.analysis.plan import Plan, load_plan_text
from sim.errors import InputError
from sim.metrics.logs import EventLogs
from sim.metrics.teams import split_by_team, team_values
from sim.model.scenario import Scenario, load_scenario


@dataclass(frozen=True)
class OrgCalibration:
    """The organisation's plan (day-0 phases hold each team's values), its TOML text and the report."""

    plan: Plan
    toml: str
    report: dict[str, Any]
    warnings: list[str]


def team_names(logs: EventLogs) -> list[str]:
    """The teams the logs name (two or more make an organisation); [] when ``changes.csv`` has no team column."""
    if "team" not in logs.changes.columns:
        return []
    for kind, frame in logs.frames().items():
        if "team" not in frame.columns:
            raise InputError(
                f"calibrate: changes.csv has a team column but {kind}.csv has none: give all three "
                f"files a team column (import writes one), or remove it to calibrate one team"
            )
    return team_values(logs)


def calibrate_org(
    logs: EventLogs,
    *,
    base: Scenario | None = None,
    reps: int = DEFAULT_REPS,
    seed: int | None = None,
    workers: int | None = None,
    callback: Callable[[int, int], Any] | None = None,
    check_reps: int = CHECK_REPS,
    benchmark: str = "2023",
    window: tuple[dt.date, dt.date] | None = None,
    ci_runs: pd.DataFrame | None = None,
) -> OrgCalibration:
    """Calibrate every team of the logs over one window and assemble the organisation (module docstring)."""
    teams = team_names(logs)
    if len(teams) < 2:
        raise InputError(f"calibrate: the logs name {len(teams)} team(s): an organisation needs two or more")
    warnings: list[str] = []
    if base is None:
        path = default_base_path()
        base = load_scenario(path) if path is not None else Scenario()
    if window is None:
        pooled = read_facts(logs, base)
        window = (pooled.start.date(), pooled.end.date())
    window = check_window(logs, window)
    parts = split_by_team(logs, teams)
    results: dict[str, CalibrationResult] = {}
    for number, team in enumerate(teams):
        rows = parts[team]
        _check_team(team, rows, window)
        progress = None if callback is None else _team_progress(callback, number, len(teams))
        results[team] = calibrate(
            rows,
            base=base,
            reps=reps,
            seed=seed,
            workers=workers,
            callback=progress,
            check_reps=check_reps,
            benchmark=benchmark,
            window=window,
            ci_runs=_team_runs(ci_runs, team, rows),
        )
        warnings += [f"team {team}: {w}" for w in results[team].warnings]
        if ci_runs is not None and _team_runs(ci_runs, team, rows) is None:
            results[team].report["missing"].append(
                "no CI run is the team's (by a team column of the CI runs, else by the commits of its changes): "
                "its suite and flaky rate left at the base's values"
            )
    org_runners = None
    if ci_runs is not None:
        start, end = (pd.Timestamp(d, tz="UTC") for d in window)
        estimate = ci_facts(ci_runs, start, end).estimates.get("ci.runners")
        org_runners = None if estimate is None else (estimate.value, estimate.note)
    assembled = assemble(teams, results, org_runners, window, warnings)
    plan = load_plan_text(assembled.text, "calibrated_org.toml")
    check = check_org(
        plan,
        teams,
        results,
        logs,
        window,
        seed if seed is not None else plan.seed,
        check_reps,
        workers,
        benchmark,
    )
    report = org_report(plan, teams, results, assembled, check, window, benchmark, warnings)
    return OrgCalibration(plan, assembled.text, report, warnings)


def _check_team(team: str, rows: EventLogs, window: tuple[dt.date, dt.date]) -> None:
    times = rows.deployments["time_created"]
    start, end = (pd.Timestamp(d, tz="UTC") for d in window)
    if not ((times >= start) & (times < end)).any():
        raise InputError(
            f"calibrate: team {team} has no deployment in the window {window[0]} to {window[1]}: "
            f"every team needs one (choose --start/--end where every team released)"
        )


def _team_runs(runs: pd.DataFrame | None, team: str, rows: EventLogs) -> pd.DataFrame | None:
    """The team's CI runs: by the ``team`` column of ``ci_runs.csv`` when it has one, else the runs that tested
    one of the team's changes (a git import writes ``TEAM:sha`` ids; a merge commit tested on the default
    branch is no change, so such runs only count for the shared runner pool)."""
    if runs is None:
        return None
    if "team" in runs.columns and (runs["team"].astype(str) != "").any():
        mine = runs[runs["team"].astype(str).str.strip() == team]
    else:
        ids = set(rows.changes["change_id"].astype(str).str.split(":").str[-1])
        mine = runs[runs["commit"].astype(str).isin(ids)]
    return mine if len(mine) else None


def _team_progress(
    callback: Callable[[int, int], Any], number: int, teams: int
) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        callback(number * total + done, teams * total)

    return update


__all__ = ["OrgCalibration", "calibrate_org", "team_names"]
