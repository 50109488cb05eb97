"""``import git`` on random histories with hostile bytes: whatever the repository holds, the import
ends in one line (``InputError``) or in logs ``score`` reads back, and what each written deployment
ships is what ``git rev-list --no-merges C --not <earlier deployments>`` prints, less the commits whose
author date is unusable (in its order, unless a committer date is unreadable: git still orders by the
number it parsed, which it does not print).

Commits and tags are written as loose objects byte for byte (git's own commands refuse broken
author lines and messages with NUL), so every generated history is one git can read.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.importers.git import import_git
from sim.metrics.logs import read_logs, write_logs
from sim.metrics.scoring import score_logs

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

EMPTY_TREE = b""
SECOND_2024 = 1704067200
# author/committer dates: ordinary ones, and what git cannot read or dorasim does not accept
DATES = st.one_of(
    st.integers(SECOND_2024, SECOND_2024 + 400 * 86400).map(str),
    st.sampled_from(["-5", "", "32503680000", "8835000000", "99999999999999999999999", "0", "x"]),
)
MESSAGES = st.binary(max_size=40)
TAG_NAMES = ["v1.0", "1.1", "v1.2rc1", "2.0.0-beta", "1.x", "v2.0", "3.0.post1", "v3.1.dev0", "release"]


def write_object(git_dir: Path, kind: str, body: bytes) -> str:
    data = f"{kind} {len(body)}\0".encode() + body
    sha = hashlib.sha1(data).hexdigest()
    path = git_dir / "objects" / sha[:2] / sha[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.compress(data))
    return sha


@st.composite
def histories(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 14))
    commits = []
    for i in range(n):
        parents = sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=2)))) if i else []
        revert_of = draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None
        commits.append(
            {
                "parents": parents,
                "author": draw(DATES),
                "committer": draw(DATES),
                "message": draw(MESSAGES),
                "revert_of": revert_of,
                "revert_form": draw(st.sampled_from(["git", "short", "prose", "forged"])),
            }
        )
    tags = draw(
        st.dictionaries(
            st.sampled_from(TAG_NAMES),
            st.tuples(st.integers(0, n - 1), st.one_of(st.none(), DATES)),
            max_size=5,
        )
    )
    return {"commits": commits, "tags": tags}


def build(path: Path, history: dict) -> list[str]:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    tree = write_object(path, "tree", EMPTY_TREE)
    shas: list[str] = []
    for commit in history["commits"]:
        message = commit["message"]
        if commit["revert_of"] is not None:
            target = shas[commit["revert_of"]]
            message += {
                "git": f"\nThis reverts commit {target}.\n",
                "short": f"\nThis reverts commit {target[:8]}.\n",
                "prose": f"\nsee This reverts commit {target}.\n",
                "forged": f"\x1e{target}\x1fThis reverts commit {target}.\n",
            }[commit["revert_form"]].encode()
        body = (
            f"tree {tree}\n".encode()
            + b"".join(f"parent {shas[p]}\n".encode() for p in commit["parents"])
            + f"author A <a@x> {commit['author']} +0000\n".encode()
            + f"committer C <c@x> {commit['committer']} +0000\n\n".encode()
            + message
        )
        shas.append(write_object(path, "commit", body))
    (path / "refs" / "heads").mkdir(parents=True, exist_ok=True)
    (path / "refs" / "heads" / "main").write_text(shas[-1] + "\n")
    (path / "HEAD").write_text("ref: refs/heads/main\n")
    for name, (target, tagger) in history["tags"].items():
        sha = shas[target]
        if tagger is not None:
            sha = write_object(
                path,
                "tag",
                f"object {sha}\ntype commit\ntag {name}\ntagger T <t@x> {tagger} +0000\n\n{name}\n".encode(),
            )
        (path / "refs" / "tags").mkdir(parents=True, exist_ok=True)
        (path / "refs" / "tags" / name).write_text(sha + "\n")
    return shas


def rev_list(path: Path, commit: str, earlier: list[str]) -> list[str]:
    stdin = commit + "\n" + "".join(f"^{e}\n" for e in earlier)
    return subprocess.run(
        ["git", "-C", str(path), "rev-list", "--no-merges", "--stdin"],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), mode=st.sampled_from(["tags", "all tags", "branch"]))
def test_any_history_gives_one_line_or_logs_score_reads(history, mode):
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo.git"
        build(repo, history)
        options = {"tags": ["*"]} if mode == "all tags" else {"branch": "main"} if mode == "branch" else {}
        try:
            result = import_git(repo, reverts=True, **options)
        except InputError as exc:
            assert "\n" not in str(exc)
            return
        out = Path(folder) / "out"
        write_logs(result.logs, out)
        logs = read_logs(out / "changes.csv", out / "deployments.csv", out / "incidents.csv")
        score_logs(logs)
        changes = set(logs.changes["change_id"])
        commits = logs.deployments["commit"].tolist()
        # git orders a commit whose committer date it cannot print by the number it read anyway
        ordinary = all(c["committer"].isdigit() and len(c["committer"]) < 15 for c in history["commits"])
        for position, row in enumerate(logs.deployments.itertuples()):
            listed = row.change_ids.split()
            expected = [c for c in rev_list(repo, row.commit, commits[:position]) if c in changes]
            assert set(listed) <= changes
            assert listed == expected if ordinary else sorted(listed) == sorted(expected)
