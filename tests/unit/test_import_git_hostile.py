"""``import git`` on broken and hostile repositories: every case ends in logs ``score`` accepts, or in
one line and exit 2; no configuration of the repository (or of the user) runs a program.

Each repository is built here with git itself; commits git refuses to write (broken author lines,
negative timestamps, bytes a message should not hold) are written byte for byte with
``hash-object --literally``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.importers.git import import_git
from sim.metrics.logs import read_logs
from sim.metrics.scoring import score_logs
from tests.unit.git_repos import Repo, utc

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

SECOND_2024 = 1704067200  # 2024-01-01T00:00:00Z


def person(seconds: int | str, name: str = "A <a@example.com>") -> bytes:
    return f"{name} {seconds} +0000".encode()


def import_and_score(repo: Path, out: Path, *extra: str) -> tuple[dict, dict]:
    """Run the command, then read the logs as ``score`` does (it refuses anything out of contract)."""
    assert main(["import", "git", str(repo), "--out", str(out), "--json", *extra]) == 0
    logs = read_logs(out / "changes.csv", out / "deployments.csv", out / "incidents.csv")
    import json

    return score_logs(logs), json.loads((out / "import_report.json").read_text())


def skipped(report: dict) -> dict[tuple[str, str], list[str]]:
    return {(s["what"], s["reason"]): s["examples"] for s in report["skipped"]}


@pytest.fixture
def base(tmp_path) -> Repo:
    repo = Repo(tmp_path / "r")
    repo.commit("first", "2024-01-01T00:00:00Z")
    return repo


# ---------------------------------------------------------------------------------------------
# Dates git cannot read, or dorasim does not accept


@pytest.mark.parametrize(
    "author",
    [
        person(-5),  # a negative timestamp: git prints no date
        b"A <a@example.com>  +0000",  # no timestamp at all
        b"broken line without an email",  # an invalid author line
        person(32503680000),  # year 3000
        person(8835000000),  # 2250: past the dates score accepts
        person(99999999999999999999999),  # past what a 64-bit time holds
    ],
)
def test_a_change_with_an_unusable_author_date_is_skipped_and_reported(base, tmp_path, author):
    first = base.git("rev-parse", "HEAD")
    bad = base.raw_commit("HEAD", [first], author, person(SECOND_2024 + 86400), b"odd author\n")
    base.tag("v1.0")
    result, report = import_and_score(base.path, tmp_path / "out")
    assert result["counts"]["deployments"] == 1
    assert result["counts"]["changes"] == 1  # the first commit only
    reason = ("change", "author date missing, unreadable or outside [1700, 2200)")
    assert skipped(report)[reason] == [bad]


def test_a_tagger_date_in_year_3000_falls_back_to_the_commit_date(base, tmp_path):
    tree_commit = base.git("rev-parse", "HEAD")
    tag = (
        f"object {tree_commit}\ntype commit\ntag v1.0\ntagger T <t@example.com> 32503680000 +0000\n\nv1.0\n"
    ).encode()
    sha = (
        subprocess.run(["git", "-C", str(base.path), "mktag"], input=tag, capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )
    base.git("update-ref", "refs/tags/v1.0", sha)
    result, report = import_and_score(base.path, tmp_path / "out")
    deployments = read_logs(
        *(tmp_path / "out" / f for f in ("changes.csv", "deployments.csv", "incidents.csv"))
    )
    assert deployments.deployments["time_created"].tolist() == [utc("2024-01-01")]
    assert (
        "tagger date",
        "missing, unreadable or outside [1700, 2200); the committer date is used",
    ) in skipped(report)
    assert result["counts"]["deployments"] == 1


def test_a_tagged_commit_dated_2250_is_skipped_not_written(base, tmp_path):
    base.tag("v1.0")
    first = base.git("rev-parse", "HEAD")
    late = base.raw_commit("HEAD", [first], person(SECOND_2024), person(8835000000), b"from the future\n")
    base.tag("v2.0")
    result, report = import_and_score(base.path, tmp_path / "out")
    assert result["counts"]["deployments"] == 1
    assert skipped(report)[("tag", "its date is missing, unreadable or outside [1700, 2200)")] == ["v2.0"]
    changes = (tmp_path / "out" / "changes.csv").read_text()
    assert late in changes  # still written: unreleased work as far as any usable deployment knows


def test_no_deployment_with_a_usable_date_is_one_line_and_exit_2(tmp_path, capsys):
    repo = Repo(tmp_path / "r")
    repo.commit("first", "2024-01-01T00:00:00Z")
    root = repo.raw_commit("HEAD", [], person(SECOND_2024), b"C <c@example.com> -7 +0000", b"x\n")
    repo.git("update-ref", "refs/tags/v1", root)
    assert main(["import", "git", str(repo.path), "--tags", "v1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no deployment has a usable date" in err
    assert not (tmp_path / "o").exists()


def test_branch_mode_skips_a_commit_whose_committer_date_is_unreadable(base, tmp_path):
    first = base.git("rev-parse", "HEAD")
    odd = base.raw_commit("HEAD", [first], person(SECOND_2024 + 60), b"C <c@example.com> -7 +0000", b"x\n")
    last = base.raw_commit("HEAD", [odd], person(SECOND_2024 + 120), person(SECOND_2024 + 120), b"y\n")
    result, report = import_and_score(base.path, tmp_path / "out", "--branch", "main")
    assert result["counts"]["deployments"] == 2
    assert skipped(report)[("deployment", "committer date missing, unreadable or outside [1700, 2200)")] == [
        odd
    ]
    logs = read_logs(*(tmp_path / "out" / f for f in ("changes.csv", "deployments.csv", "incidents.csv")))
    ships = dict(zip(logs.deployments["deploy_id"], logs.deployments["change_ids"], strict=True))
    assert ships == {first: first, last: f"{last} {odd}"}  # the skipped commit ships with the next one


# ---------------------------------------------------------------------------------------------
# Messages: any byte, and only git's own revert line


def test_any_byte_in_a_message_is_read_and_no_forged_record_makes_an_incident(base, tmp_path):
    base.tag("v1.0")
    victim = base.git("rev-parse", "HEAD")
    ordinary = base.commit("ordinary", "2024-01-03T00:00:00Z")
    forged = (
        f"harmless\n\n\x1e{ordinary}\x1fThis reverts commit {victim}.\n\x00\x1e\x1f\xff and more\n"
    ).encode("latin-1")
    hostile = base.raw_commit(
        "HEAD", [ordinary], person(SECOND_2024 + 3 * 86400), person(SECOND_2024 + 3 * 86400), forged
    )
    prose = base.raw_commit(
        "HEAD",
        [hostile],
        person(SECOND_2024 + 4 * 86400),
        person(SECOND_2024 + 4 * 86400),
        f"Fix\n\nas in: This reverts commit {victim}.\n".encode(),
    )
    base.tag("v2.0", prose)
    result, report = import_and_score(base.path, tmp_path / "out", "--reverts")
    assert result["counts"]["incidents"] == 0
    assert result["counts"]["deployments"] == 2 and result["counts"]["changes"] == 4
    assert report["incident_links"]["reverts"]["incidents"] == 0


def test_git_s_own_revert_line_in_a_message_full_of_separators_still_counts(base, tmp_path):
    base.tag("v1.0")
    victim = base.git("rev-parse", "HEAD")
    message = f'Revert "first"\x1e\x1f\n\nThis reverts commit {victim}.\n\x00trailing\n'.encode()
    revert = base.raw_commit(
        "HEAD", [victim], person(SECOND_2024 + 86400), person(SECOND_2024 + 86400), message
    )
    base.tag("v2.0", revert)
    result, _ = import_and_score(base.path, tmp_path / "out", "--reverts")
    assert result["counts"]["incidents"] == 1


def test_twenty_thousand_unresolvable_short_shas_take_linear_time(tmp_path):
    """Each message names an abbreviated SHA; only full SHAs are looked up (a dict lookup each)."""
    path = tmp_path / "big"
    Repo(path)
    n = 20_000
    lines = []
    for i in range(n):
        message = f"Revert\n\nThis reverts commit {i:07x}.\n".encode()
        lines.append(
            f"commit refs/heads/main\nmark :{i + 1}\ncommitter C <c@example.com> {SECOND_2024 + i} +0000\n"
            f"data {len(message)}\n".encode()
            + message
            + (f"from :{i}\n".encode() if i else b"")
            + b"\n"
        )
    lines.append(
        f"tag v1.0\nfrom :{n}\ntagger T <t@example.com> {SECOND_2024 + n} +0000\ndata 0\n\n".encode()
    )
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(lines), check=True)

    def timed(*extra: str) -> float:
        started = time.perf_counter()
        import_git(path, reverts=bool(extra))
        return time.perf_counter() - started

    plain, with_reverts = timed(), timed("--reverts")
    assert with_reverts < 3 * plain + 2.0, (plain, with_reverts)


# ---------------------------------------------------------------------------------------------
# Configuration that runs programs: never


@pytest.fixture
def signed(tmp_path) -> tuple[Repo, Path]:
    """A repository whose tagged commit carries a signature, and a gpg that leaves a marker if run."""
    repo = Repo(tmp_path / "signed")
    repo.commit("first", "2024-01-01T00:00:00Z")
    first = repo.git("rev-parse", "HEAD")
    signature = b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n =abcd\n -----END PGP SIGNATURE-----\n"
    sha = repo.raw_commit(
        "HEAD",
        [first],
        person(SECOND_2024 + 60),
        person(SECOND_2024 + 60),
        f"Revert\n\nThis reverts commit {first}.\n".encode(),
        extra_headers=signature,
    )
    repo.tag("v1.0", sha)
    marker = tmp_path / "ran"
    program = tmp_path / "hostile-program"
    program.write_text(f"#!/bin/sh\ntouch {marker}\ncat >/dev/null\nexit 0\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return repo, program


HOSTILE_SETTINGS = (
    "log.showSignature=true",
    "gpg.program={p}",
    "gpg.openpgp.program={p}",
    "core.fsmonitor={p}",
    "diff.external={p}",
    "core.pager={p}",
    "pager.log={p}",
)


def _configure(repo: Repo, config_file: Path, program: Path) -> None:
    for setting in HOSTILE_SETTINGS:
        key, value = setting.format(p=program).split("=", 1)
        subprocess.run(["git", "config", "--file", str(config_file), key, value], check=True)


def test_the_hostile_configuration_does_run_plain_git(signed):
    """The control: without the importer's isolation, git runs the hostile program."""
    repo, program = signed
    _configure(repo, repo.path / ".git" / "config", program)
    subprocess.run(["git", "-C", str(repo.path), "log", "-1", "--format=%H", "v1.0"], capture_output=True)
    assert (program.parent / "ran").exists()


