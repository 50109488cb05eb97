"""Assembling an organisation from its calibrated teams (:mod:`sim.analysis.calibrate_org`): one value for
each key the model sizes once per run, each team's own values as a day-0 phase, and the plan's TOML text."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sim.analysis.calibrate import CalibrationResult
from sim.analysis.calibrate_plan import RELEASE_WHEN_READY
from sim.model.flow.work import team_size
from sim.model.scenario import (
    Calibration,
    Scenario,
    fixed_keys,
    get_value,
    parameter_info,
    parameter_keys,
    scenario_to_toml,
    toml_value,
)

MAX_RATE = float(parameter_info("team.changes_per_engineer_per_day")["limits"]["le"])
ORG_RULES = {  # how one organisation-wide value is chosen from the teams' (keys the model sizes once per run)
    "team.engineers": "the sum of the teams' engineers",
    "team.output_evidence": "the sum of the changes the teams' logs showed",
    "simulation.warmup_days": "the longest of the teams' warm-ups (every team's backlog is full when the window opens)",
    "release.waiting_changes": "the sum of the teams' old waiting work (shared among the teams on the state day)",
    "operations.open_incidents": "the sum of the teams' incidents open at the window's end",
    "ci.runners": "estimated from every team's CI runs together (one pool serves the organisation)",
}


RELEASE_LAW_KEYS = (
    "release.gap_days",
    "release.gap_law",
    "release.gap_spread",
    "release.gap_evidence",
    "release.pending_hazard",
    "release.state_day",
    "release.days_since_release",
    "release.prep_share",
    "release.prep_hours",
    "release.held_share",
    "release.fixup_share",
    "release.waiting_changes",
    "release.waiting_age_days",
    "release.waiting_age_spread",
    "release.recorded_releases",
)
SUMMED_KEYS = (
    "team.output_evidence",
    "release.waiting_changes",
    "operations.open_incidents",
)  # the teams' sum
CALENDAR_CADENCES = ("daily", "weekly", "biweekly", "monthly")


@dataclass(frozen=True)
class Assembled:
    text: str
    scale: dict[str, dict[str, float]]
    shared: dict[str, dict[str, Any]]


def assemble(
    teams: list[str],
    results: dict[str, CalibrationResult],
    org_runners: tuple[int, str] | None,
    window: tuple[dt.date, dt.date],
    warnings: list[str],
) -> Assembled:
    scenarios = {team: results[team].scenario for team in teams}
    deployments = {team: results[team].report["counts"]["deployments"] for team in teams}
    by_deployments = sorted(teams, key=lambda team: (-deployments[team], teams.index(team)))
    busiest = by_deployments[0]
    n = len(teams)
    engineers = {team: scenarios[team].team.engineers for team in teams}
    total = max(n, sum(engineers.values()))
    org: dict[str, Any] = {key: get_value(scenarios[busiest], key) for key in parameter_keys()}
    shared = shared_values(teams, scenarios, by_deployments, org_runners, total, warnings)
    org.update({key: item["value"] for key, item in shared.items()})
    scale: dict[str, dict[str, float]] = {}
    team_values_: dict[str, dict[str, Any]] = {}
    for k, team in enumerate(teams):
        size = team_size(k, total, n)
        output = engineers[team] * scenarios[team].team.changes_per_engineer_per_day
        rate = output / size
        if rate > MAX_RATE:
            warnings.append(
                f"team {team}: {output:.3g} changes a working day for {size} engineer(s) in the model is "
                f"more than {MAX_RATE:g} per engineer: capped (its output is understated)"
            )
            rate = MAX_RATE
        scale[team] = {
            "engineers_observed": engineers[team],
            "engineers_in_model": size,
            "changes_per_engineer_per_day": round(rate, 6),
        }
        values = {key: get_value(scenarios[team], key) for key in parameter_keys()}
        values["team.changes_per_engineer_per_day"] = round(rate, 6)
        team_values_[team] = values
    if len(set(engineers.values())) > 1:
        sizes = ", ".join(f"{team} {engineers[team]}" for team in teams)
        warnings.append(
            f"team sizes: the model deals the organisation's {total} engineers to its {n} teams in turn "
            f"(equal sizes), not as the logs show ({sizes}): each team's changes per engineer per day "
            f"is scaled so its output matches"
        )
    org["team.changes_per_engineer_per_day"] = team_values_[busiest]["team.changes_per_engineer_per_day"]
    org_scenario = scenarios[busiest].with_values(
        {
            **org,
            "org.teams": n,
            "name": "calibrated_org",
            "description": f"{n} teams calibrated from their own logs ({', '.join(teams)}), {window[0]} to "
            f"{window[1]} (end exclusive)",
        },
        source="calibration",
    )
    org_scenario = org_scenario.model_copy(update={"calibration": _diagnostics(teams, results, window)})
    text = _text(org_scenario, teams, results, team_values_, org, shared, busiest)
    return Assembled(text, scale, shared)


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
    cadences = (
        RELEASE_WHEN_READY
        if key in RELEASE_LAW_KEYS
        else CALENDAR_CADENCES
        if key == "release.window_hours"
        else ()
    )
    return [team for team in teams if scenarios[team].release.cadence in cadences]


def shared_values(
    teams: list[str],
    scenarios: dict[str, Scenario],
    by_deployments: list[str],
    org_runners: tuple[int, str] | None,
    total: int,
    warnings: list[str],
) -> dict[str, dict[str, Any]]:
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
        elif key in SUMMED_KEYS:
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
        relevant = (
            _users(key, teams, scenarios) or teams
        )  # the release law matters to teams releasing when ready
        if len({repr(own[t]) for t in relevant}) > 1 and key not in ("team.engineers", *SUMMED_KEYS):
            listed = ", ".join(f"{team} {_short(own[team])}" for team in relevant)
            why = parameter_info(key).get("fixed", "")
            warnings.append(
                f"{key}: the model holds one value for the organisation ({why}): {_short(value)}, "
                f"{rule}; the teams' own values were {listed}"
            )
    return shared


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _diagnostics(
    teams: list[str], results: dict[str, CalibrationResult], window: tuple[dt.date, dt.date]
) -> Calibration:
    def listed(field: str) -> str:
        return "; ".join(
            f"{team}: {getattr(results[team].scenario.calibration, field)}"
            for team in teams
            if results[team].scenario.calibration and getattr(results[team].scenario.calibration, field)
        )

    fits = [results[team].scenario.calibration for team in teams]
    return Calibration(
        window=f"{window[0]} to {window[1]}",
        deployments=sum(f.deployments for f in fits if f),
        changes=sum(f.changes for f in fits if f),
        incidents=sum(f.incidents for f in fits if f),
        within_bar=listed("within_bar"),
        outside_bar=listed("outside_bar"),
        not_fitted=listed("not_fitted"),
    )


def _origin_label(item: dict[str, Any]) -> str:
    if "from" in item:
        return f"estimated from {item['from']}"
    return {"estimated": "estimated from the logs", "fitted": "fitted", "default": "left at default"}[
        item["origin"]
    ]


def _text(
    org: Scenario,
    teams: list[str],
    results: dict[str, CalibrationResult],
    values: dict[str, dict[str, Any]],
    top: dict[str, Any],
    shared: dict[str, dict[str, Any]],
    busiest: str,
) -> str:
    origins = results[busiest].report["parameters"]
    comments = {
        key: f"{parameter_info(key)['unit']}; team {busiest}'s, {_origin_label(origins[key])}: "
        f"{origins[key]['note']}"
        for key in parameter_keys()
        if key in origins
    }
    for key, item in shared.items():
        comments[key] = f"{parameter_info(key)['unit']}; the organisation's: {item['rule']}"
    comments["org.teams"] = f"teams; the teams the logs name, in this order: {', '.join(teams)}"
    comments["team.changes_per_engineer_per_day"] = (
        "changes / engineer / working day; per team in its phase: its output over the engineers the model gives it"
    )
    header = [
        "# Calibrated by `dorasim calibrate` from an organisation's logs (a team column): each team's values",
        "# were calibrated from its own rows. The model takes per-team values as a plan does, so each team's",
        "# own values are a phase on day 0 with no ramp and no cost (`plan` and `forecast` run this file;",
        "# a plan that extends it adds its phases after these). Values the model holds once for the whole",
        "# organisation (runner pool, experts, warm-up, irregular release law) say how they were chosen.",
        "",
    ]
    lines = ["\n".join(header) + scenario_to_toml(org, comments).rstrip("\n")]
    for k, team in enumerate(teams):
        report = results[team].report["parameters"]
        changed = {
            key: value
            for key, value in values[team].items()
            if key not in shared and key not in ("org.teams",) and value != top[key]
        }
        lines += ["", f"# team {k + 1} = {team}: its own values"]
        for key in changed:
            item = report.get(key)
            how = (
                "its output over the engineers the model gives it"
                if key == "team.changes_per_engineer_per_day"
                else f"{_origin_label(item)}: {item['note']}"
                if item
                else ""
            )
            lines.append(f"#   {key}: {how}"[:300])
        pairs = ", ".join(f"{_quoted(key)} = {toml_value(value)}" for key, value in changed.items())
        lines += [
            "[[phase]]",
            "day = 0",
            f"name = {toml_value(f'team {team}: its own values')}",
            "ramp_days = 0",
            "capacity_cost = 0.0",
            "defect_cost = 0.0",
            f"teams = [{k + 1}]",
            f"set = {{ {pairs} }}",
        ]
    return "\n".join(lines) + "\n"


def _quoted(key: str) -> str:
    return f'"{key}"'


__all__ = ["CALENDAR_CADENCES", "ORG_RULES", "RELEASE_LAW_KEYS", "Assembled", "assemble", "shared_values"]
