"""``import gitlab``: saved REST API (v4) responses (tests/data/import/gitlab, shaped as GitLab's
documentation shows them) and the same responses fetched live from a loopback replay server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.errors import InputError
from sim.importers.files import FolderSource, MemorySource
from sim.importers.gitlab import import_gitlab
from tests.unit.replay_server import ReplayServer

DATA = Path(__file__).resolve().parents[1] / "data" / "import" / "gitlab"
TOKEN = "glpat-test"


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture(scope="module")
def imported():
    return import_gitlab(FolderSource(DATA))


def test_successful_production_deployments_at_their_finish(imported):
    logs, report = imported
    assert logs.deployments["deploy_id"].tolist() == ["201", "204", "205"]
    assert logs.deployments["time_created"].tolist() == [
        utc("2024-03-01T10:05"),
        utc("2024-03-04T12:10"),
        utc("2024-03-06T08:30"),
    ]
    reasons = sorted(s["reason"] for s in report.to_dict()["skipped"] if s["what"] == "deployment")
    assert reasons == ["environment 'staging' is not 'production'", "status 'failed' is not success"]


def test_merge_requests_ship_with_the_deployment_gitlab_names_or_deployed_their_merge_commit(imported):
    logs, report = imported
    ships = dict(zip(logs.deployments["deploy_id"], logs.deployments["change_ids"], strict=True))
    assert set(ships["201"].split()) == {sha("g1a"), sha("g1b")}
    assert ships["204"].split() == [sha("g2a")]
    assert set(ships["205"].split()) == {sha("g3a"), sha("g3b")}
    assert report.links["merged_requests_to_deployments"] == {
        "named_by_provider": 1,
        "merge_commit_deployed": 1,
        "first_deployment_after_merge": 1,
    }
    created = dict(zip(logs.changes["change_id"], logs.changes["time_created"], strict=True))
    assert created[sha("g1b")] == utc("2024-02-28T08:00")
    assert sha("g5a") in created and sha("g3m") not in created


def test_incidents_by_label_or_issue_type(imported):
    logs, _ = imported
    inc = logs.incidents.set_index("incident_id")
    assert sorted(inc.index) == ["10", "11", "12"]
    assert inc.loc["10", "deploy_id"] == "204" and inc.loc["10", "root_cause"] == sha("g2a")
    assert inc.loc["11", "deploy_id"] == "201" and inc.loc["11", "linked"] == "id"
    assert inc.loc["12", "deploy_id"] == "205" and inc.loc["12", "linked"] == "rule"


def test_live_mode_matches_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("GL_TEST_TOKEN", TOKEN)
    offline, live = tmp_path / "offline", tmp_path / "live"
    assert main(["import", "gitlab", "--from", str(DATA), "--out", str(offline)]) == 0
    with ReplayServer(DATA, "/api/v4/projects/group/shop", ("PRIVATE-TOKEN", TOKEN), page_size=2) as server:
        code = main(
            [
                "import",
                "gitlab",
                "--repo",
                "group/shop",
                "--token-env",
                "GL_TEST_TOKEN",
                "--api-url",
                f"{server.url}/api/v4",
                "--out",
                str(live),
            ]
        )
    assert code == 0
    for name in ("changes.csv", "deployments.csv", "incidents.csv"):
        assert (live / name).read_text() == (offline / name).read_text()
    assert any("group%2Fshop" in r for r in server.requests)  # the project path is URL-encoded
    assert any("page=3" in r for r in server.requests)


def test_missing_merge_requests_and_garbage(tmp_path, capsys):
    logs, report = import_gitlab(
        MemorySource({"deployments.json": (DATA / "deployments.json").read_bytes()}, "x")
    )
    assert logs.changes.empty and len(logs.deployments) == 3
    assert "no merge_requests.json" in report.notes[0]
    with pytest.raises(InputError, match=r"x/issues.json: not valid JSON"):
        import_gitlab(MemorySource({"deployments.json": b"[]", "issues.json": b"\x00garbage"}, "x"))
    with pytest.raises(InputError, match=r"item 0: missing 'iid'"):
        import_gitlab(MemorySource({"deployments.json": b"[]", "merge_requests.json": b'[{"id": 1}]'}, "x"))
