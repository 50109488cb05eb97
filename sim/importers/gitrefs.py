"""Deployments from a repository's refs: release tags or the first-parent history of a branch.

The rules are those of docs/import.md ("git"); :mod:`sim.importers.git` puts them together. Dates
come from git as unix seconds; one that is missing, unreadable or outside the dates dorasim accepts
(:mod:`sim.metrics.timerange`) never becomes a deployment time: an annotated tag falls back to its
commit's date, and what has no usable date is skipped and reported.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sim.errors import InputError
from sim.importers.gitgraph import CommitGraph
from sim.importers.gitproc import Git, parse_seconds
from sim.importers.report import ImportReport
from sim.importers.versions import release_skip_reason
from sim.metrics import timerange

DEFAULT_TAG_GLOBS = ("v[0-9]*", "[0-9]*")
FIRST_SECOND = timerange.FIRST.value // 10**9
END_SECOND = timerange.END.value // 10**9
BAD_DATE = f"missing, unreadable or outside [{timerange.FIRST_DATE.year}, {timerange.END_DATE.year})"


def usable(seconds: int | None) -> bool:
    """Whether a git date is readable and inside the dates dorasim accepts."""
    return seconds is not None and FIRST_SECOND <= seconds < END_SECOND


def ns(seconds: int | None) -> int:
    """Nanoseconds of a date :func:`usable` accepted."""
    assert seconds is not None
    return seconds * 10**9


@dataclass(frozen=True)
class Deployment:
    deploy_id: str
    commit: str
    time_ns: int  # UTC nanoseconds


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


def _tag_skip_reason(
    name: str, globs: Sequence[str], excludes: Sequence[str], versions_only: bool
) -> str | None:
    if not any(fnmatch.fnmatchcase(name, glob) for glob in globs):
        return f"name matches none of {', '.join(globs)}"
    excluded = next((glob for glob in excludes if fnmatch.fnmatchcase(name, glob)), None)
    if excluded is not None:
        return f"excluded by --exclude {excluded}"
    return release_skip_reason(name) if versions_only else None


def read_tags(
    git: Git,
    globs: Sequence[str],
    excludes: Sequence[str],
    versions_only: bool,
    report: ImportReport,
    label: Callable[[str], str],
) -> list[Tag]:
    """The tags that are deployments, peeled to commits (ref names hold no tab, NUL or newline)."""
    out = git.run(["for-each-ref", "--format=%(refname)%09%(objecttype)%09%(taggerdate:unix)", "refs/tags"])
    lines = out.splitlines()
    report.count("tags", len(lines))
    matched: list[tuple[str, str, str]] = []
    for raw in lines:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raw_name = raw.split(b"\t", 1)[0].removeprefix(b"refs/tags/")
            report.skip("tag", "its name is not UTF-8 text", label(raw_name.decode("utf-8", "replace")))
            continue
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
    for ref in (
        f"refs/heads/{branch}",
        f"refs/remotes/{branch}",
        branch if branch.startswith("refs/") else None,
    ):
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


def time_tags(
    tags: list[Tag], graph: CommitGraph, report: ImportReport, label: Callable[[str], str]
) -> list[Deployment]:
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


def branch_deployments(
    first_parent: list[str], graph: CommitGraph, report: ImportReport, label: Callable[[str], str]
) -> list[Deployment]:
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
