"""CI runs into ``ci_runs.csv``: GitHub Actions runs and jobs, GitLab pipelines and jobs (saved or live) and a
mapped CSV — fixtures shaped as the providers' documentation shows them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from tests.unit.hostile_server import HostileServer, Seen, json_answer

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def folder(tmp_path: Path, kind: str) -> Path:
    target = tmp_path / "saved"
    shutil.copytree(DATA / kind, target)
    shutil.copytree(DATA / f"{kind}_ci", target, dirs_exist_ok=True)
    return target


def read_runs(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_github_actions_runs_and_jobs(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["import", "github", "--from", str(folder(tmp_path, "github")), "--out", str(out)]) == 0
    assert "and 4 CI runs" in capsys.readouterr().out
    runs = read_runs(out / "ci_runs.csv").set_index("run_id")
    assert list(runs.columns[:6]) == [
        "commit",
        "time_queued",
        "time_started",
        "time_finished",
        "conclusion",
        "attempt",
    ]
    first = runs.loc["30433642"]
    # jobs give the start of the first job and the end of the last; the run was re-run once
    assert (first["time_queued"], first["time_started"], first["time_finished"]) == (
        "2024-02-27T09:01:00Z",
        "2024-02-27T09:21:00Z",
        "2024-02-27T09:30:00Z",
    )
    assert first["attempt"] == "2" and first["conclusion"] == "success"
    assert runs.loc["30433643", "conclusion"] == "failure"
    assert (
        runs.loc["30433643", "time_finished"] == "2024-02-29T11:14:00Z"
    )  # no jobs saved: the run's updated_at
    assert runs.loc["30433644", "conclusion"] == "cancelled"
    assert runs.loc["30433645", "conclusion"] == "" and runs.loc["30433645", "time_finished"] == ""
    report = json.loads((out / "import_report.json").read_text())
    assert report["written"]["ci_runs"] == 4


def test_gitlab_pipelines_and_jobs(tmp_path):
    out = tmp_path / "out"
    assert main(["import", "gitlab", "--from", str(folder(tmp_path, "gitlab")), "--out", str(out)]) == 0
    runs = read_runs(out / "ci_runs.csv").set_index("run_id")
    assert runs.loc["47", "time_started"] == "2024-02-29T10:02:00Z"
    assert runs.loc["47", "time_finished"] == "2024-02-29T10:25:00Z"
    assert runs.loc["46", "conclusion"] == "failure" and runs.loc["47", "conclusion"] == "success"
    assert runs.loc["48", "conclusion"] == "" and runs.loc["49", "conclusion"] == "cancelled"
    assert (runs["commit"] == "19f731e3ab8c910f2a3a86de41a874a9996237fd").sum() == 2  # failed, then passed


def test_a_mapped_csv(tmp_path):
    export = tmp_path / "ci.csv"
    export.write_text(
        "Run,SHA,Created,Began,Ended,Result,Try\n"
        f"9,{'ab' * 20},2024-03-01T10:00:00Z,2024-03-01T10:01:00Z,2024-03-01T10:11:00Z,failed,1\n"
        f"9,{'ab' * 20},2024-03-01T10:20:00Z,2024-03-01T10:21:00Z,2024-03-01T10:30:00Z,success,2\n"
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "import",
                "github",
                "--from",
                str(DATA / "github"),
                "--out",
                str(out),
                "--ci-runs",
                str(export),
                "--ci-map",
                "run_id=Run,commit=SHA,queued=Created,started=Began,finished=Ended,conclusion=Result,"
                "attempt=Try",
            ]
        )
        == 0
    )
    runs = read_runs(out / "ci_runs.csv")
    assert runs["conclusion"].tolist() == ["failure", "success"] and runs["attempt"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    "rows, message",
    [
        (
            "9,{sha},2024-03-01T10:00:00Z,2024-03-01T09:00:00Z,,,1",
            "started 2024-03-01T09:00:00+00:00 is before queued",
        ),
        ("9,{sha},2024-03-01T10:00:00Z,2024-03-01T10:01:00Z,2024-03-01T10:00:30Z,success,1", "finished"),
        ("9,{sha},2300-03-01T10:00:00Z,,,,1", "is outside the dates"),
        ("9,../../x,2024-03-01T10:00:00Z,,,,1", "is not a commit SHA"),
        ("9,{sha},2024-03-01T10:00:00Z,,,,0", "attempt 0 is not from 1 to 1000"),
        (
            "9,{sha},2024-03-01T10:00:00Z,,,,1\n9,{sha},2024-03-02T10:00:00Z,,,,1",
            "run '9' attempt 1 appears twice",
        ),
    ],
)
def test_bad_ci_rows_are_one_line(tmp_path, capsys, rows, message):
    export = tmp_path / "ci.csv"
    export.write_text(
        "run_id,commit,time_queued,time_started,time_finished,conclusion,attempt\n"
        + rows.format(sha="ab" * 20)
        + "\n"
    )
    code = main(
        [
            "import",
            "github",
            "--from",
            str(DATA / "github"),
            "--out",
            str(tmp_path / "out"),
            "--ci-runs",
            str(export),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "ci_runs.csv").exists()


def test_live_github_ci_runs_are_fetched_with_the_same_policy(tmp_path, monkeypatch):
    monkeypatch.setenv("GH_CI_TOKEN", "t0ken")
    saved = folder(tmp_path, "github")

    def route(server: HostileServer, seen: Seen):
        path = seen.path.split("?")[0].removeprefix("/repos/octo-org/shop/")
        file = saved / f"{path}.json"
        if not file.is_file():
            return json_answer({"jobs": []} if path.endswith("/jobs") else [])
        return json_answer(json.loads(file.read_text()))

    with HostileServer(route) as server:
        assert (
            main(
                [
                    "import",
                    "github",
                    "--repo",
                    "octo-org/shop",
                    "--token-env",
                    "GH_CI_TOKEN",
                    "--api-url",
                    server.url,
                    "--out",
                    str(tmp_path / "live"),
                    "--ci",
                ]
            )
            == 0
        )
    assert main(["import", "github", "--from", str(saved), "--out", str(tmp_path / "offline")]) == 0
    live = read_runs(tmp_path / "live" / "ci_runs.csv")
    offline = read_runs(tmp_path / "offline" / "ci_runs.csv")
    pd.testing.assert_frame_equal(live, offline)
    assert (tmp_path / "live" / "raw" / "github" / "actions" / "runs" / "30433642" / "jobs.json").is_file()
