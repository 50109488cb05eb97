"""Several GitHub/GitLab projects imported as the teams of one organisation (``--from``/``--repo`` repeated
with ``--team-per-repo`` or ``--team NAME``): each team's rows are what that project gives alone, written
``TEAM:id``; one project keeps its output unchanged; mistakes are one line and write nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pandas as pd
import pytest

from sim.analysis.ci_facts import read_ci_runs
from sim.cli import main
from sim.importers.files import FolderSource
from sim.importers.github import import_github
from sim.importers.teams import commit_teams, label_logs, pool_logs
from sim.metrics.logs import EventLogs, make_logs, read_logs
from tests.unit.git_repos import Repo
from tests.unit.hostile_server import HostileServer, Seen, json_answer

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
TOKEN = "t0ken-org"
ID_COLUMNS = {
    "changes": ["change_id"],
    "deployments": ["deploy_id", "change_ids"],
    "incidents": ["incident_id", "deploy_id", "root_cause"],
}


def project(tmp_path: Path, name: str, *kinds: str) -> Path:
    """A saved project folder named ``name`` made of the fixture folders ``kinds`` laid over each other."""
    target = tmp_path / "saved" / name
    for kind in kinds:
        shutil.copytree(DATA / kind, target, dirs_exist_ok=True)
    return target


def read_out(out: Path) -> EventLogs:
    return read_logs(out / "changes.csv", out / "deployments.csv", out / "incidents.csv")


def run_cli(capsys: Any, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def unlabelled(logs: EventLogs, team: str) -> dict[str, pd.DataFrame]:
    """The team's rows with ``TEAM:`` taken off every id and the team column dropped."""
    out = {}
    for kind, frame in logs.frames().items():
        rows = frame[frame["team"] == team].drop(columns="team").reset_index(drop=True)
        for column in ID_COLUMNS[kind]:
            if column == "change_ids":
                rows[column] = rows[column].map(
                    lambda cell: " ".join(c.removeprefix(f"{team}:") for c in cell.split())
                )
            elif column in rows.columns:
                assert rows[column].fillna("").map(lambda v: v == "" or v.startswith(f"{team}:")).all(), (
                    column
                )
                rows[column] = rows[column].fillna("").str.removeprefix(f"{team}:")
        out[kind] = rows
    return out


