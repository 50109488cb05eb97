"""The commit graph of a repository, read once, and the walks the git importer needs over it.

- :func:`read_graph`: hash, parents, author and committer time of every commit reachable from
  the tips, from one ``git log -z`` (NUL-separated records of hashes and numbers only);
- :func:`first_shipped`: which deployment first reaches each commit, and in what order — exactly
  ``git rev-list C --not E1 … Ek`` for every deployment, in one walk that visits each commit once;
- :func:`introduced_by_merge`: the commits a merge brought in (reachable from its other parents,
  not from its first), by painting down the graph in generation order, so only the merged
  branch is visited, not the whole history.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.importers.gitproc import LOG_OPTIONS, Git, parse_seconds, records


@dataclass
class CommitGraph:
    """Every commit reachable from the tips: index by SHA, parents, times in seconds (None = unreadable)."""

    shas: list[str]
    index: dict[str, int]
    parents: list[tuple[int, ...]]
    author_time: list[int | None]
    committer_time: list[int | None]
    shallow_merges: frozenset[int] = frozenset()  # boundary commits of a shallow clone that are merges
    _generation: list[int] = field(default_factory=list)

    def is_merge(self, i: int) -> bool:
        return len(self.parents[i]) > 1 or i in self.shallow_merges

    def generation(self) -> list[int]:
        """1 + the longest parent chain below each commit (a commit's parents all have lower numbers)."""
        if not self._generation and self.shas:
            self._generation = _generations(self.parents)
        return self._generation


def read_graph(git: Git, tips: Sequence[str]) -> CommitGraph:
    """Hash, parents, author and committer time of every commit reachable from ``tips``."""
    if not tips:
        return CommitGraph([], {}, [], [], [])
    out = git.run(
        ["log", *LOG_OPTIONS, "--stdin", "-z", "--format=%H%x09%at%x09%ct%x09%P"],
        stdin=("\n".join(dict.fromkeys(tips)) + "\n").encode(),
    )
    shas: list[str] = []
    raw_parents: list[list[str]] = []
    author: list[int | None] = []
    committer: list[int | None] = []
    for record in records(out):
        sha, at, ct, parent_text = record.decode("ascii", "replace").split("\t", 3)
        shas.append(sha)
        raw_parents.append(parent_text.split())
        author.append(parse_seconds(at))
        committer.append(parse_seconds(ct))
    index = {sha: i for i, sha in enumerate(shas)}
    # a shallow clone's boundary parents are absent: they are simply not walked
    parents = [tuple(index[p] for p in ps if p in index) for ps in raw_parents]
    return CommitGraph(shas, index, parents, author, committer, _shallow_merges(git, index))


def _shallow_merges(git: Git, index: dict[str, int]) -> frozenset[int]:
    """Boundary commits of a shallow clone whose commit object names several parents.

    ``git log`` shows a boundary commit without parents; the commit object still lists them.
    """
    if git.text(["rev-parse", "--is-shallow-repository"]).strip() != "true":
        return frozenset()
    shallow_file = Path(git.text(["rev-parse", "--git-path", "shallow"]).strip())
    if not shallow_file.is_absolute():
        shallow_file = git.repo / shallow_file
    text = shallow_file.read_bytes().decode("ascii", "replace") if shallow_file.is_file() else ""
    boundary = [sha for sha in text.split() if sha in index]
    merges = set()
    for sha in boundary:
        header = git.run(["cat-file", "commit", sha]).split(b"\n\n", 1)[0]
        if sum(line.startswith(b"parent ") for line in header.splitlines()) > 1:
            merges.add(index[sha])
    return frozenset(merges)


def first_shipped(graph: CommitGraph, tips: Sequence[int]) -> tuple[list[int], list[list[int]]]:
    """(position in ``tips`` of the first tip reaching each commit, -1 if none; the commits each
    tip reaches first, in the order ``git rev-list`` prints them).

    Walking each tip's ancestors and stopping at commits an earlier tip reached gives exactly
    ``rev-list C --not E1 ... Ek`` (the reached set is closed under parents). The walk pops the
    newest committer date first, ties in the order commits were queued — git's own date-ordered walk
    (an unreadable date counts as 0, as in git).
    """
    owner = [-1] * len(graph.shas)
    reached: list[list[int]] = []
    committed = [t or 0 for t in graph.committer_time]
    for position, start in enumerate(tips):
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


def _generations(parents: list[tuple[int, ...]]) -> list[int]:
    """Generation numbers by an iterative depth-first walk (histories are too deep to recurse)."""
    generation = [0] * len(parents)
    for root in range(len(parents)):
        if generation[root]:
            continue
        stack = [root]
        while stack:
            commit = stack[-1]
            pending = [p for p in parents[commit] if not generation[p]]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if not generation[commit]:
                generation[commit] = 1 + max((generation[p] for p in parents[commit]), default=0)
    return generation


_FIRST_SIDE, _MERGED_SIDE = 1, 2


def introduced_by_merge(graph: CommitGraph, merge: int) -> list[int]:
    """The commits reachable from ``merge``'s other parents and not from its first, oldest first.

    Paints the first parent's side and the merged side down the graph, highest generation first:
    when a commit is taken from the queue, every commit that could reach it has been painted, so a
    commit painted only by the merged side is final. The walk stops when no such commit is queued.
    """
    parents = graph.parents[merge]
    if len(parents) < 2:
        return []
    generation = graph.generation()
    color: dict[int, int] = {}
    queue: list[tuple[int, int]] = []
    merged_only: set[int] = set()

    def paint(commit: int, side: int) -> None:
        before = color.get(commit, 0)
        after = before | side
        if after == before:
            return
        color[commit] = after
        if after == _MERGED_SIDE:
            merged_only.add(commit)
        else:
            merged_only.discard(commit)
        if before == 0:
            heapq.heappush(queue, (-generation[commit], commit))

    paint(parents[0], _FIRST_SIDE)
    for parent in parents[1:]:
        paint(parent, _MERGED_SIDE)
    introduced = []
    while merged_only:
        _, commit = heapq.heappop(queue)
        side = color[commit]
        if side == _MERGED_SIDE:
            merged_only.discard(commit)
            introduced.append(commit)
        for parent in graph.parents[commit]:
            paint(parent, side)
    return sorted(introduced, key=lambda c: (generation[c], graph.author_time[c] or 0, graph.shas[c]))
