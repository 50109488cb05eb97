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
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibrate import (
    CHECK_REPS,
    DEFAULT_REPS,
    METRICS,
    RELEASE_WHEN_READY,
    CalibrationResult,
    calibrate,
    check_window,
    default_base_path,
)
from sim.analysis.calibrate_search import BAR, bar_error
from sim.analysis.ci_facts import ci_facts
from sim.analysis.log_facts import read_facts
from sim.analysis.parallel import run_tasks
from sim.analysis.plan import Plan, load_plan_text
from sim.analysis.runner import percentiles
from sim.errors import InputError
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import score, score_columns
from sim.metrics.teams import split_by_team, team_values
from sim.model.delivery import simulate
from sim.model.flow.work import team_size
from sim.model.records import to_columns, window_bounds
from sim.model.scenario import (
    Calibration,
    Scenario,
    fixed_keys,
    get_value,
    load_scenario,
    parameter_info,
    parameter_keys,
)
from sim.model.scenario import scenario_to_toml as _scenario_to_toml

MAX_RATE = float(parameter_info("team.changes_per_engineer_per_day")["limits"]["le"])
ORG_RULES = {  # how one organisation-wide value is chosen from the teams' (keys the model sizes once per run)
    "team.engineers": "the sum of the teams' engineers",
    "team.output_evidence": "the sum of the changes the teams' logs showed",
    "simulation.warmup_days": "the longest of the teams' warm-ups (every team's backlog is full when the window opens)",
    "ci.runners": "estimated from every team's CI runs together (one pool serves the organisation)",
}


RELEASE_LAW_KEYS = ("release.gap_days", "release.gap_spread", "release.gap_evidence", "release.pending_hazard",
                    "release.state_day", "release.days_since_release")
CALENDAR_CADENCES = ("daily", "weekly", "biweekly", "monthly")


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
            raise InputError(f"calibrate: changes.csv has a team column but {kind}.csv has none: give all three "
                             f"files a team column (import writes one), or remove it to calibrate one team")
    return team_values(logs)


def calibrate_org(logs: EventLogs, *, base: Scenario | None = None, reps: int = DEFAULT_REPS,
                  seed: int | None = None, workers: int | None = None,
                  callback: Callable[[int, int], Any] | None = None, check_reps: int = CHECK_REPS,
                  benchmark: str = "2023", window: tuple[dt.date, dt.date] | None = None,
                  ci_runs: pd.DataFrame | None = None) -> OrgCalibration:
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
        results[team] = calibrate(rows, base=base, reps=reps, seed=seed, workers=workers, callback=progress,
                                  check_reps=check_reps, benchmark=benchmark, window=window,
                                  ci_runs=_team_runs(ci_runs, team, rows))
        warnings += [f"team {team}: {w}" for w in results[team].warnings]
        if ci_runs is not None and _team_runs(ci_runs, team, rows) is None:
            results[team].report["missing"].append(
                "no CI run is the team's (by a team column of the CI runs, else by the commits of its changes): "
                "its suite and flaky rate left at the base's values")
    org_runners = None
    if ci_runs is not None:
        start, end = (pd.Timestamp(d, tz="UTC") for d in window)
        estimate = ci_facts(ci_runs, start, end).estimates.get("ci.runners")
        org_runners = None if estimate is None else (estimate.value, estimate.note)
    assembled = _assemble(teams, results, org_runners, window, warnings)
    plan = load_plan_text(assembled.text, "calibrated_org.toml")
    check = _org_check(plan, teams, results, logs, window, seed if seed is not None else plan.seed, check_reps,
                       workers, benchmark)
    report = _report(plan, teams, results, assembled, check, window, benchmark, warnings)
    return OrgCalibration(plan, assembled.text, report, warnings)


def _check_team(team: str, rows: EventLogs, window: tuple[dt.date, dt.date]) -> None:
    times = rows.deployments["time_created"]
    start, end = (pd.Timestamp(d, tz="UTC") for d in window)
    if not ((times >= start) & (times < end)).any():
        raise InputError(f"calibrate: team {team} has no deployment in the window {window[0]} to {window[1]}: "
                         f"every team needs one (choose --start/--end where every team released)")


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


def _team_progress(callback: Callable[[int, int], Any], number: int, teams: int) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        callback(number * total + done, teams * total)

    return update


# ---------------------------------------------------------------------------------------------
# Assembling the organisation


@dataclass(frozen=True)
class _Assembled:
    text: str
    scale: dict[str, dict[str, float]]
    shared: dict[str, dict[str, Any]]


