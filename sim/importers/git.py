"""A git repository as event logs (docs/import.md): deployments, changes and reverts.

Rules (docs/import.md, "git"):

- deployments from tags: one per tag whose short name matches a glob (``fnmatch``, case
  sensitive; default ``v[0-9]*`` and ``[0-9]*``); ``deploy_id`` = the tag name; time = the
  tagger date of an annotated tag, else the committer date of the tagged commit. A tag that
  does not lead to a commit (a tag of a tree or a blob) is skipped and reported;
- deployments from a branch: one per commit of its first-parent history; ``deploy_id`` = the
  full SHA, time = its committer date;
- deployments are ordered by (time, name); a deployment ships (``change_ids``) the non-merge
  commits reachable from its commit and from no earlier deployment's commit — the commits
  ``git rev-list --no-merges C --not E1 E2 ...`` prints, in its order;
- changes: the non-merge commits those deployments ship, with the author date;
- ``--reverts``: a commit whose message says ``This reverts commit <sha>`` opens an incident
  on the deployment that first shipped ``<sha>``, created at the revert's author date and
  resolved at the time of the deployment that first ships the revert (open if none);
- ``since``/``until`` keep deployments created in [since, until), the changes they ship and
  the incidents on them; everything else is counted in the report.

Git itself does the reading: one ``git for-each-ref`` for the tags, one ``git cat-file
--batch-check`` to peel them to commits, one ``git log`` over every deployment's history
(hash, parents, author and committer time) and, with ``--reverts``, one ``git log --grep``.
The set differences are one walk over the commit graph in Python, each commit visited once (in git's own date order),
so the cost grows with the number of commits, not with commits × tags.
"""

from __future__ import annotations

import fnmatch
import heapq
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs, make_logs

DEFAULT_TAG_GLOBS = ("v[0-9]*", "[0-9]*")
REVERT_PATTERN = re.compile(r"This reverts commit ([0-9a-fA-F]{7,40})")
_FIELD = "\x1f"  # unit separator between fields of one record
_RECORD = "\x1e"  # record separator


@dataclass(frozen=True)
class Deployment:
    deploy_id: str
    commit: str
    time_ns: int  # UTC nanoseconds


@dataclass
class CommitGraph:
    """Every commit reachable from the deployments: index by SHA, parents, times in seconds."""

    shas: list[str]
    index: dict[str, int]
    parents: list[tuple[int, ...]]
    author_time: list[int]
    committer_time: list[int]
    shallow_merges: frozenset[int] = frozenset()  # boundary commits of a shallow clone that are merges

    def is_merge(self, i: int) -> bool:
        return len(self.parents[i]) > 1 or i in self.shallow_merges


# ---------------------------------------------------------------------------------------------
# Running git


def _git(repo: Path, args: Sequence[str], stdin: str | None = None) -> str:
    """Run one git command in ``repo``; its stdout, or a one-line :class:`InputError`."""
    git = shutil.which("git")
    if git is None:
        raise InputError("git: the git command is not installed or not on PATH")
    try:
        done = subprocess.run([git, "-C", str(repo), *args], input=stdin, capture_output=True,
                              text=True, encoding="utf-8", errors="replace", check=False)
    except OSError as exc:
        raise InputError(f"{repo}: cannot run git ({exc.strerror or exc})") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["exit code " + str(done.returncode)])[0]
        command = next((a for a in args if not a.startswith("-") and "=" not in a), "")
        raise InputError(f"{repo}: git {command} failed ({first})")
    return done.stdout


def check_repository(repo: str | Path) -> Path:
    """The path of a work tree or bare repository; one-line error otherwise."""
    path = Path(repo)
    if not path.exists():
        raise InputError(f"{repo}: no such directory")
    if not path.is_dir():
        raise InputError(f"{repo}: not a directory, so not a git repository")
    try:
        _git(path, ["rev-parse", "--git-dir"])
    except InputError:
        raise InputError(f"{repo}: not a git repository (no .git found here or in a parent folder)") from None
    return path


# ---------------------------------------------------------------------------------------------
# Deployments


