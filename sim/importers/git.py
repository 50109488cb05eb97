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

Git does the reading (:mod:`sim.importers.gitproc`: isolated, no program-running configuration):
one ``for-each-ref``, one ``cat-file --batch-check`` to peel tags, one ``log -z`` over every
deployment's history and, with ``--reverts``, one ``log --grep`` and one ``cat-file --batch``.
The set differences are one walk over the commit graph (:mod:`sim.importers.gitgraph`).
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.importers.gitgraph import CommitGraph, first_shipped, introduced_by_merge, read_graph
from sim.importers.gitproc import LOG_OPTIONS, Git, batch_objects, parse_seconds
from sim.importers.report import ImportReport
from sim.importers.versions import release_skip_reason
from sim.metrics import timerange
from sim.metrics.logs import EventLogs, make_logs

DEFAULT_TAG_GLOBS = ("v[0-9]*", "[0-9]*")
# the line `git revert` writes (a merge's revert goes on ", reversing\nchanges made to <parent>.")
REVERT_TRAILER = re.compile(rb"^This reverts commit ([0-9a-f]{40}|[0-9a-f]{64})(?:\.|, reversing)", re.MULTILINE)
REVERT_GREP = "This reverts commit "
FIRST_SECOND = timerange.FIRST.value // 10**9
END_SECOND = timerange.END.value // 10**9
BAD_DATE = f"missing, unreadable or outside [{timerange.FIRST_DATE.year}, {timerange.END_DATE.year})"
TEAM_PATTERN = re.compile(r"[^\s:]{1,64}")
CHANGE_COLUMNS = ["change_id", "time_created"]
DEPLOY_COLUMNS = ["deploy_id", "time_created", "change_ids", "commit"]
INCIDENT_COLUMNS = ["incident_id", "time_created", "time_resolved", "deploy_id", "root_cause", "source"]


def usable(seconds: int | None) -> bool:
    """Whether a git date is readable and inside the dates dorasim accepts."""
    return seconds is not None and FIRST_SECOND <= seconds < END_SECOND


def _ns(seconds: int | None) -> int:
    """Nanoseconds of a date :func:`usable` accepted."""
    assert seconds is not None
    return seconds * 10**9


@dataclass(frozen=True)
class Deployment:
    deploy_id: str
    commit: str
    time_ns: int  # UTC nanoseconds


@dataclass
class GitImport:
    logs: EventLogs
    report: ImportReport
    warnings: list[str]


def check_repository(git: Git) -> None:
    """One-line error unless ``git.repo`` is a work tree or bare repository."""
    path = git.repo
    if not path.exists():
        raise InputError(f"{path}: no such directory")
    if not path.is_dir():
        raise InputError(f"{path}: not a directory, so not a git repository")
    try:
        git.run(["rev-parse", "--git-dir"])
    except InputError:
        raise InputError(f"{path}: not a git repository (no .git found here or in a parent folder)") from None


# ---------------------------------------------------------------------------------------------
# Deployments


def _peel(git: Git, names: list[str]) -> dict[str, str | None]:
    """Tag name → the commit it leads to (None when it leads to a tree or a blob)."""
    if not names:
        return {}
    query = "".join(f"refs/tags/{name}^{{commit}}\n" for name in names).encode()
    out = git.text(["cat-file", "--batch-check=%(objectname) %(objecttype)"], stdin=query)
    peeled: dict[str, str | None] = {}
    for name, line in zip(names, out.splitlines(), strict=True):
        sha, _, kind = line.partition(" ")
        peeled[name] = sha if kind == "commit" else None
    return peeled


@dataclass(frozen=True)
class Tag:
    name: str
    commit: str
    tagger: int | None  # seconds; None for a lightweight tag or an unreadable tagger date
    annotated: bool


