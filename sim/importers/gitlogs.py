"""The three logs built from a repository's commit graph and its deployments (docs/import.md, "git").

- deployments and the changes each first ships; changes still waiting at the window's end
  (unreleased work);
- with ``--reverts``, incidents from git's own revert line (:func:`find_reverts`): candidates named
  by ``log --grep`` (hashes only), their raw commits read length-prefixed by ``cat-file --batch``,
  so no byte of a message can pose as a separator or a forged record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.importers.gitgraph import CommitGraph, introduced_by_merge
from sim.importers.gitproc import LOG_OPTIONS, Git, batch_objects
from sim.importers.gitrefs import BAD_DATE, Deployment, ns, usable
from sim.importers.report import ImportReport

REVERT_TRAILER = re.compile(
    rb"^This reverts commit ([0-9a-f]{40}|[0-9a-f]{64})(?:\.|, reversing)", re.MULTILINE
)
REVERT_GREP = "This reverts commit "
CHANGE_COLUMNS = ["change_id", "time_created"]
DEPLOY_COLUMNS = ["deploy_id", "time_created", "change_ids", "commit"]
INCIDENT_COLUMNS = ["incident_id", "time_created", "time_resolved", "deploy_id", "root_cause", "source"]


def find_reverts(
    git: Git, tips: Sequence[str], graph: CommitGraph, report: ImportReport, label: Callable[[str], str]
) -> list[tuple[int, int]]:
    """(revert commit, reverted commit) index pairs among the commits of the graph.

    ``log --grep`` names the candidates (hashes only); ``cat-file --batch`` then gives each raw
    commit length-prefixed, so no byte of a message can be taken for a separator. Only git's own
    revert line counts, naming the reverted commit by its full SHA: a dictionary lookup each.
    """
    out = git.text(
        ["log", *LOG_OPTIONS, "--stdin", "-F", f"--grep={REVERT_GREP}", "--format=%H"],
        stdin=("\n".join(dict.fromkeys(tips)) + "\n").encode(),
    )
    candidates = [sha for sha in out.split() if sha in graph.index]
    if not candidates:
        return []
    data = git.run(["cat-file", "--batch"], stdin=("\n".join(candidates) + "\n").encode())
    pairs = []
    for sha, kind, content in batch_objects(data):
        if kind != "commit":
            continue
        message = content.split(b"\n\n", 1)[1] if b"\n\n" in content else b""
        match = REVERT_TRAILER.search(message)
        if match is None:
            report.skip(
                "revert",
                "mentions a revert, not in git's own words (This reverts commit <full SHA>.)",
                label(sha),
            )
            continue
        report.count("revert commits")
        reverted = graph.index.get(match.group(1).decode("ascii"))
        if reverted is None:
            report.skip("revert", "the reverted commit is not in the deployed history", label(sha))
            continue
        pairs.append((graph.index[sha], reverted))
    return pairs


def _root_cause(graph: CommitGraph, reverted: int) -> int:
    """The reverted commit, or for a merge the first change it brought in (the merge itself if none)."""
    if not graph.is_merge(reverted):
        return reverted
    changes = [c for c in introduced_by_merge(graph, reverted) if not graph.is_merge(c)]
    return changes[0] if changes else reverted


def _iso(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, tz="UTC")


def window_ns(since: pd.Timestamp | None, until: pd.Timestamp | None) -> tuple[int | None, int | None]:
    return (None if since is None else since.value), (None if until is None else until.value)


@dataclass
class LogState:
    """What the row builders share: the graph, the ordered deployments and who shipped what."""

    graph: CommitGraph
    ordered: list[Deployment]
    owner: list[int]
    keep: list[bool]
    since: int | None
    until: int | None
    label: Callable[[str], str]
    report: ImportReport


def deployment_and_change_rows(
    ctx: LogState, reached: list[list[int]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    graph, label, report = ctx.graph, ctx.label, ctx.report
    bad_author = [
        i for i in range(len(graph.shas)) if not graph.is_merge(i) and not usable(graph.author_time[i])
    ]
    if bad_author:
        report.skip("change", f"author date {BAD_DATE}", label(graph.shas[bad_author[0]]), len(bad_author))
    deploy_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    for position, deployment in enumerate(ctx.ordered):
        ids = [i for i in reached[position] if not graph.is_merge(i) and usable(graph.author_time[i])]
        if not ctx.keep[position]:
            report.skip("deployment", "created outside [since, until)", label(deployment.deploy_id))
            continue
        deploy_rows.append(
            {
                "deploy_id": label(deployment.deploy_id),
                "time_created": _iso(deployment.time_ns),
                "change_ids": " ".join(label(graph.shas[i]) for i in ids),
                "commit": deployment.commit,
            }
        )
        change_rows.extend(
            {"change_id": label(graph.shas[i]), "time_created": _iso(ns(graph.author_time[i]))} for i in ids
        )
    waiting, dropped = _waiting_changes(ctx)
    if dropped:
        report.skip(
            "change", "shipped by a deployment before since, or created at or after until", None, dropped
        )
    change_rows.extend(
        {"change_id": label(graph.shas[i]), "time_created": _iso(ns(graph.author_time[i]))} for i in waiting
    )
    report.count("unreleased changes", len(waiting))
    return deploy_rows, change_rows


def _waiting_changes(ctx: LogState) -> tuple[list[int], int]:
    """(changes no written deployment ships that were waiting at the window's end, changes dropped).

    A change is waiting when no deployment ships it, or (with ``until``) when it was created
    before ``until`` and first shipped at or after it: at ``until`` it was not yet live.
    """
    graph, ordered = ctx.graph, ctx.ordered
    waiting, dropped = [], 0
    for i, position in enumerate(ctx.owner):
        if graph.is_merge(i) or not usable(graph.author_time[i]) or (position >= 0 and ctx.keep[position]):
            continue
        created = ns(graph.author_time[i])
        shipped_later = position < 0 or (ctx.until is not None and ordered[position].time_ns >= ctx.until)
        if shipped_later and (ctx.until is None or created < ctx.until):
            waiting.append(i)
        else:
            dropped += 1
    return waiting, dropped


def incident_rows(ctx: LogState, pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
    graph, ordered, owner, label, report = ctx.graph, ctx.ordered, ctx.owner, ctx.label, ctx.report
    rows = []
    caught = 0
    for revert, reverted in pairs:
        failed = owner[reverted]
        revert_sha = label(graph.shas[revert])
        authored = graph.author_time[revert]
        if failed < 0:
            report.skip("revert", "the reverted commit was never deployed", revert_sha)
        elif not usable(authored):
            report.skip("revert", f"its author date is {BAD_DATE}", revert_sha)
        elif ns(authored) < ordered[failed].time_ns or 0 <= owner[revert] <= failed:
            caught += 1
            report.skip(
                "revert",
                "caught before release: authored before the reverted commit was first deployed, "
                "or shipped with it",
                revert_sha,
            )
        elif not ctx.keep[failed]:
            report.skip(
                "revert", "reverts a commit shipped by a deployment outside [since, until)", revert_sha
            )
        elif owner[revert] >= 0 and ordered[owner[revert]].time_ns < ns(authored):
            report.skip(
                "revert",
                "authored after the deployment that ships it (clock skew): no restore time",
                revert_sha,
            )
        else:
            fix = owner[revert]
            rows.append(
                {
                    "incident_id": revert_sha,
                    "time_created": _iso(ns(authored)),
                    "time_resolved": _iso(ordered[fix].time_ns) if fix >= 0 else pd.NaT,
                    "deploy_id": label(ordered[failed].deploy_id),
                    "root_cause": label(graph.shas[_root_cause(graph, reverted)]),
                    "source": "revert",
                }
            )
    previous = report.links.get("reverts", {})
    report.links["reverts"] = {
        "incidents": previous.get("incidents", 0) + len(rows),
        "caught_before_release": previous.get("caught_before_release", 0) + caught,
        "rule": "the deployment that first shipped the reverted commit, unless the revert was authored before it "
        "or shipped with it",
    }
    return rows