def _peel(repo: Path, names: list[str]) -> dict[str, str | None]:
    """Tag name → the commit it leads to (None when it leads to a tree or a blob)."""
    if not names:
        return {}
    query = "".join(f"refs/tags/{name}^{{commit}}\n" for name in names)
    out = _git(repo, ["cat-file", "--batch-check=%(objectname) %(objecttype)"], stdin=query)
    peeled: dict[str, str | None] = {}
    for name, line in zip(names, out.splitlines(), strict=True):
        sha, _, kind = line.partition(" ")
        peeled[name] = sha if kind == "commit" else None
    return peeled


def tag_deployments(repo: Path, globs: Sequence[str], report: ImportReport) -> tuple[list[Deployment], dict[str, int]]:
    """(deployments with time 0 where the committer date is still needed, tagger times).

    Returns the tags matching ``globs`` peeled to commits; annotated tags carry their tagger
    time (seconds) in the second value.
    """
    fmt = _FIELD.join(["%(refname)", "%(objecttype)", "%(taggerdate:unix)"])
    lines = _git(repo, ["for-each-ref", f"--format={fmt}", "refs/tags"]).splitlines()
    report.count("tags", len(lines))
    matched: list[tuple[str, str, str]] = []
    for line in lines:
        ref, kind, tagger = line.split(_FIELD)
        name = ref.removeprefix("refs/tags/")
        if any(fnmatch.fnmatchcase(name, glob) for glob in globs):
            matched.append((name, kind, tagger))
        else:
            report.skip("tag", f"name matches none of {', '.join(globs)}", name)
    if not matched:
        raise InputError(
            f"{repo}: no tag matches {' or '.join(globs)} ({len(lines)} tags in the repository); "
            f"choose tags with --tags GLOB or deploy from a branch with --branch NAME"
        )
    peeled = _peel(repo, [name for name, _, _ in matched])
    deployments, tagger_times = [], {}
    for name, kind, tagger in matched:
        commit = peeled[name]
        if commit is None:
            report.skip("tag", "does not point at a commit (a tag of a tree or a blob)", name)
            continue
        if kind == "tag" and tagger.strip():
            tagger_times[name] = int(tagger)
        elif kind == "tag":
            report.skip("tagger date", "annotated tag without a tagger line; the committer date is used", name)
        deployments.append(Deployment(name, commit, 0))
    if not deployments:
        raise InputError(f"{repo}: no tag matching {' or '.join(globs)} points at a commit")
    return deployments, tagger_times


def branch_commit(repo: Path, branch: str) -> str:
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{branch}", branch if branch.startswith("refs/") else None):
        if ref is None:
            continue
        try:
            return _git(repo, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]).strip()
        except InputError:
            continue
    raise InputError(f"{repo}: no branch named {branch!r} (git branch --list shows the branches)")


def branch_deployments(repo: Path, branch: str) -> list[Deployment]:
    head = branch_commit(repo, branch)
    out = _git(repo, ["rev-list", "--first-parent", "--format=%H %ct", "--no-commit-header", head])
    deployments = []
    for line in out.splitlines():
        sha, _, committed = line.partition(" ")
        deployments.append(Deployment(sha, sha, int(committed) * 10**9))
    return deployments


# ---------------------------------------------------------------------------------------------
# The commit graph and what each deployment ships


def read_graph(repo: Path, tips: Sequence[str]) -> CommitGraph:
    """Hash, parents, author and committer time of every commit reachable from ``tips``."""
    fmt = _FIELD.join(["%H", "%P", "%at", "%ct"]) + _RECORD
    if not tips:
        return CommitGraph([], {}, [], [], [])
    out = _git(repo, ["-c", "log.showSignature=false", "log", "--stdin", f"--format={fmt}"],
               stdin="\n".join(dict.fromkeys(tips)) + "\n")
    shas: list[str] = []
    raw_parents: list[list[str]] = []
    author: list[int] = []
    committer: list[int] = []
    for record in out.split(_RECORD):
        record = record.strip("\n")
        if not record:
            continue
        sha, parent_text, at, ct = record.split(_FIELD)
        shas.append(sha)
        raw_parents.append(parent_text.split())
        author.append(int(at))
        committer.append(int(ct))
    index = {sha: i for i, sha in enumerate(shas)}
    # a shallow clone's boundary parents are absent: they are simply not walked
    parents = [tuple(index[p] for p in ps if p in index) for ps in raw_parents]
    return CommitGraph(shas, index, parents, author, committer, _shallow_merges(repo, index))