def _tag_skip_reason(name: str, globs: Sequence[str], excludes: Sequence[str], versions_only: bool) -> str | None:
    if not any(fnmatch.fnmatchcase(name, glob) for glob in globs):
        return f"name matches none of {', '.join(globs)}"
    excluded = next((glob for glob in excludes if fnmatch.fnmatchcase(name, glob)), None)
    if excluded is not None:
        return f"excluded by --exclude {excluded}"
    return release_skip_reason(name) if versions_only else None


def read_tags(git: Git, globs: Sequence[str], excludes: Sequence[str], versions_only: bool,
              report: ImportReport, label: Callable[[str], str]) -> list[Tag]:
    """The tags that are deployments, peeled to commits (ref names hold no tab, NUL or newline)."""
    out = git.text(["for-each-ref", "--format=%(refname)%09%(objecttype)%09%(taggerdate:unix)", "refs/tags"])
    lines = out.splitlines()
    report.count("tags", len(lines))
    matched: list[tuple[str, str, str]] = []
    for line in lines:
        ref, kind, tagger = line.split("\t")
        name = ref.removeprefix("refs/tags/")
        reason = _tag_skip_reason(name, globs, excludes, versions_only)
        if reason is None:
            matched.append((name, kind, tagger))
        else:
            report.skip("tag", reason, label(name))
    if not matched:
        raise InputError(
            f"{git.repo}: no tag matches {' or '.join(globs)}"
            f"{' as a release version' if versions_only else ''} ({len(lines)} tags in the repository); "
            f"choose tags with --tags GLOB or deploy from a branch with --branch NAME"
        )
    peeled = _peel(git, [name for name, _, _ in matched])
    tags = []
    for name, kind, tagger in matched:
        commit = peeled[name]
        if commit is None:
            report.skip("tag", "does not point at a commit (a tag of a tree or a blob)", label(name))
            continue
        tags.append(Tag(name, commit, parse_seconds(tagger) if kind == "tag" else None, kind == "tag"))
    if not tags:
        raise InputError(f"{git.repo}: no tag matching {' or '.join(globs)} points at a commit")
    return tags


def branch_commit(git: Git, branch: str) -> str:
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{branch}", branch if branch.startswith("refs/") else None):
        if ref is None:
            continue
        try:
            return git.text(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]).strip()
        except InputError:
            continue
    raise InputError(f"{git.repo}: no branch named {branch!r} (git branch --list shows the branches)")


def default_branch(git: Git) -> tuple[str, str] | None:
    """(name, commit) of the default branch: the remote's HEAD in a clone, else HEAD; None if unborn."""
    for ref in ("refs/remotes/origin/HEAD", "HEAD"):
        try:
            commit = git.text(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]).strip()
        except InputError:
            continue
        try:
            name = git.text(["symbolic-ref", "--quiet", ref]).strip()
        except InputError:
            name = ref  # a detached HEAD
        return name, commit
    return None


def _time_tags(tags: list[Tag], graph: CommitGraph, report: ImportReport,
               label: Callable[[str], str]) -> list[Deployment]:
    deployments = []
    for tag in tags:
        seconds = tag.tagger
        if tag.annotated and not usable(seconds):
            seconds = graph.committer_time[graph.index[tag.commit]]
            report.skip("tagger date", f"{BAD_DATE}; the committer date is used", label(tag.name))
        elif not tag.annotated:
            seconds = graph.committer_time[graph.index[tag.commit]]
        if not usable(seconds):
            report.skip("tag", f"its date is {BAD_DATE}", label(tag.name))
            continue
        assert seconds is not None
        deployments.append(Deployment(tag.name, tag.commit, seconds * 10**9))
    return sorted(deployments, key=lambda d: (d.time_ns, d.deploy_id))


def _branch_deployments(first_parent: list[str], graph: CommitGraph, report: ImportReport,
                        label: Callable[[str], str]) -> list[Deployment]:
    """Oldest first; commits with the same committer second keep their first-parent order."""
    timed = []
    for position, sha in enumerate(reversed(first_parent)):
        seconds = graph.committer_time[graph.index[sha]]
        if not usable(seconds):
            report.skip("deployment", f"committer date {BAD_DATE}", label(sha))
            continue
        assert seconds is not None
        timed.append((seconds * 10**9, position, Deployment(sha, sha, seconds * 10**9)))
    return [d for _, _, d in sorted(timed, key=lambda t: (t[0], t[1]))]