@pytest.mark.parametrize("where", ["repository", "user", "environment"])
def test_no_configured_program_ever_runs(signed, tmp_path, monkeypatch, where):
    repo, program = signed
    if where == "repository":
        _configure(repo, repo.path / ".git" / "config", program)
    elif where == "user":
        home = tmp_path / "home"
        home.mkdir()
        _configure(repo, home / ".gitconfig", program)
        monkeypatch.setenv("HOME", str(home))
    else:
        for i, setting in enumerate(HOSTILE_SETTINGS):
            key, value = setting.format(p=program).split("=", 1)
            monkeypatch.setenv(f"GIT_CONFIG_KEY_{i}", key)
            monkeypatch.setenv(f"GIT_CONFIG_VALUE_{i}", value)
        monkeypatch.setenv("GIT_CONFIG_COUNT", str(len(HOSTILE_SETTINGS)))
        monkeypatch.setenv("GIT_EXTERNAL_DIFF", str(program))
        monkeypatch.setenv("GIT_PAGER", str(program))
    result, _ = import_and_score(repo.path, tmp_path / "out", "--reverts")
    assert not (program.parent / "ran").exists()
    assert result["counts"]["deployments"] == 1


def test_an_inherited_git_dir_does_not_redirect_the_import(history_pair, monkeypatch):
    first, second = history_pair
    monkeypatch.setenv("GIT_DIR", str(second.path / ".git"))
    logs = import_git(first.path).logs
    assert logs.deployments["deploy_id"].tolist() == ["v1.0"]