def _shallow_merges(repo: Path, index: dict[str, int]) -> frozenset[int]:
    """Boundary commits of a shallow clone whose commit object names several parents.

    ``git log`` shows a boundary commit without parents; the commit object still lists them.
    """
    if _git(repo, ["rev-parse", "--is-shallow-repository"]).strip() != "true":
        return frozenset()
    shallow_file = Path(_git(repo, ["rev-parse", "--git-path", "shallow"]).strip())
    if not shallow_file.is_absolute():
        shallow_file = repo / shallow_file
    boundary = [sha for sha in shallow_file.read_text().split() if sha in index] if shallow_file.is_file() else []
    merges = set()
    for sha in boundary:
        header = _git(repo, ["cat-file", "commit", sha]).split("\n\n", 1)[0]
        if sum(line.startswith("parent ") for line in header.splitlines()) > 1:
            merges.add(index[sha])
    return frozenset(merges)


def first_shipped(graph: CommitGraph, ordered: Sequence[Deployment]) -> tuple[list[int], list[list[int]]]:
    """(position in ``ordered`` of the first deployment reaching each commit, -1 if none; the
    commits each deployment reaches first, in the order ``git rev-list`` prints them).

    Walking each deployment's ancestors and stopping at commits an earlier deployment reached
    gives exactly ``rev-list C --not E1 ... Ek`` (the reached set is closed under parents). The
    walk pops the newest committer date first, ties in the order commits were queued — the
    order of git's own date-ordered walk.
    """
    owner = [-1] * len(graph.shas)
    reached: list[list[int]] = []
    committed = graph.committer_time
    for position, deployment in enumerate(ordered):
        start = graph.index[deployment.commit]
        order: list[int] = []
        reached.append(order)
        if owner[start] != -1:
            continue
        owner[start] = position
        counter = 0
        queue = [(-committed[start], counter, start)]
        while queue:
            _, _, commit = heapq.heappop(queue)
            order.append(commit)
            for parent in graph.parents[commit]:
                if owner[parent] == -1:
                    owner[parent] = position
                    counter += 1
                    heapq.heappush(queue, (-committed[parent], counter, parent))
    return owner, reached


# ---------------------------------------------------------------------------------------------
# Reverts


def find_reverts(repo: Path, tips: Sequence[str], graph: CommitGraph, report: ImportReport) -> list[tuple[int, int]]:
    """(revert commit, reverted commit) index pairs among the commits of the graph."""
    fmt = "%H" + _FIELD + "%B" + _RECORD
    out = _git(repo, ["log", "--stdin", "-F", "--grep=This reverts commit", f"--format={fmt}"],
               stdin="\n".join(dict.fromkeys(tips)) + "\n")
    pairs = []
    for record in out.split(_RECORD):
        record = record.strip("\n")
        if not record:
            continue
        sha, message = record.split(_FIELD, 1)
        match = REVERT_PATTERN.search(message)
        if match is None or sha not in graph.index:
            continue
        report.count("revert commits")
        reverted = _resolve(graph, match.group(1).lower())
        if reverted is None:
            report.skip("revert", "the reverted commit is not in the deployed history", sha)
            continue
        pairs.append((graph.index[sha], reverted))
    return pairs


def _resolve(graph: CommitGraph, prefix: str) -> int | None:
    if prefix in graph.index:
        return graph.index[prefix]
    if len(prefix) == 40:
        return None
    found = [i for sha, i in graph.index.items() if sha.startswith(prefix)]
    return found[0] if len(found) == 1 else None


# ---------------------------------------------------------------------------------------------
# The whole import


def _iso(seconds_or_ns: int, ns: bool = False) -> pd.Timestamp:
    return pd.Timestamp(seconds_or_ns if ns else seconds_or_ns * 10**9, tz="UTC")


@dataclass
class GitImport:
    logs: EventLogs
    report: ImportReport