# ---------------------------------------------------------------------------------------------
# Reverts


def find_reverts(git: Git, tips: Sequence[str], graph: CommitGraph, report: ImportReport,
                 label: Callable[[str], str]) -> list[tuple[int, int]]:
    """(revert commit, reverted commit) index pairs among the commits of the graph.

    ``log --grep`` names the candidates (hashes only); ``cat-file --batch`` then gives each raw
    commit length-prefixed, so no byte of a message can be taken for a separator. Only git's own
    revert line counts, naming the reverted commit by its full SHA: a dictionary lookup each.
    """
    out = git.text(["log", *LOG_OPTIONS, "--stdin", "-F", f"--grep={REVERT_GREP}", "--format=%H"],
                   stdin=("\n".join(dict.fromkeys(tips)) + "\n").encode())
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
            report.skip("revert", "mentions a revert, not in git's own words (This reverts commit <full SHA>.)",
                        label(sha))
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


# ---------------------------------------------------------------------------------------------
# The whole import


def _iso(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, tz="UTC")


def _window_ns(since: pd.Timestamp | None, until: pd.Timestamp | None) -> tuple[int | None, int | None]:
    return (None if since is None else since.value), (None if until is None else until.value)


@dataclass
class _Context:
    """What the row builders share: the graph, the ordered deployments and who shipped what."""

    graph: CommitGraph
    ordered: list[Deployment]
    owner: list[int]
    keep: list[bool]
    since: int | None
    until: int | None
    label: Callable[[str], str]
    report: ImportReport


def _deployment_and_change_rows(ctx: _Context, reached: list[list[int]]) -> tuple[list[dict[str, Any]],
                                                                                 list[dict[str, Any]]]:
    graph, label, report = ctx.graph, ctx.label, ctx.report
    bad_author = [i for i in range(len(graph.shas)) if not graph.is_merge(i) and not usable(graph.author_time[i])]
    if bad_author:
        report.skip("change", f"author date {BAD_DATE}", label(graph.shas[bad_author[0]]), len(bad_author))
    deploy_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    for position, deployment in enumerate(ctx.ordered):
        ids = [i for i in reached[position] if not graph.is_merge(i) and usable(graph.author_time[i])]
        if not ctx.keep[position]:
            report.skip("deployment", "created outside [since, until)", label(deployment.deploy_id))
            continue
        deploy_rows.append({"deploy_id": label(deployment.deploy_id), "time_created": _iso(deployment.time_ns),
                            "change_ids": " ".join(label(graph.shas[i]) for i in ids), "commit": deployment.commit})
        change_rows.extend({"change_id": label(graph.shas[i]),
                            "time_created": _iso(_ns(graph.author_time[i]))} for i in ids)
    waiting, dropped = _waiting_changes(ctx)
    if dropped:
        report.skip("change", "shipped by a deployment before since, or created at or after until", None, dropped)
    change_rows.extend({"change_id": label(graph.shas[i]), "time_created": _iso(_ns(graph.author_time[i]))}
                       for i in waiting)
    report.count("unreleased changes", len(waiting))
    return deploy_rows, change_rows


def _waiting_changes(ctx: _Context) -> tuple[list[int], int]:
    """(changes no written deployment ships that were waiting at the window's end, changes dropped).

    A change is waiting when no deployment ships it, or (with ``until``) when it was created
    before ``until`` and first shipped at or after it: at ``until`` it was not yet live.
    """
    graph, ordered = ctx.graph, ctx.ordered
    waiting, dropped = [], 0
    for i, position in enumerate(ctx.owner):
        if graph.is_merge(i) or not usable(graph.author_time[i]) or (position >= 0 and ctx.keep[position]):
            continue
        created = _ns(graph.author_time[i])
        shipped_later = position < 0 or (ctx.until is not None and ordered[position].time_ns >= ctx.until)
        if shipped_later and (ctx.until is None or created < ctx.until):
            waiting.append(i)
        else:
            dropped += 1
    return waiting, dropped


