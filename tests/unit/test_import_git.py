"""``import git``: every rule of docs/import.md ("git") on repositories built here with git itself.

The history (dates UTC; ``A`` = author date where it differs from the commit date):

    main:  c1 (Jan 1) ─ c2 (Jan 2, A Dec 20) ── m1 (Jan 6: merges f1, f2) ── m2 (Jan 12: merges maint) ─ c3 (Jan 13) ─ r1 (Jan 15: reverts c3) ─ c4 (Jan 17)
             tags:    v1.0 (light, on c2)        v1.1 (annotated Jan 8)                                  v1.2 (light, on c3)   v1.3 (annotated Jan 16)   2.0 and v2.0 (light, on c4)
    feature: f1 (Jan 3) ─ f2 (Jan 4), branched from c2
    maint:   x1 (Jan 5), branched from c2;  v1.0.1 (annotated Jan 7, on x1)

plus ``v9`` (a tag of a tree) and ``release-candidate`` (matches no default glob).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest

from sim.cli import main
from sim.errors import InputError
from sim.importers.git import import_git
from sim.metrics.logs import read_logs
from sim.metrics.scoring import score_logs
from tests.unit.git_repos import Repo, utc

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> dict[str, str]:
    repo = Repo(tmp_path_factory.mktemp("repo") / "work")
    c: dict[str, str] = {"path": str(repo.path)}
    c["c1"] = repo.commit("first", "2024-01-01T10:00:00Z")
    c["c2"] = repo.commit("second", "2024-01-02T10:00:00+02:00", author_date="2023-12-20T09:00:00Z")
    repo.tag("v1.0")
    repo.git("checkout", "-q", "-b", "feature")
    c["f1"] = repo.commit("feature one", "2024-01-03T10:00:00Z")
    c["f2"] = repo.commit("feature two", "2024-01-04T10:00:00Z")
    repo.git("checkout", "-q", "-b", "maint", c["c2"])
    c["x1"] = repo.commit("maintenance fix", "2024-01-05T10:00:00Z")
    repo.tag("v1.0.1", annotated_at="2024-01-07T10:00:00Z")
    repo.git("checkout", "-q", "main")
    c["m1"] = repo.merge("feature", "2024-01-06T10:00:00Z")
    repo.tag("v1.1", annotated_at="2024-01-08T10:00:00Z")
    c["m2"] = repo.merge("maint", "2024-01-12T10:00:00Z")
    c["c3"] = repo.commit("risky change", "2024-01-13T10:00:00Z")
    repo.tag("v1.2")
    c["r1"] = repo.commit(f'Revert "risky change"\n\nThis reverts commit {c["c3"]}.', "2024-01-15T10:00:00Z")
    repo.tag("v1.3", annotated_at="2024-01-16T10:00:00Z")
    c["c4"] = repo.commit("after", "2024-01-17T10:00:00Z")
    repo.tag("v2.0")
    repo.tag("2.0")
    repo.tag("release-candidate")
    tree = repo.git("rev-parse", "HEAD^{tree}")
    repo.tag("v9", tree)
    return c


def rev_list(path: str, commit: str, earlier: list[str]) -> list[str]:
    stdin = commit + "\n" + "".join(f"^{e}\n" for e in earlier)
    out = subprocess.run(
        ["git", "-C", path, "rev-list", "--no-merges", "--stdin"],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def imported(path: str, **kwargs) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    result = import_git(path, **kwargs)
    return result.logs.changes, result.logs.deployments, result.logs.incidents, result.report.to_dict()


# ---------------------------------------------------------------------------------------------
# Deployments from tags


def test_tags_matching_the_default_globs_are_deployments_ordered_by_time_then_name(history):
    _, deployments, _, report = imported(history["path"])
    assert deployments["deploy_id"].tolist() == ["v1.0", "v1.0.1", "v1.1", "v1.2", "v1.3", "2.0", "v2.0"]
    skipped = {(s["what"], s["reason"]): s["examples"] for s in report["skipped"]}
    assert skipped[("tag", "name matches none of v[0-9]*, [0-9]*")] == ["release-candidate"]
    assert skipped[("tag", "does not point at a commit (a tag of a tree or a blob)")] == ["v9"]


def test_annotated_tags_take_the_tagger_date_lightweight_the_committer_date(history):
    _, deployments, _, _ = imported(history["path"])
    times = dict(zip(deployments["deploy_id"], deployments["time_created"], strict=True))
    assert times["v1.0"] == utc(
        "2024-01-02T08:00:00"
    )  # committer date of c2 (+02:00 → UTC), not its author date
    assert times["v1.0.1"] == utc("2024-01-07T10:00:00")  # tagger date, not x1's commit date (Jan 5)
    assert times["v1.1"] == utc("2024-01-08T10:00:00")
    assert times["v1.2"] == utc("2024-01-13T10:00:00")
    assert times["2.0"] == times["v2.0"] == utc("2024-01-17T10:00:00")


def test_change_ids_are_exactly_what_git_rev_list_prints_against_every_earlier_deployment(history):
    _, deployments, _, _ = imported(history["path"])
    commits = deployments["commit"].tolist()
    for position, row in enumerate(deployments.itertuples()):
        assert row.change_ids.split() == rev_list(history["path"], row.commit, commits[:position]), (
            row.deploy_id
        )


def test_what_each_deployment_ships_on_this_history(history):
    _, deployments, _, _ = imported(history["path"])
    ships = {
        d: set(ids.split())
        for d, ids in zip(deployments["deploy_id"], deployments["change_ids"], strict=True)
    }
    h = history
    assert ships["v1.0"] == {h["c1"], h["c2"]}
    assert ships["v1.0.1"] == {h["x1"]}  # the maintenance branch
    assert ships["v1.1"] == {h["f1"], h["f2"]}  # the merge commit m1 is not a change
    assert ships["v1.2"] == {h["c3"]}  # x1 came in through m2 but v1.0.1 shipped it first
    assert ships["v1.3"] == {h["r1"]}
    assert ships["2.0"] == {h["c4"]} and ships["v2.0"] == set()  # same commit: the later name ships nothing


def test_changes_are_the_shipped_non_merge_commits_at_their_author_date(history):
    changes, deployments, _, report = imported(history["path"])
    h = history
    expected = {h[k] for k in ("c1", "c2", "f1", "f2", "x1", "c3", "r1", "c4")}
    assert set(changes["change_id"]) == expected
    assert set(" ".join(deployments["change_ids"]).split()) == expected
    created = dict(zip(changes["change_id"], changes["time_created"], strict=True))
    assert created[h["c2"]] == utc("2023-12-20T09:00:00")  # author date
    merges = [s for s in report["skipped"] if s["what"] == "commit"]
    assert merges[0]["count"] == 2


def test_tags_option_chooses_other_tags(history):
    _, deployments, _, _ = imported(history["path"], tags=["release-*"])
    assert deployments["deploy_id"].tolist() == ["release-candidate"]
    assert len(deployments["change_ids"][0].split()) == 8


def test_a_bare_repository_imports_the_same(history, tmp_path):
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", history["path"], str(bare)], check=True)
    a, b = import_git(history["path"]).logs, import_git(bare).logs
    for kind in ("changes", "deployments"):
        pd.testing.assert_frame_equal(a.frames()[kind], b.frames()[kind])


def test_a_shallow_clone_imports_what_it_holds(history, tmp_path):
    shallow = tmp_path / "shallow"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "2",
            "--no-single-branch",
            f"file://{history['path']}",
            str(shallow),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["git", "-C", str(shallow), "fetch", "-q", "--depth", "2", "origin", "+refs/tags/*:refs/tags/*"],
        check=True,
        capture_output=True,
    )
    changes, deployments, _, _ = imported(str(shallow))
    assert "v2.0" in set(deployments["deploy_id"])
    assert set(changes["change_id"]) <= {history[k] for k in ("c1", "c2", "f1", "f2", "x1", "c3", "r1", "c4")}


# ---------------------------------------------------------------------------------------------
# Deployments from a branch


def test_branch_deploys_every_first_parent_commit_at_its_committer_date(history):
    changes, deployments, _, _ = imported(history["path"], branch="main")
    h = history
    first_parent = [h[k] for k in ("c1", "c2", "m1", "m2", "c3", "r1", "c4")]
    assert deployments["deploy_id"].tolist() == first_parent
    assert deployments["time_created"].iloc[2] == utc("2024-01-06T10:00:00")
    ships = dict(zip(deployments["deploy_id"], deployments["change_ids"], strict=True))
    assert set(ships[h["m1"]].split()) == {h["f1"], h["f2"]}
    assert set(ships[h["m2"]].split()) == {h["x1"]}
    assert ships[h["c1"]] == h["c1"]
    for position, row in enumerate(deployments.itertuples()):
        assert row.change_ids.split() == rev_list(h["path"], row.deploy_id, first_parent[:position])
    assert len(changes) == 8


def test_unknown_branch_is_one_line(history):
    with pytest.raises(InputError, match="no branch named 'nope'"):
        import_git(history["path"], branch="nope")


# ---------------------------------------------------------------------------------------------
# Reverts


def test_a_revert_opens_an_incident_on_the_deployment_that_shipped_the_reverted_commit(history):
    _, _, incidents, _ = imported(history["path"], reverts=True)
    assert len(incidents) == 1
    row = incidents.iloc[0]
    assert row["incident_id"] == history["r1"]
    assert row["deploy_id"] == "v1.2"
    assert row["time_created"] == utc("2024-01-15T10:00:00")  # the revert's author date
    assert row["time_resolved"] == utc("2024-01-16T10:00:00")  # v1.3 ships the revert
    assert row["root_cause"] == history["c3"]


def test_without_reverts_incidents_has_its_header_and_no_rows(history, tmp_path):
    code = main(["import", "git", history["path"], "--out", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "incidents.csv").read_text().splitlines() == [
        "incident_id,time_created,time_resolved,deploy_id,root_cause,source"
    ]


def test_an_unreleased_revert_opens_an_incident_still_open_and_only_full_shas_count(tmp_path):
    repo = Repo(tmp_path / "r")
    bad = repo.commit("bad", "2024-02-01T00:00:00Z")
    repo.tag("v1")
    repo.commit(f"Revert\n\nThis reverts commit {bad}.", "2024-02-02T00:00:00Z")
    repo.commit(f"Revert again\n\nThis reverts commit {bad[:10]}.", "2024-02-03T00:00:00Z")
    _, _, incidents, report = imported(str(repo.path), reverts=True)
    # the revert is unreleased work on main: production still runs the bad commit
    assert incidents["deploy_id"].tolist() == ["v1"]
    assert incidents["time_resolved"].isna().all()
    reasons = {s["reason"]: s["count"] for s in report["skipped"] if s["what"] == "revert"}
    assert reasons == {"mentions a revert, not in git's own words (This reverts commit <full SHA>.)": 1}
    _, _, incidents, _ = imported(str(repo.path), branch="main", reverts=True)
    assert incidents["deploy_id"].tolist() == [bad]
    assert incidents["time_resolved"].tolist() == [utc("2024-02-02")]  # the revert's own deployment


def test_a_revert_shipped_after_until_still_resolves_the_incident(tmp_path):
    repo = Repo(tmp_path / "r")
    bad = repo.commit("bad", "2024-02-01T00:00:00Z")
    repo.tag("v1")
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit(f"Revert\n\nThis reverts commit {bad}.", "2024-02-02T00:00:00Z")
    repo.git("checkout", "-q", "main")
    # the revert sits on an undeployed branch; --branch topic deploys only topic's first-parent history
    _, deployments, incidents, _ = imported(
        str(repo.path), branch="topic", reverts=True, until=utc("2024-02-02")
    )
    assert deployments["deploy_id"].tolist() == [bad]
    assert incidents["deploy_id"].tolist() == [bad]
    assert incidents["time_resolved"].tolist() == [utc("2024-02-02")]


# ---------------------------------------------------------------------------------------------
# since / until


def test_since_until_keep_deployments_in_the_half_open_range_and_what_they_ship(history):
    changes, deployments, incidents, report = imported(
        history["path"], since=utc("2024-01-08T10:00:00"), until=utc("2024-01-16T10:00:00"), reverts=True
    )
    assert deployments["deploy_id"].tolist() == ["v1.1", "v1.2"]  # v1.3 at exactly `until` is out
    # r1 (Jan 15) was waiting at `until`: written, listed by no deployment
    assert set(changes["change_id"]) == {history[k] for k in ("f1", "f2", "c3", "r1")}
    assert set(" ".join(deployments["change_ids"]).split()) == {history[k] for k in ("f1", "f2", "c3")}
    assert incidents["deploy_id"].tolist() == ["v1.2"]
    # the revert's deployment (v1.3) is outside the range, but it still says when service was restored
    assert incidents["time_resolved"].tolist() == [utc("2024-01-16T10:00")]
    out = {s["reason"]: s["count"] for s in report["skipped"] if s["what"] == "deployment"}
    assert out == {"created outside [since, until)": 5}


# ---------------------------------------------------------------------------------------------
# The command: files, report, score, errors


def test_command_writes_logs_score_accepts_and_a_report(history, tmp_path):
    out = tmp_path / "out"
    assert main(["import", "git", history["path"], "--out", str(out), "--reverts"]) == 0
    logs = read_logs(out / "changes.csv", out / "deployments.csv", out / "incidents.csv")
    result = score_logs(logs)
    assert result["counts"]["deployments"] == 7
    assert result["metrics"]["change_failure_rate"] == pytest.approx(1 / 7)
    report = json.loads((out / "import_report.json").read_text())
    assert report["read"]["commits"] == 10 and report["written"] == {
        "changes": 8,
        "deployments": 7,
        "incidents": 1,
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["/no/such/repo"], "/no/such/repo: no such directory"),
        (["{tmp}"], "not a git repository"),
        (["{repo}", "--tags", "nothing-*"], "no tag matches nothing-*"),
        (["{repo}", "--branch", "nope"], "no branch named 'nope'"),
        (["{repo}", "--since", "yesterday"], "--since: 'yesterday' is not an ISO 8601 date"),
        (["{repo}", "--since", "2024-02-01", "--until", "2024-01-01"], "must be after --since"),
        (
            ["{repo}", "--incidents", "{tmp}/none.json", "--incident-format", "pagerduty"],
            "none.json: no such file",
        ),
        (["{repo}", "--incidents", "{tmp}/x.csv"], "--incident-format"),
    ],
)
def test_bad_input_is_exit_2_and_one_line(history, tmp_path, capsys, args, message):
    argv = [a.format(repo=history["path"], tmp=tmp_path) for a in args]
    code = main(["import", "git", *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_an_empty_repository_has_no_tags_and_no_branch(tmp_path, capsys):
    Repo(tmp_path / "empty")
    assert main(["import", "git", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no tag matches" in capsys.readouterr().err
    assert (
        main(["import", "git", str(tmp_path / "empty"), "--branch", "main", "--out", str(tmp_path / "o")])
        == 2
    )