def alone(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    for column in ID_COLUMNS[kind]:
        if column in out.columns and column != "change_ids":
            out[column] = out[column].fillna("")
    return out


def by_id(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    return frame.sort_values(ID_COLUMNS[kind][0]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Saved folders


@pytest.mark.parametrize(
    "kind, folders",
    [
        ("github", (("web", ("github", "github_ci")), ("shop", ("github_releases",)))),
        ("gitlab", (("web", ("gitlab", "gitlab_ci")), ("shop", ("gitlab_releases",)))),
    ],
)
def test_each_team_is_what_its_project_gives_alone(tmp_path, kind, folders):
    paths = [project(tmp_path, name, *kinds) for name, kinds in folders]
    out = tmp_path / "org"
    assert (
        main(
            [
                "import",
                kind,
                *[a for p in paths for a in ("--from", str(p))],
                "--team-per-repo",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    pooled = read_out(out)
    for frame in pooled.frames().values():
        assert set(frame["team"]) == {"web", "shop"}
    reports = []
    for (name, _), path in zip(folders, paths, strict=True):
        single = tmp_path / f"alone-{name}"
        assert main(["import", kind, "--from", str(path), "--out", str(single)]) == 0
        reports.append(json.loads((single / "import_report.json").read_text()))
        own = read_out(single)
        mine = unlabelled(pooled, name)
        for kind_of_log, frame in own.frames().items():
            pd.testing.assert_frame_equal(
                by_id(mine[kind_of_log], kind_of_log),
                by_id(alone(frame, kind_of_log), kind_of_log),
                check_dtype=False,
            )
    report = json.loads((out / "import_report.json").read_text())
    assert [r["team"] for r in report["settings"]["repositories"]] == ["web", "shop"]
    assert [r["from"] for r in report["settings"]["repositories"]] == [str(p) for p in paths]
    for what in set(reports[0]["read"]) | set(reports[1]["read"]):
        assert report["read"][what] == sum(r["read"].get(what, 0) for r in reports)
    assert sum(s["count"] for s in report["skipped"]) == sum(
        s["count"] for r in reports for s in r["skipped"]
    )
    assert report["written"]["deployments"] == sum(r["written"]["deployments"] for r in reports)
    examples = [e for s in report["skipped"] for e in s["examples"]]
    assert examples and all(e.startswith(("web:", "shop:")) for e in examples)


def test_team_names_given_per_project_are_scored_per_team(tmp_path, capsys):
    web, shop = project(tmp_path, "a", "gitlab"), project(tmp_path, "b", "gitlab_releases")
    out = tmp_path / "org"
    assert (
        main(
            [
                "import",
                "gitlab",
                "--from",
                str(web),
                "--from",
                str(shop),
                "--team",
                "front",
                "--team",
                "back",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    logs = read_out(out)
    assert set(logs.deployments["deploy_id"].str.partition(":")[0]) == {"front", "back"}
    capsys.readouterr()
    assert (
        main(
            [
                "score",
                "--changes",
                str(out / "changes.csv"),
                "--deployments",
                str(out / "deployments.csv"),
                "--incidents",
                str(out / "incidents.csv"),
                "--by",
                "team",
                "--json",
            ]
        )
        == 0
    )
    teams = {t["team"]: t["counts"]["deployments"] for t in json.loads(capsys.readouterr().out)["teams"]}
    assert teams == dict(logs.deployments.groupby("team").size())


def test_one_project_keeps_todays_output(tmp_path):
    saved = project(tmp_path, "web", "github", "github_ci")
    out = tmp_path / "out"
    assert main(["import", "github", "--from", str(saved), "--out", str(out)]) == 0
    logs = read_out(out)
    for kind, frame in logs.frames().items():
        assert "team" not in frame.columns
        assert not frame[ID_COLUMNS[kind][0]].str.contains(":").any()
    assert "team" not in pd.read_csv(out / "ci_runs.csv").columns
    report = json.loads((out / "import_report.json").read_text())
    assert "repositories" not in report["settings"] and report["settings"]["from"] == str(saved)
    named = tmp_path / "named"  # one project with --team: a team all the same, as for git
    assert main(["import", "github", "--from", str(saved), "--team", "web", "--out", str(named)]) == 0
    assert set(read_out(named).deployments["team"]) == {"web"}


def test_a_saved_zip_is_a_team_named_without_zip(tmp_path):
    web = project(tmp_path, "web", "github")
    archive = shutil.make_archive(
        str(tmp_path / "shop"), "zip", root_dir=project(tmp_path, "x", "github_releases")
    )
    out = tmp_path / "org"
    assert (
        main(
            ["import", "github", "--from", str(web), "--from", archive, "--team-per-repo", "--out", str(out)]
        )
        == 0
    )
    assert set(read_out(out).deployments["team"]) == {"web", "shop"}


def test_ci_runs_carry_the_team_and_stay_unique(tmp_path):
    a, b = project(tmp_path, "web", "github", "github_ci"), project(tmp_path, "api", "github", "github_ci")
    out = tmp_path / "org"
    assert (
        main(["import", "github", "--from", str(a), "--from", str(b), "--team-per-repo", "--out", str(out)])
        == 0
    )
    single = tmp_path / "alone"
    assert main(["import", "github", "--from", str(a), "--out", str(single)]) == 0
    runs, own = read_ci_runs(out / "ci_runs.csv"), read_ci_runs(single / "ci_runs.csv")
    assert len(runs) == 2 * len(own)  # the same run ids in both projects stay two runs each
    for team in ("web", "api"):
        mine = runs[runs["team"] == team].drop(columns="team")
        assert mine["run_id"].str.startswith(f"{team}:").all()
        mine = mine.assign(run_id=mine["run_id"].str.removeprefix(f"{team}:"))
        pd.testing.assert_frame_equal(
            mine.sort_values("run_id").reset_index(drop=True),
            own.sort_values("run_id").reset_index(drop=True),
        )


def test_a_commit_belongs_to_the_one_team_that_has_it():
    changes = [
        {"change_id": f"{t}:{c}", "time_created": "2024-03-01T00:00:00Z", "team": t}
        for t, c in (("web", "aa"), ("api", "bb"), ("web", "cc"), ("api", "cc"))
    ]
    deployments = [
        {
            "deploy_id": "api:v1",
            "time_created": "2024-03-02T00:00:00Z",
            "change_ids": "api:bb",
            "commit": "DD",
            "team": "api",
        }
    ]
    logs = make_logs(changes, deployments, [])
    assert commit_teams(logs) == {"aa": "web", "bb": "api", "dd": "api"}  # cc is in both: nobody's


def test_labelling_is_undone_by_taking_the_prefix_off():
    logs, _ = import_github(FolderSource(DATA / "github"))
    pooled = pool_logs([label_logs(logs, "x"), label_logs(logs, "y")])
    assert len(pooled.changes) == 2 * len(logs.changes)
    for kind, frame in logs.frames().items():
        mine = unlabelled(pooled, "y")[kind]
        pd.testing.assert_frame_equal(by_id(mine, kind), by_id(alone(frame, kind), kind), check_dtype=False)


def test_an_incident_export_links_to_the_pooled_deployments_and_their_teams(tmp_path):
    web, shop = project(tmp_path, "web", "github"), project(tmp_path, "shop", "github_releases")
    export = tmp_path / "incidents.csv"
    export.write_text(
        "Ticket,Opened,Closed,Deploy\nINC-1,2024-03-04T13:00:00Z,2024-03-04T15:00:00Z,web:104\n"
        "INC-2,2024-03-06T09:30:00Z,,shop:v1.2.0\n"
    )
    out = tmp_path / "org"
    assert (
        main(
            [
                "import",
                "github",
                "--from",
                str(web),
                "--from",
                str(shop),
                "--team-per-repo",
                "--incidents",
                str(export),
                "--incident-format",
                "csv",
                "--map",
                "id=Ticket,created=Opened,resolved=Closed,deploy=Deploy",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    incidents = read_out(out).incidents.set_index("incident_id")
    assert incidents.loc["INC-1", ["deploy_id", "team"]].tolist() == ["web:104", "web"]
    assert incidents.loc["INC-2", ["deploy_id", "team"]].tolist() == ["shop:v1.2.0", "shop"]
    assert len(incidents) == 2 + len(read_out(out).incidents.query("source == 'github'"))


# ---------------------------------------------------------------------------------------------
# Mistakes: one line, exit 2, nothing written


def nothing_written(out: Path) -> bool:
    return not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "names, teams, message",
    [
        (("web", "api"), (), "2 projects: name their teams with --team-per-repo or --team NAME per project"),
        (("web", "api"), ("--team", "one"), "--team: give one per project (1 teams for 2 projects)"),
        (("web", "api"), ("--team", "same", "--team", "same"), "would both be team 'same'"),
        (
            ("web", "api"),
            ("--team", "bad name", "--team", "ok"),
            "1 to 64 printable characters without spaces or ':'",
        ),
        (("web", "api"), ("--team", "a:b", "--team", "ok"), "--team 'a:b': a team name is 1 to 64"),
        (("x/shop", "y/shop"), ("--team-per-repo",), "would both be team 'shop'"),
        (("my shop", "api"), ("--team-per-repo",), "--team-per-repo: folder name 'my shop'"),
    ],
)
def test_team_mistakes_are_one_line(tmp_path, capsys, names, teams, message):
    paths = [project(tmp_path, name, "github") for name in names]
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, "import", "github", *[a for p in paths for a in ("--from", p)], *teams, "--out", out
    )
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert nothing_written(out)


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--team", "x", "--team-per-repo"), "--team-per-repo: not allowed with argument --team"),
        (("--repo", "octo-org/api", "--team-per-repo"), "--repo: not allowed with argument --from"),
    ],
)
def test_conflicting_options_are_one_line(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:  # argparse's own refusal
        main(
            ["import", "github", "--from", str(project(tmp_path, "web", "github")), *extra, "--out", str(out)]
        )
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and message in err, err
    assert nothing_written(out)


def test_a_project_that_fails_writes_nothing(tmp_path, capsys):
    good, bad = project(tmp_path, "web", "github"), project(tmp_path, "api", "github")
    (bad / "deployments.json").write_text("[{")
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, "import", "github", "--from", good, "--from", bad, "--team-per-repo", "--out", out
    )
    assert code == 2 and err.count("\n") == 1 and "api" in err and "deployments.json" in err, err
    assert nothing_written(out)


# ---------------------------------------------------------------------------------------------
# Live: several repositories fetched, saved apart, read back the same


def replay(folders: dict[str, Path], prefix: str, fail: str | None = None):
    def route(server: HostileServer, seen: Seen) -> Any:
        if TOKEN not in (
            seen.headers.get("authorization", "").removeprefix("Bearer "),
            seen.headers.get("private-token"),
        ):
            return json_answer({"message": "Bad credentials"}, 401)
        path = unquote(seen.path.split("?")[0]).removeprefix(prefix)
        repo, _, rest = path.partition("/")
        if repo == fail or repo not in folders:
            return json_answer({"message": "Not Found"}, 404)
        file = folders[repo] / f"{rest}.json"
        if not file.is_file():
            return json_answer({"jobs": []} if rest.startswith("actions/runs/") else [])
        return json_answer(json.loads(file.read_text()))

    return route


def test_live_projects_are_saved_apart_and_read_back_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("ORG_TOKEN", TOKEN)
    folders = {
        "web": project(tmp_path, "web", "github", "github_ci"),
        "shop": project(tmp_path, "shop", "github_releases"),
    }
    live = tmp_path / "live"
    with HostileServer(replay(folders, "/repos/octo-org/")) as server:
        assert (
            main(
                [
                    "import",
                    "github",
                    "--repo",
                    "octo-org/web",
                    "--repo",
                    "octo-org/shop",
                    "--team-per-repo",
                    "--token-env",
                    "ORG_TOKEN",
                    "--api-url",
                    server.url,
                    "--ci",
                    "--out",
                    str(live),
                ]
            )
            == 0
        )
    raw = live / "raw" / "github"
    assert sorted(p.name for p in raw.iterdir()) == ["shop", "web"]
    assert (raw / "web" / "actions" / "runs.json").is_file() and (raw / "shop" / "releases.json").is_file()
    offline = tmp_path / "offline"
    assert (
        main(
            [
                "import",
                "github",
                "--from",
                str(raw / "web"),
                "--from",
                str(raw / "shop"),
                "--team-per-repo",
                "--out",
                str(offline),
            ]
        )
        == 0
    )
    for name in ("changes.csv", "deployments.csv", "incidents.csv", "ci_runs.csv"):
        assert (live / name).read_text() == (offline / name).read_text(), name
    report = json.loads((live / "import_report.json").read_text())
    assert [r["repository"] for r in report["settings"]["repositories"]] == ["octo-org/web", "octo-org/shop"]
    assert any(n.startswith("web: the API responses are saved in") for n in report["notes"])


def test_a_live_project_that_fails_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ORG_TOKEN", TOKEN)
    folders = {"web": project(tmp_path, "web", "gitlab"), "shop": project(tmp_path, "shop", "gitlab")}
    out = tmp_path / "live"
    with HostileServer(replay(folders, "/projects/group/", fail="shop")) as server:
        code, _, err = run_cli(
            capsys,
            "import",
            "gitlab",
            "--repo",
            "group/web",
            "--repo",
            "group/shop",
            "--team",
            "web",
            "--team",
            "shop",
            "--token-env",
            "ORG_TOKEN",
            "--api-url",
            server.url,
            "--out",
            out,
        )
    assert code == 2 and err.count("\n") == 1 and "404" in err and "group%2Fshop" in err, err
    assert TOKEN not in err and nothing_written(out)


def test_live_gitlab_projects_in_a_subgroup_are_named_after_their_last_part(tmp_path, monkeypatch):
    monkeypatch.setenv("ORG_TOKEN", TOKEN)
    folders = {
        "web": project(tmp_path, "web", "gitlab", "gitlab_ci"),
        "shop": project(tmp_path, "shop", "gitlab"),
    }
    live = tmp_path / "live"
    with HostileServer(replay(folders, "/projects/group/sub/")) as server:
        assert (
            main(
                [
                    "import",
                    "gitlab",
                    "--repo",
                    "group/sub/web",
                    "--repo",
                    "group/sub/shop",
                    "--team-per-repo",
                    "--token-env",
                    "ORG_TOKEN",
                    "--api-url",
                    server.url,
                    "--ci",
                    "--out",
                    str(live),
                ]
            )
            == 0
        )
    logs = read_out(live)
    assert set(logs.deployments["team"]) == {"web", "shop"}
    raw = live / "raw" / "gitlab"
    offline = tmp_path / "offline"
    assert (
        main(
            [
                "import",
                "gitlab",
                "--from",
                str(raw / "web"),
                "--from",
                str(raw / "shop"),
                "--team-per-repo",
                "--out",
                str(offline),
            ]
        )
        == 0
    )
    for name in ("changes.csv", "deployments.csv", "incidents.csv", "ci_runs.csv"):
        assert (live / name).read_text() == (offline / name).read_text(), name


def test_git_repositories_ci_runs_from_a_csv_take_the_team_of_their_commit(tmp_path):
    web, api = Repo(tmp_path / "web"), Repo(tmp_path / "api")
    shas = {}
    for repo, day in ((web, 1), (api, 2)):
        shas[repo.path.name] = repo.commit("work", f"2024-08-0{day}T00:00:00Z")
        repo.tag("v1.0")
    runs = tmp_path / "runs.csv"
    runs.write_text(
        "run_id,commit,time_queued,time_started,time_finished,conclusion,attempt\n"
        f"1,{shas['web']},2024-08-01T00:01:00Z,2024-08-01T00:02:00Z,2024-08-01T00:12:00Z,success,1\n"
        f"2,{shas['api']},2024-08-02T00:01:00Z,2024-08-02T00:02:00Z,2024-08-02T00:12:00Z,failure,1\n"
        f"3,{'f' * 40},2024-08-02T00:01:00Z,2024-08-02T00:02:00Z,2024-08-02T00:12:00Z,success,1\n"
    )
    out = tmp_path / "org"
    assert (
        main(
            [
                "import",
                "git",
                str(web.path),
                str(api.path),
                "--team-per-repo",
                "--ci-runs",
                str(runs),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    teams = read_ci_runs(out / "ci_runs.csv").set_index("run_id")["team"].to_dict()
    assert teams == {"1": "web", "2": "api", "3": ""}  # a commit no team has is nobody's
