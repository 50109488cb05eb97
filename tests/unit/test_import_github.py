"""``import github``: saved REST API responses (tests/data/import/github, shaped as GitHub's
documentation shows them) and the same responses fetched live from a loopback replay server."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.errors import InputError
from sim.importers.files import FolderSource, MemorySource, zip_source
from sim.importers.github import MARKERS, import_github
from sim.importers.http import Client
from sim.metrics.logs import read_logs
from sim.metrics.scoring import score_logs
from tests.unit.replay_server import ReplayServer

DATA = Path(__file__).resolve().parents[1] / "data" / "import" / "github"
TOKEN = "test-token-123"


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture(scope="module")
def imported():
    return import_github(FolderSource(DATA))


def test_only_successful_production_deployments_count_at_their_success_time(imported):
    logs, report = imported
    d = logs.deployments
    assert d["deploy_id"].tolist() == ["101", "104", "105"]
    assert d["time_created"].tolist() == [
        utc("2024-03-01T10:05"),
        utc("2024-03-04T12:10"),
        utc("2024-03-06T08:30"),
    ]
    reasons = {
        s["examples"][0]: s["reason"] for s in report.to_dict()["skipped"] if s["what"] == "deployment"
    }
    assert reasons == {
        "102": "environment 'staging' is not 'production'",
        "103": "no success status (states: failure, in_progress)",
    }


def test_merged_pull_requests_commits_are_changes_shipped_by_the_right_deployment(imported):
    logs, report = imported
    ships = dict(zip(logs.deployments["deploy_id"], logs.deployments["change_ids"], strict=True))
    assert ships["101"].split() == [sha("c1a"), sha("c1b")]  # first deployment requested after the merge
    assert ships["104"].split() == [sha("c2a")]  # 103 failed, so 104 ships PR 2
    assert ships["105"].split() == [
        sha("c3a"),
        sha("c3b"),
    ]  # 105 deployed PR 3's merge commit; merges are not changes
    created = dict(zip(logs.changes["change_id"], logs.changes["time_created"], strict=True))
    assert created[sha("c1b")] == utc("2024-02-28T08:00")  # author date, converted to UTC
    assert sha("c5a") in created  # merged after the last deployment: an undeployed change
    assert report.links["merged_requests_to_deployments"] == {
        "named_by_provider": 0,
        "merge_commit_deployed": 1,
        "first_deployment_after_merge": 2,
    }
    assert report.skipped_count("pull request") == 1  # PR 4 was closed without merging


def test_incident_issues_link_by_root_cause_deployment_or_the_rule(imported):
    logs, report = imported
    inc = logs.incidents.set_index("incident_id")
    assert sorted(inc.index) == ["10", "11", "12"]  # 13 has no Incident label, 14 is a pull request
    assert inc.loc["10", "deploy_id"] == "104" and inc.loc["10", "linked"] == "root_cause"
    assert inc.loc["11", "deploy_id"] == "101" and inc.loc["11", "linked"] == "id"
    assert inc.loc["12", "deploy_id"] == "105" and inc.loc["12", "linked"] == "rule"
    assert pd.isna(inc.loc["12", "time_resolved"])
    assert inc.loc["11", "time_resolved"] == utc("2024-03-02T06:00")
    assert report.links["incidents"]["by_rule"] == 1


def test_the_logs_score(imported, tmp_path):
    assert main(["import", "github", "--from", str(DATA), "--out", str(tmp_path)]) == 0
    logs = read_logs(tmp_path / "changes.csv", tmp_path / "deployments.csv", tmp_path / "incidents.csv")
    result = score_logs(logs)
    assert result["counts"]["deployments"] == 3
    assert result["metrics"]["change_failure_rate"] == 1.0
    assert result["counts"]["undeployed_changes"] == 1


def test_live_mode_against_a_loopback_server_gives_the_same_logs_and_saves_the_responses(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("GH_TEST_TOKEN", TOKEN)
    offline, live = tmp_path / "offline", tmp_path / "live"
    assert main(["import", "github", "--from", str(DATA), "--out", str(offline)]) == 0
    with ReplayServer(
        DATA, "/repos/octo-org/shop", ("Authorization", f"Bearer {TOKEN}"), page_size=2
    ) as server:
        code = main(
            [
                "import",
                "github",
                "--repo",
                "octo-org/shop",
                "--token-env",
                "GH_TEST_TOKEN",
                "--api-url",
                server.url,
                "--out",
                str(live),
            ]
        )
    assert code == 0
    for name in ("changes.csv", "deployments.csv", "incidents.csv"):
        assert (live / name).read_text() == (offline / name).read_text()
    assert any("page=2" in r for r in server.requests)  # pagination was followed
    saved = live / "raw" / "github"
    assert json.loads((saved / "pulls.json").read_text()) == json.loads((DATA / "pulls.json").read_text())
    again = tmp_path / "again"
    assert main(["import", "github", "--from", str(saved), "--out", str(again)]) == 0
    assert (again / "deployments.csv").read_text() == (offline / "deployments.csv").read_text()


def test_rate_limits_are_waited_out_and_give_up_with_one_line(tmp_path):
    waits: list[float] = []
    limits = [(429, {"Retry-After": "3"}), (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"})]
    with ReplayServer(DATA, "/repos/octo-org/shop", ("Authorization", "Bearer t"), limits=limits) as server:
        client = Client(server.url, {"Authorization": "Bearer t"}, sleep=waits.append, clock=lambda: 990.0)
        items = client.get_all("repos/octo-org/shop/pulls")
    assert len(items) == 5
    assert waits == [3.0, 11.0]  # Retry-After, then until x-ratelimit-reset (+1 s)
    with ReplayServer(
        DATA, "/repos/octo-org/shop", ("Authorization", "Bearer t"), limits=[(429, {"Retry-After": "5000"})]
    ) as server:
        client = Client(server.url, {"Authorization": "Bearer t"}, sleep=waits.append, max_wait=60)
        with pytest.raises(InputError, match=r"rate limited; the limit resets at .* run again then"):
            client.get_all("repos/octo-org/shop/pulls")


def test_a_refused_token_is_one_line_without_the_token(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GH_TEST_TOKEN", "wrong-token")
    with ReplayServer(DATA, "/repos/octo-org/shop", ("Authorization", f"Bearer {TOKEN}")) as server:
        code = main(
            [
                "import",
                "github",
                "--repo",
                "octo-org/shop",
                "--token-env",
                "GH_TEST_TOKEN",
                "--api-url",
                server.url,
                "--out",
                str(tmp_path),
            ]
        )
    err = capsys.readouterr().err
    assert code == 2 and "refused the token (401" in err and "wrong-token" not in err and err.count("\n") == 1


def test_a_zip_of_the_saved_folder_reads_the_same(imported):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in DATA.rglob("*.json"):
            archive.write(path, f"export/{path.relative_to(DATA).as_posix()}")
    logs, _ = import_github(zip_source(buffer.getvalue(), "export.zip", MARKERS))
    pd.testing.assert_frame_equal(logs.deployments, imported[0].deployments)


def _folder(tmp_path: Path, **files: str) -> Path:
    target = tmp_path / "saved"
    shutil.copytree(DATA, target)
    for name, text in files.items():
        path = target / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return target


@pytest.mark.parametrize(
    "files, message",
    [
        ({"pulls.json": "{not json"}, "pulls.json: not valid JSON (line 1, column 2"),
        (
            {"deployments.json": '{"id": 1}'},
            "deployments.json: expected a JSON array of deployments, found a JSON object",
        ),
        ({"deployments.json": "[1, 2]"}, "deployments.json: item 0: expected a JSON object"),
        (
            {
                "deployments.json": '[{"id": 1, "environment": "production", "created_at": "yesterday", "sha": "a"}]',
                "deployments__1__statuses.json": '[{"state": "success", "created_at": "2024-01-01T00:00:00Z"}]',
            },
            "created_at 'yesterday' is not an ISO 8601 timestamp",
        ),
        (
            {"pulls.json": '[{"number": 1, "merged_at": "2024-13-45", "created_at": "2024-01-01"}]'},
            "merged_at '2024-13-45' is not an ISO 8601 timestamp",
        ),
        ({"deployments.json": ""}, "deployments.json: the file is empty"),
    ],
)
def test_hostile_files_are_one_line(tmp_path, capsys, files, message):
    folder = _folder(tmp_path, **files)
    code = main(["import", "github", "--from", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    folder = _folder(tmp_path)
    with pytest.raises(InputError, match=r"pulls.json: the file is .* MB; the limit is 0 MB"):
        FolderSource(folder, limit=100).json("pulls.json", "pull requests")


def test_an_archive_bomb_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("deployments.json", "[" + " " * 5_000_000 + "]")
    with pytest.raises(InputError, match=r"\(uncompressed\): the file is 4.8 MB; the limit is 1 MB"):
        zip_source(buffer.getvalue(), "bomb.zip", MARKERS, limit=1024 * 1024)


def test_missing_deployments_file_is_one_line():
    with pytest.raises(InputError, match=r"no deployments\.json"):
        import_github(MemorySource({"pulls.json": b"[]"}, "upload"))
