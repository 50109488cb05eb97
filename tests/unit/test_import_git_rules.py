"""``import git``: which tags are releases, unreleased work, reverts caught before release, reverted
merges, ``--branch`` ties and several repositories as one organisation (docs/import.md, "git")."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from sim.cli import main
from sim.errors import InputError
from sim.importers.git import import_git, import_repositories
from sim.importers.gitgraph import introduced_by_merge, read_graph
from sim.importers.gitproc import Git
from sim.importers.versions import NOT_A_VERSION, PRE_RELEASE, release_skip_reason
from sim.metrics.logs import read_logs
from sim.metrics.scoring import score_logs
from sim.metrics.teams import score_by_team
from tests.unit.git_repos import Repo, utc

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def read_out(out) -> object:
    return read_logs(out / "changes.csv", out / "deployments.csv", out / "incidents.csv")


# ---------------------------------------------------------------------------------------------
# Which tags are releases


@pytest.mark.parametrize(
    "name, reason",
    [
        ("1.0", None),
        ("v2.3.4", None),
        ("2024.05.1", None),
        ("1.0.post1", None),
        ("v1.0-post2", None),
        ("1.0.0+build.7", None),
        ("v10", None),
        ("8.0.0rc1", PRE_RELEASE),
        ("1.2.dev0", PRE_RELEASE),
        ("2.0.0b3", PRE_RELEASE),
        ("v2.0a1", PRE_RELEASE),
        ("1.0.0-rc.1", PRE_RELEASE),
        ("2.0-beta", PRE_RELEASE),
        ("1.0.post1.dev0", PRE_RELEASE),
        ("19.3b0", PRE_RELEASE),
        ("1.0.0RC1", PRE_RELEASE),
        ("1.x", NOT_A_VERSION),
        ("8.0.x", NOT_A_VERSION),
        ("v", NOT_A_VERSION),
        ("1.0..2", NOT_A_VERSION),
    ],
)
def test_release_version_rule(name, reason):
    assert release_skip_reason(name) == reason


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> dict[str, str]:
    """main: a (v1.0) ─ b (1.1rc1) ─ c (v1.1, 1.x) ─ d (v1.1.post1) ─ e ─ m (merges f1, f2) ─ g, unreleased."""
    repo = Repo(tmp_path_factory.mktemp("released") / "r")
    c = {"path": str(repo.path)}
    c["a"] = repo.commit("a", "2024-03-01T00:00:00Z")
    repo.tag("v1.0")
    c["b"] = repo.commit("b", "2024-03-02T00:00:00Z")
    repo.tag("1.1rc1")
    c["c"] = repo.commit("c", "2024-03-03T00:00:00Z")
    repo.tag("v1.1")
    repo.tag("1.x")
    c["d"] = repo.commit("d", "2024-03-04T00:00:00Z")
    repo.tag("v1.1.post1")
    c["e"] = repo.commit("e", "2024-03-05T00:00:00Z")
    repo.git("checkout", "-q", "-b", "topic")
    c["f1"] = repo.commit("f1", "2024-03-06T00:00:00Z")
    c["f2"] = repo.commit("f2", "2024-03-07T00:00:00Z")
    repo.git("checkout", "-q", "main")
    c["m"] = repo.merge("topic", "2024-03-08T00:00:00Z")
    c["g"] = repo.commit("g", "2024-03-09T00:00:00Z")
    return c


def test_default_tags_skip_pre_releases_and_non_versions_and_count_them(released):
    result = import_git(released["path"])
    deployments = result.logs.deployments
    assert deployments["deploy_id"].tolist() == ["v1.0", "v1.1", "v1.1.post1"]
    ships = dict(zip(deployments["deploy_id"], deployments["change_ids"], strict=True))
    assert set(ships["v1.1"].split()) == {released["b"], released["c"]}  # the pre-release's commit ships here
    report = result.report.to_dict()
    skips = {(s["what"], s["reason"]): s for s in report["skipped"]}
    assert skips[("tag", PRE_RELEASE)]["examples"] == ["1.1rc1"]
    assert skips[("tag", NOT_A_VERSION)]["examples"] == ["1.x"]


def test_explicit_tags_take_what_they_match_and_exclude_drops_more(released):
    tags = import_git(released["path"], tags=["*"]).logs.deployments["deploy_id"].tolist()
    assert tags == ["v1.0", "1.1rc1", "1.x", "v1.1", "v1.1.post1"]
    result = import_git(released["path"], exclude=["*.post*", "v1.0"])
    assert result.logs.deployments["deploy_id"].tolist() == ["v1.1"]
    reasons = {s["reason"]: s["count"] for s in result.report.to_dict()["skipped"] if s["what"] == "tag"}
    assert reasons["excluded by --exclude *.post*"] == 1 and reasons["excluded by --exclude v1.0"] == 1


def test_exclude_with_branch_is_one_line(released):
    with pytest.raises(InputError, match="--exclude drops tags"):
        import_git(released["path"], branch="main", exclude=["x"])


# ---------------------------------------------------------------------------------------------
# Unreleased work


def test_unreleased_commits_on_the_default_branch_are_written_undeployed(released):
    logs = import_git(released["path"]).logs
    listed = set(" ".join(logs.deployments["change_ids"]).split())
    waiting = set(logs.changes["change_id"]) - listed
    assert waiting == {released[k] for k in ("e", "f1", "f2", "g")}  # the merge m is not a change
    result = score_logs(logs, start=utc("2024-03-01"), end=utc("2024-03-10"))
    assert result["counts"]["undeployed_changes"] == 4


def test_with_until_a_change_shipped_later_was_waiting_at_until(released):
    logs = import_git(released["path"], until=utc("2024-03-03T12:00")).logs
    assert logs.deployments["deploy_id"].tolist() == ["v1.0", "v1.1"]
    # d (created Mar 4) is after until: not written; nothing shipped at or after until is listed
    assert set(logs.changes["change_id"]) == {released[k] for k in ("a", "b", "c")}
    logs = import_git(released["path"], until=utc("2024-03-04T12:00"), since=utc("2024-03-02")).logs
    assert logs.deployments["deploy_id"].tolist() == ["v1.1", "v1.1.post1"]
    assert set(logs.changes["change_id"]) == {released[k] for k in ("b", "c", "d")}


# ---------------------------------------------------------------------------------------------
# Reverts: caught before release, and reverted merges


def test_a_revert_authored_before_the_release_opens_no_incident(tmp_path):
    repo = Repo(tmp_path / "r")
    repo.commit("base", "2024-04-01T00:00:00Z")
    repo.tag("v1.0")
    bad = repo.commit("bad", "2024-04-02T00:00:00Z")
    repo.commit(f'Revert "bad"\n\nThis reverts commit {bad}.', "2024-04-03T00:00:00Z")
    repo.tag("v1.1")  # bad and its revert ship together: production never saw bad
    late = repo.commit("late bad", "2024-04-04T00:00:00Z")
    repo.tag("v1.2")
    repo.commit(f'Revert "late bad"\n\nThis reverts commit {late}.', "2024-04-05T00:00:00Z")
    repo.tag("v1.3")
    result = import_git(repo.path, reverts=True)
    assert result.logs.incidents["deploy_id"].tolist() == ["v1.2"]
    links = result.report.to_dict()["incident_links"]["reverts"]
    assert links["incidents"] == 1 and links["caught_before_release"] == 1


def test_a_reverted_merge_names_the_first_change_it_brought_in(tmp_path):
    repo = Repo(tmp_path / "r")
    repo.commit("base", "2024-05-01T00:00:00Z")
    repo.tag("v1.0")
    repo.git("checkout", "-q", "-b", "feature")
    first = repo.commit("feature one", "2024-05-02T00:00:00Z")
    repo.commit("feature two", "2024-05-03T00:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.commit("meanwhile on main", "2024-05-04T00:00:00Z")
    merge = repo.merge("feature", "2024-05-05T00:00:00Z")
    repo.tag("v1.1")
    repo.git("revert", "-m", "1", "--no-edit", merge, date="2024-05-06T00:00:00Z")
    repo.tag("v1.2")
    incidents = import_git(repo.path, reverts=True).logs.incidents
    assert incidents["deploy_id"].tolist() == ["v1.1"]
    assert incidents["root_cause"].tolist() == [first]


def rev_list(path, *args: str) -> list[str]:
    return subprocess.run(
        ["git", "-C", str(path), "rev-list", *args], capture_output=True, text=True, check=True
    ).stdout.split()


def test_introduced_by_merge_is_what_git_rev_list_first_parent_dot_dot_merge_prints(tmp_path):
    """Criss-cross history: two merges of the same branches, a branch merged twice."""
    repo = Repo(tmp_path / "r")
    repo.commit("root", "2024-06-01T00:00:00Z")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("s1", "2024-06-02T00:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.commit("m1", "2024-06-03T00:00:00Z")
    repo.merge("side", "2024-06-04T00:00:00Z")
    repo.git("checkout", "-q", "side")
    repo.merge("main", "2024-06-05T00:00:00Z")
    repo.commit("s2", "2024-06-06T00:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.commit("m2", "2024-06-07T00:00:00Z")
    repo.merge("side", "2024-06-08T00:00:00Z")
    with Git(repo.path) as git:
        graph = read_graph(git, [repo.git("rev-parse", "HEAD")])
    merges = [i for i in range(len(graph.shas)) if graph.is_merge(i)]
    assert len(merges) == 3
    for merge in merges:
        sha = graph.shas[merge]
        expected = set(rev_list(repo.path, f"{sha}^1..{sha}")) - {sha}
        assert {graph.shas[c] for c in introduced_by_merge(graph, merge)} == expected


# ---------------------------------------------------------------------------------------------
# --branch: ties in first-parent order, and a warning


def test_commits_of_one_second_keep_first_parent_order_and_the_import_warns(tmp_path, capsys):
    repo = Repo(tmp_path / "r")
    shas = [repo.commit(f"c{i}", "2024-07-01T00:00:00Z") for i in range(6)]  # one committer second
    out = tmp_path / "out"
    assert main(["import", "git", str(repo.path), "--branch", "main", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: --branch main: every commit on main counts as a deployment" in err
    logs = read_out(out)
    assert logs.deployments["deploy_id"].tolist() == shas
    assert logs.deployments["change_ids"].tolist() == shas  # no empty deployment
    report = json.loads((out / "import_report.json").read_text())
    assert "commit → main, not commit → production" in report["settings"]["warnings"][0]


# ---------------------------------------------------------------------------------------------
# Several repositories, one organisation


@pytest.fixture
def two_repos(tmp_path) -> tuple[Repo, Repo]:
    web, api = Repo(tmp_path / "web"), Repo(tmp_path / "api")
    for repo, day in ((web, 1), (api, 2)):
        bad = repo.commit("x", f"2024-08-0{day}T00:00:00Z")
        repo.tag("v1.0")
        repo.commit(f"Revert\n\nThis reverts commit {bad}.", f"2024-08-0{day + 2}T00:00:00Z")
        repo.tag("v1.1")
    return web, api


def test_team_per_repo_writes_the_team_column_and_keeps_ids_unique(two_repos, tmp_path):
    web, api = two_repos
    out = tmp_path / "out"
    assert (
        main(
            ["import", "git", str(web.path), str(api.path), "--team-per-repo", "--reverts", "--out", str(out)]
        )
        == 0
    )
    logs = read_out(out)
    for frame in logs.frames().values():
        assert set(frame["team"]) == {"web", "api"}
    assert sorted(logs.deployments["deploy_id"]) == ["api:v1.0", "api:v1.1", "web:v1.0", "web:v1.1"]
    assert all(cid.startswith(("web:", "api:")) for cid in logs.changes["change_id"])
    assert set(logs.incidents["deploy_id"]) == {"web:v1.0", "api:v1.0"}
    result = score_by_team(logs)
    assert [t["team"] for t in result["teams"]] == ["api", "web"]
    assert all(t["counts"]["deployments"] == 2 for t in result["teams"])
    report = json.loads((out / "import_report.json").read_text())
    assert [r["team"] for r in report["settings"]["repositories"]] == ["web", "api"]


def test_team_names_per_repository(two_repos):
    web, api = two_repos
    logs = import_repositories([str(web.path), str(api.path)], teams=["front", "back"]).logs
    assert set(logs.deployments["team"]) == {"front", "back"}


@pytest.mark.parametrize(
    "teams, per_repo, message",
    [
        (None, False, "2 repositories: name their teams"),
        (["one"], False, "give one per repository"),
        (["same", "same"], False, "would both be team 'same'"),
        (["bad name", "ok"], False, "1 to 64 printable characters"),
        (["a:b", "ok"], False, "1 to 64 printable characters"),
    ],
)
def test_team_mistakes_are_one_line(two_repos, teams, per_repo, message):
    web, api = two_repos
    with pytest.raises(InputError, match=message):
        import_repositories([str(web.path), str(api.path)], teams=teams, team_per_repo=per_repo)


def test_two_folders_with_one_name_need_team_names(tmp_path):
    a, b = Repo(tmp_path / "x" / "repo"), Repo(tmp_path / "y" / "repo")
    with pytest.raises(InputError, match="would both be team 'repo'"):
        import_repositories([str(a.path), str(b.path)], team_per_repo=True)


# ---------------------------------------------------------------------------------------------
# The import window, and score's warning


@pytest.mark.parametrize(
    "window, warns",
    [
        (("2024-03-02", "2024-03-04"), False),  # inside what the import kept
        (("2024-03-01", "2024-03-04"), True),  # starts before --since
        (("2024-03-02", "2024-03-10"), True),  # ends after --until
    ],
)
def test_score_warns_when_the_scored_window_is_wider_than_the_import(
    released, tmp_path, capsys, window, warns
):
    out = tmp_path / "out"
    assert (
        main(
            [
                "import",
                "git",
                released["path"],
                "--since",
                "2024-03-02",
                "--until",
                "2024-03-04T12:00",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "import_report.json").read_text())
    assert (report["settings"]["since"], report["settings"]["until"]) == (
        "2024-03-02T00:00:00+00:00",
        "2024-03-04T12:00:00+00:00",
    )
    capsys.readouterr()
    files = [f"--{k}={out / f'{k}.csv'}" for k in ("changes", "deployments", "incidents")]
    assert main(["score", *files, "--start", window[0], "--end", window[1], "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any("narrower window than the one scored" in w for w in warnings) == warns


def test_a_broken_import_report_gives_no_warning_and_no_error(released, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["import", "git", released["path"], "--since", "2024-03-02", "--out", str(out)]) == 0
    (out / "import_report.json").write_text('{"settings": {"since": "not a date"')
    files = [f"--{k}={out / f'{k}.csv'}" for k in ("changes", "deployments", "incidents")]
    assert main(["score", *files, "--start", "2024-01-01", "--end", "2024-04-01"]) == 0


def test_incidents_from_a_file_take_the_team_of_their_deployment(two_repos, tmp_path):
    web, api = two_repos
    export = tmp_path / "incidents.csv"
    export.write_text(
        "incident_id,time_created,time_resolved,deploy_id\n"
        "P1,2024-08-05T00:00:00Z,2024-08-05T02:00:00Z,api:v1.1\n"
        "P2,2024-08-06T00:00:00Z,,\n"
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "import",
                "git",
                str(web.path),
                str(api.path),
                "--team-per-repo",
                "--incidents",
                str(export),
                "--incident-format",
                "csv",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    incidents = read_out(out).incidents.set_index("incident_id")
    assert incidents.loc["P1", "team"] == "api"
    # linked by DevLake's rule to the last deployment before it: api:v1.1 (Aug 4) or web:v1.1 (Aug 3)
    assert incidents.loc["P2", "team"] == incidents.loc["P2", "deploy_id"].split(":")[0]