def _assemble(teams: list[str], results: dict[str, CalibrationResult], org_runners: tuple[int, str] | None,
              window: tuple[dt.date, dt.date], warnings: list[str]) -> _Assembled:
    scenarios = {team: results[team].scenario for team in teams}
    deployments = {team: results[team].report["counts"]["deployments"] for team in teams}
    by_deployments = sorted(teams, key=lambda team: (-deployments[team], teams.index(team)))
    busiest = by_deployments[0]
    n = len(teams)
    engineers = {team: scenarios[team].team.engineers for team in teams}
    total = max(n, sum(engineers.values()))
    org: dict[str, Any] = {key: get_value(scenarios[busiest], key) for key in parameter_keys()}
    shared = _shared_values(teams, scenarios, by_deployments, org_runners, total, warnings)
    org.update({key: item["value"] for key, item in shared.items()})
    scale: dict[str, dict[str, float]] = {}
    team_values_: dict[str, dict[str, Any]] = {}
    for k, team in enumerate(teams):
        size = team_size(k, total, n)
        output = engineers[team] * scenarios[team].team.changes_per_engineer_per_day
        rate = output / size
        if rate > MAX_RATE:
            warnings.append(f"team {team}: {output:.3g} changes a working day for {size} engineer(s) in the model is "
                            f"more than {MAX_RATE:g} per engineer: capped (its output is understated)")
            rate = MAX_RATE
        scale[team] = {"engineers_observed": engineers[team], "engineers_in_model": size,
                       "changes_per_engineer_per_day": round(rate, 6)}
        values = {key: get_value(scenarios[team], key) for key in parameter_keys()}
        values["team.changes_per_engineer_per_day"] = round(rate, 6)
        team_values_[team] = values
    if len(set(engineers.values())) > 1:
        sizes = ", ".join(f"{team} {engineers[team]}" for team in teams)
        warnings.append(f"team sizes: the model deals the organisation's {total} engineers to its {n} teams in turn "
                        f"(equal sizes), not as the logs show ({sizes}): each team's changes per engineer per day "
                        f"is scaled so its output matches")
    org["team.changes_per_engineer_per_day"] = team_values_[busiest]["team.changes_per_engineer_per_day"]
    org_scenario = scenarios[busiest].with_values(
        {**org, "org.teams": n, "name": "calibrated_org",
         "description": f"{n} teams calibrated from their own logs ({', '.join(teams)}), {window[0]} to "
                        f"{window[1]} (end exclusive)"}, source="calibration")
    org_scenario = org_scenario.model_copy(update={"calibration": _diagnostics(teams, results, window)})
    text = _text(org_scenario, teams, results, team_values_, org, shared, busiest)
    return _Assembled(text, scale, shared)


def _source_team(key: str, teams: list[str], scenarios: dict[str, Scenario], busiest: str) -> tuple[str, str]:
    """The team whose value of a once-per-run key the organisation takes, and why: the release law of teams
    releasing when ready from such a team, the release window from a team with a release calendar, else the
    team with the most deployments."""
    users = _users(key, teams, scenarios)
    if users and busiest not in users:
        what = "releasing when ready" if key in RELEASE_LAW_KEYS else "with a release calendar"
        return users[0], f"team {users[0]}'s value (the busiest team {what})"
    return busiest, f"team {busiest}'s value (the team with the most deployments)"


def _users(key: str, teams: list[str], scenarios: dict[str, Scenario]) -> list[str]:
    """The teams a once-per-run release key matters to ([] for other keys): the release law to teams releasing
    when ready, the release window to teams with a release calendar."""
    cadences = RELEASE_WHEN_READY if key in RELEASE_LAW_KEYS else CALENDAR_CADENCES \
        if key == "release.window_hours" else ()
    return [team for team in teams if scenarios[team].release.cadence in cadences]


