"""A git repository as event logs (docs/import.md, "git"): deployments, changes and reverts.

Rules (each documented with its reason in docs/import.md):

- deployments from tags: one per tag whose short name matches a glob (``fnmatch``, case
  sensitive; default ``v[0-9]*`` and ``[0-9]*``, of which only release version numbers count —
  :mod:`sim.importers.versions`) and no ``--exclude`` glob; ``deploy_id`` = the tag name; time =
  the tagger date of an annotated tag, else the committer date of the tagged commit. A tag that
  does not lead to a commit, or whose dates are unreadable or outside [1700, 2200), is skipped
  and reported; deployments are ordered by (time, name);
- deployments from a branch: one per commit of its first-parent history; ``deploy_id`` = the
  full SHA, time = its committer date; ordered by (time, first-parent order);
- a deployment ships (``change_ids``) the non-merge commits reachable from its commit and from no
  earlier deployment's commit — what ``git rev-list --no-merges C --not E1 E2 ...`` prints;
- changes: the non-merge commits those deployments ship, and the ones on the default branch that
  no deployment ships yet (unreleased work), at the author date;
- ``--reverts``: a commit whose message carries git's own revert line (``This reverts commit
  <full SHA>.``) opens an incident on the deployment that first shipped that commit — unless the
  revert was authored before that deployment (caught before release); created at the revert's
  author date, resolved at the time of the deployment that first ships the revert; a reverted
  merge names the first change it brought in as ``root_cause``;
- ``since``/``until`` keep deployments created in [since, until), the changes they ship, the
  changes still waiting at ``until`` and the incidents on kept deployments.

Parts: :mod:`sim.importers.gitproc` runs git (isolated, no program-running configuration),
:mod:`sim.importers.gitrefs` finds the deployments, :mod:`sim.importers.gitgraph` reads the commit
graph (one ``log -z``) and walks it once, :mod:`sim.importers.gitlogs` builds the rows and reads
reverts (one ``log --grep`` and one ``cat-file --batch``). This module puts them together and
pools several repositories as the teams of one organisation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.importers.gitgraph import CommitGraph, first_shipped, read_graph
from sim.importers.gitlogs import (
    CHANGE_COLUMNS,
    DEPLOY_COLUMNS,
    INCIDENT_COLUMNS,
    LogState,
    deployment_and_change_rows,
    find_reverts,
    incident_rows,
    window_ns,
)
from sim.importers.gitproc import Git
from sim.importers.gitrefs import (
    BAD_DATE,
    DEFAULT_TAG_GLOBS,
    Deployment,
    Tag,
    branch_commit,
    branch_deployments,
    check_repository,
    default_branch,
    read_tags,
    time_tags,
)
from sim.importers.report import ImportReport
from sim.importers.teams import add_team, pool_logs, team_label, team_names
from sim.metrics.logs import EventLogs, make_logs

__all__ = ["DEFAULT_TAG_GLOBS", "GitImport", "import_git", "import_repositories"]


@dataclass
class GitImport:
    logs: EventLogs
    report: ImportReport
    warnings: list[str]


@dataclass
class _Refs:
    """Where the deployments come from: the tips to read history from, and the branch or the tags."""

    tips: list[str]
    trunk: str | None  # the ref whose unreleased work is written
    first_parent: list[str] | None = None  # --branch: its first-parent history, newest first
    tags: list[Tag] | None = None

    @classmethod
    def read(
        cls,
        git: Git,
        branch: str | None,
        globs: Sequence[str],
        exclude: Sequence[str],
        *,
        versions_only: bool,
        report: ImportReport,
        label: Callable[[str], str],
    ) -> _Refs:
        if branch:
            first_parent = git.text(["rev-list", "--first-parent", branch_commit(git, branch)]).split()
            return cls(first_parent[:1], f"branch {branch}", first_parent=first_parent)
        tags = read_tags(git, globs, exclude, versions_only, report, label)
        trunk = default_branch(git)
        return cls(
            [t.commit for t in tags] + ([trunk[1]] if trunk else []), trunk[0] if trunk else None, tags=tags
        )

    def deployments(
        self, graph: CommitGraph, report: ImportReport, label: Callable[[str], str]
    ) -> list[Deployment]:
        if self.first_parent is not None:
            return branch_deployments(self.first_parent, graph, report, label)
        assert self.tags is not None
        return time_tags(self.tags, graph, report, label)


BRANCH_WARNING = (
    "--branch {branch}: every commit on {branch} counts as a deployment, so lead time measures "
    "commit → {branch}, not commit → production, and restore time the time to a fix on {branch}"
)


def import_git(
    repo: str | Path,
    *,
    tags: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    branch: str | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    reverts: bool = False,
    team: str | None = None,
    report: ImportReport | None = None,
) -> GitImport:
    """Read a repository into logs following the rules of the module docstring.

    With ``team``, every id is written ``TEAM:id`` and each row has a ``team`` column, so several
    repositories' logs can be pooled; with ``report``, counts and skips go into that shared report
    and this repository's settings into its ``repositories`` list.
    """
    if tags and branch:
        raise InputError("--tags and --branch: choose one way to find deployments")
    if exclude and branch:
        raise InputError("--exclude drops tags; with --branch every first-parent commit is a deployment")
    if since is not None and until is not None and until <= since:
        raise InputError(f"--until {until.isoformat()} must be after --since {since.isoformat()}")
    started = time.perf_counter()
    globs = tuple(tags) if tags else DEFAULT_TAG_GLOBS
    settings: dict[str, Any] = {
        "repository": str(repo),
        "deployments_from": f"branch {branch}" if branch else f"tags {', '.join(globs)}",
        "exclude": list(exclude),
        "since": since.isoformat() if since is not None else None,
        "until": until.isoformat() if until is not None else None,
        "reverts": reverts,
    }
    if team is not None:
        settings["team"] = team
    if report is None:
        report = ImportReport("git", settings=settings)
    else:
        report.settings.setdefault("repositories", []).append(settings)

    label = team_label(team)
    with Git(repo) as git:
        check_repository(git)
        refs = _Refs.read(git, branch, globs, exclude, versions_only=not tags, report=report, label=label)
        graph = read_graph(git, refs.tips)
        report.count("commits", len(graph.shas))
        if git.text(["rev-parse", "--is-shallow-repository"]).strip() == "true":
            report.note(
                "a shallow clone: history before its boundary is absent, so the earliest deployments ship "
                "only the commits the clone holds"
            )
        ordered = refs.deployments(graph, report, label)
        settings["unreleased_work_from"] = refs.trunk
        if not ordered:
            raise InputError(f"{repo}: no deployment has a usable date ({BAD_DATE})")
        report.count("deployments", len(ordered))
        owner, reached = first_shipped(graph, [graph.index[d.commit] for d in ordered])
        since_ns, until_ns = window_ns(since, until)
        keep = [
            (since_ns is None or d.time_ns >= since_ns) and (until_ns is None or d.time_ns < until_ns)
            for d in ordered
        ]
        ctx = LogState(graph, ordered, owner, keep, since_ns, until_ns, label, report)
        deploy_rows, change_rows = deployment_and_change_rows(ctx, reached)
        merges = sum(1 for i in range(len(graph.shas)) if graph.is_merge(i))
        if merges:
            report.skip("commit", "merge commit (not a change)", None, merges)
        incidents = incident_rows(ctx, find_reverts(git, refs.tips, graph, report, label)) if reverts else []

    warnings = [BRANCH_WARNING.format(branch=branch)] if branch else []
    if warnings:
        report.settings.setdefault("warnings", []).extend(
            w for w in warnings if w not in report.settings["warnings"]
        )
    logs = _logs(change_rows, deploy_rows, incidents, team)
    elapsed = time.perf_counter() - started
    settings["elapsed_seconds"] = round(elapsed, 3)
    settings["commits_per_second"] = round(len(graph.shas) / elapsed) if elapsed > 0 else None
    return GitImport(logs, report, warnings)


def _logs(
    change_rows: list[dict[str, Any]],
    deploy_rows: list[dict[str, Any]],
    incident_rows: list[dict[str, Any]],
    team: str | None,
) -> EventLogs:
    frames = [
        pd.DataFrame(rows, columns=columns)
        for rows, columns in (
            (change_rows, CHANGE_COLUMNS),
            (deploy_rows, DEPLOY_COLUMNS),
            (incident_rows, INCIDENT_COLUMNS),
        )
    ]
    add_team(frames, team)
    changes = frames[0].sort_values(["time_created", "change_id"], kind="stable")
    return make_logs(changes, frames[1], frames[2])


# ---------------------------------------------------------------------------------------------
# Several repositories, one organisation (the rules: sim.importers.teams)


def _folder_name(repo: str) -> str:
    return Path(repo).resolve().name.removesuffix(".git") or str(repo)


def import_repositories(
    repos: Sequence[str], *, teams: Sequence[str] | None = None, team_per_repo: bool = False, **options: Any
) -> GitImport:
    """One repository, or several as the teams of one organisation (one report, logs pooled)."""
    names = team_names(repos, teams, team_per_repo, default_name=_folder_name)
    if names == [None]:
        return import_git(repos[0], **options)
    report = ImportReport(
        "git",
        settings={
            "since": options.get("since"),
            "until": options.get("until"),
            "reverts": options.get("reverts", False),
        },
    )
    for key in ("since", "until"):
        value = report.settings[key]
        report.settings[key] = value.isoformat() if value is not None else None
    parts = [
        import_git(repo, team=name, report=report, **options) for repo, name in zip(repos, names, strict=True)
    ]
    logs = pool_logs([p.logs for p in parts])
    warnings = list(dict.fromkeys(w for p in parts for w in p.warnings))
    return GitImport(logs, report, warnings)