def _incident_rows(ctx: _Context, pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
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
        elif _ns(authored) < ordered[failed].time_ns:
            caught += 1
            report.skip("revert", "caught before release: authored before the reverted commit was first deployed",
                        revert_sha)
        elif not ctx.keep[failed]:
            report.skip("revert", "reverts a commit shipped by a deployment outside [since, until)", revert_sha)
        elif owner[revert] >= 0 and ordered[owner[revert]].time_ns < _ns(authored):
            report.skip("revert", "authored after the deployment that ships it (clock skew): no restore time",
                        revert_sha)
        else:
            fix = owner[revert]
            rows.append({
                "incident_id": revert_sha,
                "time_created": _iso(_ns(authored)),
                "time_resolved": _iso(ordered[fix].time_ns) if fix >= 0 else pd.NaT,
                "deploy_id": label(ordered[failed].deploy_id),
                "root_cause": label(graph.shas[_root_cause(graph, reverted)]),
                "source": "revert",
            })
    previous = report.links.get("reverts", {})
    report.links["reverts"] = {
        "incidents": previous.get("incidents", 0) + len(rows),
        "caught_before_release": previous.get("caught_before_release", 0) + caught,
        "rule": "the deployment that first shipped the reverted commit, unless the revert was authored before it",
    }
    return rows


BRANCH_WARNING = ("--branch {branch}: every commit on {branch} counts as a deployment, so lead time measures "
                  "commit → {branch}, not commit → production, and restore time the time to a fix on {branch}")


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
        "repository": str(repo), "deployments_from": f"branch {branch}" if branch else f"tags {', '.join(globs)}",
        "exclude": list(exclude), "since": since.isoformat() if since is not None else None,
        "until": until.isoformat() if until is not None else None, "reverts": reverts}
    if team is not None:
        settings["team"] = team
    if report is None:
        report = ImportReport("git", settings=settings)
    else:
        report.settings.setdefault("repositories", []).append(settings)

    def label(identifier: str) -> str:
        return identifier if team is None else f"{team}:{identifier}"

    with Git(repo) as git:
        check_repository(git)
        if branch:
            head = branch_commit(git, branch)
            first_parent = git.text(["rev-list", "--first-parent", head]).split()
            tips, trunk = first_parent[:1], None
        else:
            tag_list = read_tags(git, globs, exclude, not tags, report, label)
            trunk = default_branch(git)
            tips = [t.commit for t in tag_list] + ([trunk[1]] if trunk else [])
        graph = read_graph(git, tips)
        report.count("commits", len(graph.shas))
        if git.text(["rev-parse", "--is-shallow-repository"]).strip() == "true":
            report.note("a shallow clone: history before its boundary is absent, so the earliest deployments ship "
                        "only the commits the clone holds")
        if branch:
            ordered = _branch_deployments(first_parent, graph, report, label)
            settings["unreleased_work_from"] = f"branch {branch}"
        else:
            ordered = _time_tags(tag_list, graph, report, label)
            settings["unreleased_work_from"] = trunk[0] if trunk else None
        if not ordered:
            raise InputError(f"{repo}: no deployment has a usable date ({BAD_DATE})")
        report.count("deployments", len(ordered))
        owner, reached = first_shipped(graph, [graph.index[d.commit] for d in ordered])
        since_ns, until_ns = _window_ns(since, until)
        keep = [(since_ns is None or d.time_ns >= since_ns) and (until_ns is None or d.time_ns < until_ns)
                for d in ordered]
        ctx = _Context(graph, ordered, owner, keep, since_ns, until_ns, label, report)
        deploy_rows, change_rows = _deployment_and_change_rows(ctx, reached)
        merges = sum(1 for i in range(len(graph.shas)) if graph.is_merge(i))
        if merges:
            report.skip("commit", "merge commit (not a change)", None, merges)
        incident_rows = _incident_rows(ctx, find_reverts(git, tips, graph, report, label)) if reverts else []

    warnings = [BRANCH_WARNING.format(branch=branch)] if branch else []
    if warnings:
        report.settings.setdefault("warnings", []).extend(w for w in warnings if w not in report.settings["warnings"])
    logs = _logs(change_rows, deploy_rows, incident_rows, team)
    elapsed = time.perf_counter() - started
    settings["elapsed_seconds"] = round(elapsed, 3)
    settings["commits_per_second"] = round(len(graph.shas) / elapsed) if elapsed > 0 else None
    return GitImport(logs, report, warnings)