def _shared_values(teams: list[str], scenarios: dict[str, Scenario], by_deployments: list[str],
                   org_runners: tuple[int, str] | None, total: int, warnings: list[str]) -> dict[str, dict[str, Any]]:
    """One organisation-wide value for each key the model sizes once per run, and how it was chosen
    (``by_deployments``: the teams, most deployments first)."""
    busiest = by_deployments[0]
    shared: dict[str, dict[str, Any]] = {}
    for key in (*fixed_keys(), "team.engineers"):
        if key == "org.teams":
            continue
        own = {team: get_value(scenarios[team], key) for team in teams}
        source, source_rule = _source_team(key, by_deployments, scenarios, busiest)
        if key == "team.engineers":
            value: Any = total
        elif key == "team.output_evidence":
            value = int(min(sum(own.values()), parameter_info(key)["limits"]["le"]))
        elif key == "simulation.warmup_days":
            value = max(own.values())
        elif key == "ci.runners" and org_runners is not None:
            value = org_runners[0]
        else:
            value = own[source]
        rule = ORG_RULES.get(key, source_rule)
        if key == "ci.runners" and org_runners is None:
            rule = f"team {busiest}'s value (the CI runs, if any, do not show the shared pool)"
        shared[key] = {"value": value, "teams": own, "rule": rule}
        relevant = _users(key, teams, scenarios) or teams  # the release law matters to teams releasing when ready
        if len({repr(own[t]) for t in relevant}) > 1 and key not in ("team.engineers", "team.output_evidence"):
            listed = ", ".join(f"{team} {_short(own[team])}" for team in relevant)
            why = parameter_info(key).get("fixed", "")
            warnings.append(f"{key}: the model holds one value for the organisation ({why}): {_short(value)}, "
                            f"{rule}; the teams' own values were {listed}")
    return shared


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _diagnostics(teams: list[str], results: dict[str, CalibrationResult],
                 window: tuple[dt.date, dt.date]) -> Calibration:
    def listed(field: str) -> str:
        return "; ".join(f"{team}: {getattr(results[team].scenario.calibration, field)}" for team in teams
                         if results[team].scenario.calibration and getattr(results[team].scenario.calibration, field))

    fits = [results[team].scenario.calibration for team in teams]
    return Calibration(window=f"{window[0]} to {window[1]}",
                       deployments=sum(f.deployments for f in fits if f), changes=sum(f.changes for f in fits if f),
                       incidents=sum(f.incidents for f in fits if f), within_bar=listed("within_bar"),
                       outside_bar=listed("outside_bar"), not_fitted=listed("not_fitted"))


def _origin_label(item: dict[str, Any]) -> str:
    if "from" in item:
        return f"estimated from {item['from']}"
    return {"estimated": "estimated from the logs", "fitted": "fitted", "default": "left at default"}[item["origin"]]


def _text(org: Scenario, teams: list[str], results: dict[str, CalibrationResult], values: dict[str, dict[str, Any]],
          top: dict[str, Any], shared: dict[str, dict[str, Any]], busiest: str) -> str:
    origins = results[busiest].report["parameters"]
    comments = {key: f"{parameter_info(key)['unit']}; team {busiest}'s, {_origin_label(origins[key])}: "
                     f"{origins[key]['note']}" for key in parameter_keys() if key in origins}
    for key, item in shared.items():
        comments[key] = f"{parameter_info(key)['unit']}; the organisation's: {item['rule']}"
    comments["org.teams"] = f"teams; the teams the logs name, in this order: {', '.join(teams)}"
    comments["team.changes_per_engineer_per_day"] = (
        "changes / engineer / working day; per team in its phase: its output over the engineers the model gives it")
    header = ["# Calibrated by `dorasim calibrate` from an organisation's logs (a team column): each team's values",
              "# were calibrated from its own rows. The model takes per-team values as a plan does, so each team's",
              "# own values are a phase on day 0 with no ramp and no cost (`plan` and `forecast` run this file;",
              "# a plan that extends it adds its phases after these). Values the model holds once for the whole",
              "# organisation (runner pool, experts, warm-up, irregular release law) say how they were chosen.", ""]
    lines = ["\n".join(header) + _scenario_to_toml(org, comments).rstrip("\n")]
    for k, team in enumerate(teams):
        report = results[team].report["parameters"]
        changed = {key: value for key, value in values[team].items()
                   if key not in shared and key not in ("org.teams",) and value != top[key]}
        lines += ["", f"# team {k + 1} = {team}: its own values"]
        for key in changed:
            item = report.get(key)
            how = ("its output over the engineers the model gives it" if key == "team.changes_per_engineer_per_day"
                   else f"{_origin_label(item)}: {item['note']}" if item else "")
            lines.append(f"#   {key}: {how}"[:300])
        pairs = ", ".join(f"{_quoted(key)} = {_toml(value)}" for key, value in changed.items())
        lines += ["[[phase]]", "day = 0", f"name = {_toml(f'team {team}: its own values')}", "ramp_days = 0",
                  "capacity_cost = 0.0", "defect_cost = 0.0", f"teams = [{k + 1}]", f"set = {{ {pairs} }}"]
    return "\n".join(lines) + "\n"