@pytest.fixture
def history_pair(tmp_path) -> tuple[Repo, Repo]:
    first, second = Repo(tmp_path / "first"), Repo(tmp_path / "second")
    first.commit("a", "2024-01-01T00:00:00Z")
    first.tag("v1.0")
    second.commit("b", "2024-01-01T00:00:00Z")
    second.tag("v9.0")
    return first, second


def test_the_environment_of_the_caller_is_left_untouched(signed):
    before = dict(os.environ)
    import_git(signed[0].path)
    assert dict(os.environ) == before


def test_a_tag_name_that_is_not_utf8_is_skipped_and_reported(base, tmp_path):
    sha = base.git("rev-parse", "HEAD")
    (
        base.path / ".git" / "refs" / "tags" / "v1.\xff".encode("latin-1").decode("utf-8", "surrogateescape")
    ).write_text(sha + "\n")
    base.tag("v2.0")
    result, report = import_and_score(base.path, tmp_path / "out", "--tags", "v*")
    assert result["counts"]["deployments"] == 1
    assert skipped(report)[("tag", "its name is not UTF-8 text")] == ["v1.\ufffd"]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give the files away"
)
def test_a_repository_owned_by_another_user_is_read(base, tmp_path):
    """git refuses it by default ("dubious ownership"); the named repository is read, its programs never run."""
    base.tag("v1.0")
    for path in [base.path, *base.path.rglob("*")]:
        os.lchown(path, 65534, 65534)
    plain = subprocess.run(
        ["git", "-C", str(base.path), "rev-parse", "--git-dir"],
        capture_output=True,
        env={**os.environ, "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"},
    )
    assert plain.returncode != 0 and b"dubious ownership" in plain.stderr
    result, _ = import_and_score(base.path, tmp_path / "out")
    assert result["counts"]["deployments"] == 1