def _logs(change_rows: list[dict[str, Any]], deploy_rows: list[dict[str, Any]], incident_rows: list[dict[str, Any]],
          team: str | None) -> EventLogs:
    frames = [pd.DataFrame(rows, columns=columns) for rows, columns in
              ((change_rows, CHANGE_COLUMNS), (deploy_rows, DEPLOY_COLUMNS), (incident_rows, INCIDENT_COLUMNS))]
    if team is not None:
        for frame in frames:
            frame["team"] = team
    changes = frames[0].sort_values(["time_created", "change_id"], kind="stable")
    return make_logs(changes, frames[1], frames[2])


# ---------------------------------------------------------------------------------------------
# Several repositories, one organisation


def check_team(name: str, where: str) -> str:
    if not TEAM_PATTERN.fullmatch(name) or not name.isprintable():
        raise InputError(f"{where} {name!r}: a team name is 1 to 64 printable characters without spaces or ':'")
    return name


def team_names(repos: Sequence[str], teams: Sequence[str] | None, per_repo: bool) -> list[str | None]:
    """The team of each repository: ``--team`` per repository, its folder name, or none for one repository."""
    if teams and per_repo:
        raise InputError("--team and --team-per-repo: choose one way to name the teams")
    if teams:
        if len(teams) != len(repos):
            raise InputError(f"--team: give one per repository ({len(teams)} teams for {len(repos)} repositories)")
        names = [check_team(t, "--team") for t in teams]
    elif per_repo:
        names = [check_team(Path(r).resolve().name.removesuffix(".git") or str(r), "--team-per-repo: folder name")
                 for r in repos]
    elif len(repos) > 1:
        raise InputError(f"{len(repos)} repositories: name their teams with --team-per-repo or --team NAME per "
                         f"repository (ids are written TEAM:id so they stay unique)")
    else:
        return [None]
    seen: dict[str, str] = {}
    for repo, name in zip(repos, names, strict=True):
        if name in seen:
            raise InputError(f"{seen[name]} and {repo} would both be team {name!r}: name the teams with --team NAME "
                             f"per repository")
        seen[name] = repo
    return list(names)


def import_repositories(repos: Sequence[str], *, teams: Sequence[str] | None = None, team_per_repo: bool = False,
                        **options: Any) -> GitImport:
    """One repository, or several as the teams of one organisation (one report, logs pooled)."""
    names = team_names(repos, teams, team_per_repo)
    if names == [None]:
        return import_git(repos[0], **options)
    report = ImportReport("git", settings={"since": options.get("since"), "until": options.get("until"),
                                           "reverts": options.get("reverts", False)})
    for key in ("since", "until"):
        value = report.settings[key]
        report.settings[key] = value.isoformat() if value is not None else None
    parts = [import_git(repo, team=name, report=report, **options) for repo, name in zip(repos, names, strict=True)]
    frames = {kind: pd.concat([p.logs.frames()[kind] for p in parts], ignore_index=True)
              for kind in ("changes", "deployments", "incidents")}
    frames["changes"] = frames["changes"].sort_values(["time_created", "change_id"], kind="stable")
    logs = make_logs(frames["changes"], frames["deployments"], frames["incidents"])
    warnings = list(dict.fromkeys(w for p in parts for w in p.warnings))
    return GitImport(logs, report, warnings)
