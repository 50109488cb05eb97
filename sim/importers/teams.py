"""Several sources, one organisation: the teams of an import (docs/import.md, "Several repositories").

``import git A B C`` and ``import github|gitlab --from A --from B`` (or ``--repo`` several times) read each
source as one team and pool the logs. The rules, shared by every importer:

- a team is named by ``--team NAME`` (one per source, in order) or, with ``--team-per-repo``, after the
  source (a repository's folder, ``.git`` removed; a saved folder or ``.zip``; the NAME of ``OWNER/NAME``);
  several sources without either are refused, and one source without either keeps no team at all;
- a team name is 1 to 64 printable characters without spaces or ``:``, and two sources never share one;
- every row of the pooled logs has a ``team`` column and every id is written ``TEAM:id`` — change and
  deployment ids, the ids a deployment ships, incident ids and the deployment and root cause an incident
  names — so ids shared by two sources (tag names, issue numbers, a fork's SHAs) stay distinct.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs, make_logs

TEAM_PATTERN = re.compile(r"[^\s:]{1,64}")
KINDS = ("changes", "deployments", "incidents")


def check_team(name: str, where: str) -> str:
    if not TEAM_PATTERN.fullmatch(name) or not name.isprintable():
        raise InputError(
            f"{where} {name!r}: a team name is 1 to 64 printable characters without spaces or ':'"
        )
    return name


def team_names(
    sources: Sequence[str],
    teams: Sequence[str] | None,
    per_source: bool,
    *,
    default_name: Callable[[str], str],
    what: str = "folder name",
    noun: str = "repository",
    nouns: str = "repositories",
) -> list[str | None]:
    """The team of each source: ``--team`` per source, ``default_name(source)`` with ``--team-per-repo``, or
    none for one source named by neither. ``what`` names what ``default_name`` reads, for the messages."""
    if teams and per_source:
        raise InputError("--team and --team-per-repo: choose one way to name the teams")
    if teams:
        if len(teams) != len(sources):
            raise InputError(f"--team: give one per {noun} ({len(teams)} teams for {len(sources)} {nouns})")
        names = [check_team(t, "--team") for t in teams]
    elif per_source:
        names = [check_team(default_name(s), f"--team-per-repo: {what}") for s in sources]
    elif len(sources) > 1:
        raise InputError(
            f"{len(sources)} {nouns}: name their teams with --team-per-repo or --team NAME per "
            f"{noun} (ids are written TEAM:id so they stay unique)"
        )
    else:
        return [None]
    seen: dict[str, str] = {}
    for source, name in zip(sources, names, strict=True):
        if name in seen:
            raise InputError(
                f"{seen[name]} and {source} would both be team {name!r}: name the teams with --team "
                f"NAME per {noun}"
            )
        seen[name] = source
    return list(names)


def team_label(team: str | None) -> Callable[[str], str]:
    """How an id is written in the pooled logs: ``TEAM:id`` (unchanged without a team)."""

    def label(identifier: str) -> str:
        return identifier if team is None else f"{team}:{identifier}"

    return label


def add_team(frames: Sequence[pd.DataFrame], team: str | None) -> None:
    """The ``team`` column on every row (nothing without a team)."""
    if team is not None:
        for frame in frames:
            frame["team"] = team


def label_logs(logs: EventLogs, team: str) -> EventLogs:
    """One source's logs as a team's: every id written ``TEAM:id`` and a ``team`` column on every row."""
    label = team_label(team)

    def ids(values: pd.Series) -> pd.Series:
        return values.astype(str).map(lambda v: label(v) if v else v)

    changes, deployments, incidents = (
        frame.copy() for frame in (logs.changes, logs.deployments, logs.incidents)
    )
    changes["change_id"] = ids(changes["change_id"])
    deployments["deploy_id"] = ids(deployments["deploy_id"])
    deployments["change_ids"] = (
        deployments["change_ids"].astype(str).map(lambda cell: " ".join(label(c) for c in cell.split()))
    )
    incidents["incident_id"] = ids(incidents["incident_id"])
    for column in ("deploy_id", "root_cause"):
        if column in incidents.columns:
            incidents[column] = ids(incidents[column].fillna(""))
    add_team((changes, deployments, incidents), team)
    return make_logs(changes, deployments, incidents)


def pool_logs(parts: Sequence[EventLogs]) -> EventLogs:
    """The teams' logs as one organisation's: rows appended, changes ordered by (time, id)."""
    frames = {kind: pd.concat([p.frames()[kind] for p in parts], ignore_index=True) for kind in KINDS}
    frames["changes"] = frames["changes"].sort_values(["time_created", "change_id"], kind="stable")
    return make_logs(frames["changes"], frames["deployments"], frames["incidents"])


def merge_report(pooled: ImportReport, part: ImportReport, team: str, settings: dict[str, Any]) -> None:
    """One source's report into the organisation's: counts added, skips with ``TEAM:id`` examples, notes
    prefixed with the team, the source's settings (and ``team``) under ``settings.repositories``."""
    pooled.settings.setdefault("repositories", []).append({**settings, **part.settings, "team": team})
    for what, n in part.read.items():
        pooled.count(what, n)
    for entry in part.skipped():
        pooled.skip(entry["what"], entry["reason"], None, entry["count"])
        for example in entry["examples"]:
            pooled.skip(entry["what"], entry["reason"], f"{team}:{example}", 0)  # kept while there is room
    pooled.links = _add_counts(pooled.links, part.links)
    pooled.notes.extend(f"{team}: {note}" for note in part.notes)


def _add_counts(total: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """Nested counts added key by key; anything else (a rule's text) kept as first seen."""
    out = dict(total)
    for key, value in more.items():
        if isinstance(value, dict):
            out[key] = _add_counts(out.get(key, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool) and isinstance(out.get(key, 0), int):
            out[key] = out.get(key, 0) + value
        else:
            out.setdefault(key, value)
    return out


def commit_teams(logs: EventLogs) -> dict[str, str]:
    """Commit SHA → team, from the pooled logs' ``TEAM:sha`` change ids and deployed commits; a commit two
    teams share is nobody's."""
    if "team" not in logs.changes.columns:
        return {}
    pairs = [
        (str(c).partition(":")[2], str(t))
        for c, t in zip(logs.changes["change_id"], logs.changes["team"], strict=True)
    ]
    if "commit" in logs.deployments.columns:
        pairs += [
            (str(c), str(t))
            for c, t in zip(logs.deployments["commit"], logs.deployments["team"], strict=True)
        ]
    owners: dict[str, set[str]] = {}
    for commit, team in pairs:
        if commit:
            owners.setdefault(commit.lower(), set()).add(team)
    return {commit: next(iter(teams)) for commit, teams in owners.items() if len(teams) == 1}