def _quoted(key: str) -> str:
    return f'"{key}"'


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


# ---------------------------------------------------------------------------------------------
# The organisation's check and report


def _check_replication(plan: Plan, seed: int, replication: int, benchmark: str,
                       teams: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One replication of the organisation: the pooled metrics and every team's, over the whole window."""
    records = simulate(plan.scenario, seed, replication, plan.phases)
    columns = to_columns(records)
    start, end = window_bounds(records)
    pooled = score_columns(columns, start=start, end=end, benchmark=benchmark)["metrics"]
    return dict(pooled), [dict(score_columns(part, start=start, end=end, benchmark=benchmark)["metrics"])
                          for part in columns.by_team(teams)]


def _org_check(plan: Plan, teams: list[str], results: dict[str, CalibrationResult], logs: EventLogs,
               window: tuple[dt.date, dt.date], seed: int, reps: int, workers: int | None,
               benchmark: str) -> dict[str, Any]:
    tasks = [(plan, seed, k, benchmark, len(teams)) for k in range(reps)]
    runs = run_tasks(_check_replication, tasks, workers=workers)
    start, end = (pd.Timestamp(d, tz="UTC") for d in window)
    observed = score(logs.changes, logs.deployments, logs.incidents, start=start, end=end, benchmark=benchmark)
    pooled = _compare(observed["metrics"], [run[0] for run in runs])
    per_team = []
    for k, team in enumerate(teams):
        seen = results[team].report["metrics"]
        per_team.append(_compare({key: seen[key]["observed"] for key in seen}, [run[1][k] for run in runs]))
    return {"reps": reps, "pooled": pooled, "teams": per_team, "counts": observed["counts"]}


def _compare(observed: dict[str, Any], simulated: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for key in (*METRICS, "rework_rate"):
        spread = percentiles([run.get(key) for run in simulated])
        error = bar_error(key, spread["p50"], observed.get(key)) if key in BAR else None
        out[key] = {"observed": observed.get(key), "simulated_p50": spread["p50"], "simulated_p10": spread["p10"],
                    "simulated_p90": spread["p90"], "error": error,
                    "within_bar": (error <= BAR[key][1]) if error is not None else None}
    return out


def _report(plan: Plan, teams: list[str], results: dict[str, CalibrationResult], assembled: _Assembled,
            check: dict[str, Any], window: tuple[dt.date, dt.date], benchmark: str,
            warnings: list[str]) -> dict[str, Any]:
    scenario = plan.scenario
    parameters = {key: {"value": _plain(get_value(scenario, key)),
                        "origin": "organisation" if key in assembled.shared else "team",
                        "note": assembled.shared[key]["rule"] if key in assembled.shared
                        else "the first phase's team value where a team's phase sets it, else this value"}
                  for key in parameter_keys()}
    unstable = [k + 1 for k, team in enumerate(teams) if not results[team].report["stability"]["stable"]]
    for key in METRICS:
        row = check["pooled"][key]
        if row["within_bar"] is False:
            warnings.append(f"organisation {key}: simulated p50 {row['simulated_p50']:.4g} vs observed "
                            f"{row['observed']:.4g} is outside the calibration bar")
    return {
        "scenario": scenario.name,
        "organisation": True,
        "window": {"start": window[0].isoformat(), "end": window[1].isoformat(), "days": scenario.days},
        "benchmark": benchmark,
        "seed": plan.seed,
        "reps": check["reps"],
        "fit": {"teams": {team: results[team].report["fit"] for team in teams}},
        "metrics": check["pooled"],
        "counts": check["counts"],
        "stability": {"stable": not unstable, "unstable_teams": unstable},
        "parameters": parameters,
        "shared": {key: {**item, "value": _plain(item["value"]),
                         "teams": {t: _plain(v) for t, v in item["teams"].items()}}
                   for key, item in assembled.shared.items()},
        "teams": [{"team": team, "number": k + 1, **assembled.scale[team],
                   "phase": {key: _plain(value) for key, value in plan.phases[k].values.items()},
                   "metrics": check["teams"][k], "calibration": _finite(results[team].report)}
                  for k, team in enumerate(teams)],
        "missing": [f"team {team}: {note}" for team in teams for note in results[team].report["missing"]],
        "warnings": warnings,
    }


def _finite(value: Any) -> Any:
    """A team's report as strict JSON: a non-finite number (a log-likelihood of -inf) becomes null."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


__all__ = ["OrgCalibration", "calibrate_org", "team_names"]