def import_git(
    repo: str | Path,
    *,
    tags: Sequence[str] | None = None,
    branch: str | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    reverts: bool = False,
) -> GitImport:
    """Read a repository into logs following the rules of the module docstring."""
    if tags and branch:
        raise InputError("--tags and --branch: choose one way to find deployments")
    if since is not None and until is not None and until <= since:
        raise InputError(f"--until {until.isoformat()} must be after --since {since.isoformat()}")
    started = time.perf_counter()
    path = check_repository(repo)
    globs = tuple(tags) if tags else DEFAULT_TAG_GLOBS
    report = ImportReport("git", settings={
        "repository": str(repo), "deployments_from": f"branch {branch}" if branch else f"tags {', '.join(globs)}",
        "since": since.isoformat() if since is not None else None,
        "until": until.isoformat() if until is not None else None, "reverts": reverts})

    if branch:
        deployments = branch_deployments(path, branch)
        tagger_times: dict[str, int] = {}
    else:
        deployments, tagger_times = tag_deployments(path, globs, report)
    tips = [d.commit for d in deployments]
    graph = read_graph(path, tips)
    report.count("commits", len(graph.shas))
    if _git(path, ["rev-parse", "--is-shallow-repository"]).strip() == "true":
        report.note("a shallow clone: history before its boundary is absent, so the earliest deployments ship "
                    "only the commits the clone holds")
    timed = [
        Deployment(d.deploy_id, d.commit,
                   tagger_times.get(d.deploy_id, graph.committer_time[graph.index[d.commit]]) * 10**9)
        for d in deployments
    ]
    ordered = sorted(timed, key=lambda d: (d.time_ns, d.deploy_id))
    report.count("deployments", len(ordered))
    owner, reached = first_shipped(graph, ordered)

    keep = [(since is None or d.time_ns >= since.value) and (until is None or d.time_ns < until.value)
            for d in ordered]
    deploy_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    for position, deployment in enumerate(ordered):
        ids = [i for i in reached[position] if not graph.is_merge(i)]
        if not keep[position]:
            report.skip("deployment", "created outside [since, until)", deployment.deploy_id)
            if ids:
                report.skip("change", "shipped by a deployment outside [since, until)", graph.shas[ids[0]], len(ids))
            continue
        deploy_rows.append({"deploy_id": deployment.deploy_id, "time_created": _iso(deployment.time_ns, ns=True),
                            "change_ids": " ".join(graph.shas[i] for i in ids), "commit": deployment.commit})
        change_rows.extend({"change_id": graph.shas[i], "time_created": _iso(graph.author_time[i])} for i in ids)
    merges = sum(1 for i in range(len(graph.shas)) if graph.is_merge(i))
    if merges:
        report.skip("commit", "merge commit (not a change)", None, merges)

    incident_rows: list[dict[str, Any]] = []
    if reverts:
        incident_rows = _revert_incidents(path, tips, graph, ordered, owner, keep, report)
    changes = pd.DataFrame(change_rows, columns=["change_id", "time_created"]).sort_values(
        ["time_created", "change_id"], kind="stable")
    logs = make_logs(changes, pd.DataFrame(deploy_rows, columns=["deploy_id", "time_created", "change_ids", "commit"]),
                     pd.DataFrame(incident_rows, columns=["incident_id", "time_created", "time_resolved", "deploy_id",
                                                          "root_cause", "source"]))
    elapsed = time.perf_counter() - started
    report.settings["elapsed_seconds"] = round(elapsed, 3)
    report.settings["commits_per_second"] = round(len(graph.shas) / elapsed) if elapsed > 0 else None
    return GitImport(logs, report)


def _revert_incidents(path: Path, tips: Sequence[str], graph: CommitGraph, ordered: Sequence[Deployment],
                      owner: list[int], keep: list[bool], report: ImportReport) -> list[dict[str, Any]]:
    rows = []
    for revert, reverted in find_reverts(path, tips, graph, report):
        failed = owner[reverted]
        revert_sha = graph.shas[revert]
        if failed < 0:
            report.skip("revert", "the reverted commit was never deployed", revert_sha)
            continue
        if not keep[failed]:
            report.skip("revert", "reverts a commit shipped by a deployment outside [since, until)", revert_sha)
            continue
        fix = owner[revert]
        rows.append({
            "incident_id": revert_sha,
            "time_created": _iso(graph.author_time[revert]),
            "time_resolved": _iso(ordered[fix].time_ns, ns=True) if fix >= 0 else pd.NaT,
            "deploy_id": ordered[failed].deploy_id,
            "root_cause": graph.shas[reverted],
            "source": "revert",
        })
    report.links["reverts"] = {"incidents": len(rows), "rule": "the deployment that first shipped the reverted commit"}
    return rows
