"""What GitHub and GitLab have in common once read: deployments, merged pull/merge requests with
their commits, and incident issues — turned into the three logs (docs/import.md, "GitHub and GitLab").

One reader serves both providers: :class:`Forge` (here, with the records the reader makes) is the
table of the field names in which they differ (``number`` vs ``iid``, ``body`` vs ``description``,
``commit.author.date`` vs ``authored_date`` …), and only the deployments — whose shapes really
differ — are read by each provider's module. The saved files are read in :mod:`sim.importers.forge_read`,
the logs made in :mod:`sim.importers.forge_logs`, and a live import fetched in
:mod:`sim.importers.forge_fetch`.

- A deployment ships the commits of every merged request it is the first to carry: the one the
  provider names (GitLab's ``deployments/:id/merge_requests``), else the first successful
  production deployment of the merge commit itself, else the first one requested at or after
  the merge (the APIs do not expose the commit graph, so this rule stands in for ancestry);
- a change is a commit of a merged request, created at its author date; a request whose
  commits were not saved counts as one change created when the request was opened;
- an incident issue names its root cause in its body (``root cause: <sha or deployment id>``,
  the Four Keys convention); it is linked by that name, else by the rule of
  :func:`sim.importers.incidents.link_incidents`.

Every field read is checked for its type and range (ids that become paths are digits only, SHAs
hexadecimal, dates in the accepted range, no duplicate ids, no issue closed before it opened):
anything else stops the import with one line naming the file, the item and the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from sim.errors import InputError

ROOT_CAUSE = re.compile(r"root cause:\s*([0-9A-Za-z_.\-]{1,200})", re.IGNORECASE)


@dataclass(frozen=True)
class Forge:
    """Where a provider keeps each field the shared reader needs."""

    name: str  # "github"
    title: str  # "GitHub"
    request: str  # "pull request"
    requests_file: str  # "pulls.json"
    requests_dir: str  # "pulls": the commits of request N are in <dir>/N/commits.json
    request_id: str  # "number"
    extra_shas: tuple[str, ...]  # dotted fields of other commits that identify a merged request
    merged_state: str | None  # the request's "state" when merged, if the provider filters on it
    commit_id: str  # "sha"
    commit_parents: str  # "parents"
    commit_dates: tuple[str, ...]  # dotted fields of a commit's author date, first present wins
    issue_id: str  # "number"
    issue_body: str  # "body"
    incident_type: bool  # GitLab: an issue of issue_type "incident" is an incident whatever its labels
    pull_request_key: str | None  # GitHub: issues with this key are pull requests


@dataclass(frozen=True)
class ForgeDeployment:
    deploy_id: str
    sha: str
    requested: pd.Timestamp  # when the deployment was created (its commit fixed)
    finished: pd.Timestamp  # when it succeeded: the deployment's time in the logs
    merge_requests: tuple[str, ...] | None = None  # ids the provider says it shipped


@dataclass(frozen=True)
class MergedRequest:
    number: str
    opened: pd.Timestamp
    merged: pd.Timestamp
    merge_sha: str | None
    commits: tuple[tuple[str, pd.Timestamp], ...] | None  # (sha, author date); None = not saved
    extra_shas: tuple[str, ...] = field(default=())  # squash or head commits that also identify it


def root_cause(body: str | None) -> str | None:
    match = ROOT_CAUSE.search(body or "")
    return match.group(1) if match else None


def unique(ids: Sequence[str], name: str, what: str) -> None:
    """One line when an id appears twice in one file."""
    seen: dict[str, int] = {}
    for position, value in enumerate(ids):
        if value in seen:
            raise InputError(
                f"{name} item {position}: duplicate {what} {value!r} (first at item {seen[value]})"
            )
        seen[value] = position
