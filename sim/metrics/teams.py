"""Scores per team (``score --by team``, the app's team tables): each team's rows scored over the
window of the pooled logs, with any convention of :mod:`sim.metrics.conventions`."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.metrics.conventions import CONVENTIONS, score_logs_convention
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import columns_from_frames, resolve_window

MAX_TEAMS = 1000  # teams ``score --by team`` scores one by one (docs/cli.md)


def _team_column(frame: pd.DataFrame) -> pd.Series:
    return frame["team"].astype(str).str.strip()


def team_values(logs: EventLogs) -> list[str]:
    """The teams named in all three files (sorted numerically when they are numbers), at most :data:`MAX_TEAMS`."""
    for kind, frame in logs.frames().items():
        if "team" not in frame.columns:
            raise InputError(f"--by team: {kind}.csv has no team column")
    values: set[str] = set()
    for frame in logs.frames().values():
        values.update(_team_column(frame).unique().tolist())
        if len(values) > MAX_TEAMS + 1:
            break
    values.discard("")
    if len(values) > MAX_TEAMS:
        raise InputError(
            f"--by team: the logs name more than {MAX_TEAMS} teams; --by team scores at most "
            f"{MAX_TEAMS} (score the organisation without --by, or group the teams)"
        )
    return sorted(values, key=_team_order)


def _team_order(text: str) -> tuple[int, float, str]:
    number = _finite_number(text)
    return (0, number, text) if number is not None else (1, 0.0, text)


def _finite_number(text: str) -> float | None:
    if len(text) > 40:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def team_logs(logs: EventLogs, team: str) -> EventLogs:
    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[_team_column(frame) == team].reset_index(drop=True)

    return EventLogs(pick(logs.changes), pick(logs.deployments), pick(logs.incidents))


def split_by_team(logs: EventLogs, teams: list[str]) -> dict[str, EventLogs]:
    """Every team's rows, grouping each file once (not once per team)."""
    parts: list[dict[str, pd.DataFrame]] = []
    for frame in (logs.changes, logs.deployments, logs.incidents):
        groups = {
            str(key): rows.reset_index(drop=True)
            for key, rows in frame.groupby(_team_column(frame), sort=False)
        }
        parts.append(groups)
    out = {}
    for team in teams:
        frames = [
            groups.get(team, frame.iloc[:0].reset_index(drop=True))
            for groups, frame in zip(parts, (logs.changes, logs.deployments, logs.incidents), strict=True)
        ]
        out[team] = EventLogs(*frames)
    return out


def pooled_window(logs: EventLogs, start: Any = None, end: Any = None) -> tuple[Any, Any]:
    """The window the pooled logs score over, so every team is scored over the same days."""
    cols = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    window = resolve_window(cols.window_timestamps(), start, end)
    return (window[0], window[1]) if window else (start, end)


def score_by_team(
    logs: EventLogs,
    *,
    convention: str = "dora",
    start: Any = None,
    end: Any = None,
    benchmark: str | int = "2023",
) -> dict[str, Any]:
    """The pooled score plus ``teams``: each team's rows scored over the pooled window."""
    teams = team_values(logs)
    pooled = score_logs_convention(logs, convention=convention, start=start, end=end, benchmark=benchmark)
    team_start, team_end = pooled_window(logs, start, end)
    names = CONVENTIONS if convention == "all" else (convention,)
    per_team = {name: [] for name in names}  # type: dict[str, list[dict[str, Any]]]
    for team, rows in split_by_team(logs, teams).items():
        result = score_logs_convention(
            rows, convention=convention, start=team_start, end=team_end, benchmark=benchmark
        )
        for name in names:
            per_team[name].append(
                {"team": _team_value(team), **(result[name] if convention == "all" else result)}
            )
    if convention == "all":
        return {name: {**pooled[name], "teams": per_team[name]} for name in names}
    return {**pooled, "teams": per_team[convention]}


def _team_value(team: str) -> int | str:
    """A team number as a JSON number (plain ASCII digits, at most 18 of them), any other name as text."""
    return int(team) if team.isascii() and team.isdigit() and len(team) <= 18 else team
