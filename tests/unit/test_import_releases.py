"""Releases as deployments, saved pages in every usual shape, and GitLab's deployment statuses — on fixtures
shaped as the providers document them (docs/import.md names the pages followed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.importers.files import FolderSource, MemorySource
from sim.importers.github import import_github
from sim.importers.gitlab import import_gitlab
from tests.unit.replay_server import ReplayServer

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
GITHUB_TAGS = {"101": "v1.0.0", "104": "v1.1.0", "105": "v1.2.0"}
GITLAB_TAGS = {"201": "v1.0.0", "204": "v1.1.0", "205": "v1.2.0"}


def ships(logs) -> dict[str, list[str]]:
    return {
        d: sorted(c.split())
        for d, c in zip(logs.deployments["deploy_id"], logs.deployments["change_ids"], strict=True)
    }


def test_github_releases_ship_what_the_matching_deployments_ship():
    by_deployments, _ = import_github(FolderSource(DATA / "github"))
    by_releases, report = import_github(FolderSource(DATA / "github_releases"))
    assert report.settings["deployments_from"] == "releases"
    assert by_releases.deployments["deploy_id"].tolist() == ["v1.0.0", "v1.1.0", "v1.2.0"]
    assert (
        by_releases.deployments["time_created"].tolist()
        == by_deployments.deployments["time_created"].tolist()
    )
    expected = {GITHUB_TAGS[d]: ids for d, ids in ships(by_deployments).items()}
    assert ships(by_releases) == expected
    skipped = {(s["what"], s["reason"]): s["examples"] for s in report.skipped()}
    assert skipped[("release", "a draft")] == ["v1.3.0"]
    assert skipped[("release", "a pre-release")] == ["v1.2.0-rc.1"]
    assert report.read["releases read"] == 5


def test_gitlab_releases_ship_what_the_matching_deployments_ship():
    by_deployments, _ = import_gitlab(FolderSource(DATA / "gitlab"))
    by_releases, report = import_gitlab(FolderSource(DATA / "gitlab_releases"))
    assert by_releases.deployments["deploy_id"].tolist() == ["v1.0.0", "v1.1.0", "v1.2.0"]
    assert (
        by_releases.deployments["time_created"].tolist()
        == by_deployments.deployments["time_created"].tolist()
    )
    # GitLab names the merge requests deployment 204 shipped; releases fall back to the merge-commit rule
    assert set(ships(by_releases)) == {GITLAB_TAGS[d] for d in ships(by_deployments)}
    assert sum(map(len, ships(by_releases).values())) == sum(map(len, ships(by_deployments).values()))
    assert report.skipped_count("release") == 1


def test_deployments_from_releases_is_explicit_and_one_line_when_there_are_none(tmp_path, capsys):
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
                "--deployments-from",
                "releases",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no releases.json" in err and err.count("\n") == 1
    both = tmp_path / "both"
    shutil.copytree(DATA / "github", both)
    shutil.copy(DATA / "github_releases" / "releases.json", both / "releases.json")
    shutil.copy(DATA / "github_releases" / "tags.json", both / "tags.json")
    logs, report = import_github(FolderSource(both))
    assert (
        report.settings["deployments_from"] == "deployments"
        and logs.deployments["deploy_id"].iloc[0] == "101"
    )
    logs, report = import_github(FolderSource(both), deployments_from="releases")
    assert logs.deployments["deploy_id"].iloc[0] == "v1.0.0"


def test_live_releases_match_saved_releases(tmp_path, monkeypatch):
    monkeypatch.setenv("GH_TEST_TOKEN", "t0ken")
    offline, live = tmp_path / "offline", tmp_path / "live"
    assert main(["import", "github", "--from", str(DATA / "github_releases"), "--out", str(offline)]) == 0
    with ReplayServer(
        DATA / "github_releases", "/repos/octo-org/shop", ("Authorization", "Bearer t0ken")
    ) as server:
        assert (
            main(
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
            == 0
        )
    assert any("/releases" in r for r in server.requests)
    for name in ("changes.csv", "deployments.csv"):
        assert (live / name).read_text() == (offline / name).read_text()


def test_gitlabs_documented_example_writes_no_deployment_and_says_why(tmp_path, capsys):
    assert main(["import", "gitlab", "--from", str(DATA / "gitlab_documented"), "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "warning: 0 deployments were written (2 skipped, status 'created' is not success)" in captured.err
    report = json.loads((tmp_path / "import_report.json").read_text())
    assert [s["count"] for s in report["skipped"] if s["what"] == "deployment"] == [2]


def test_gitlab_times_a_deployment_at_its_jobs_finish():
    items = json.loads((DATA / "gitlab" / "deployments.json").read_text())
    for item in items:
        item.pop("finished_at", None)
        item["updated_at"] = "2024-03-20T00:00:00Z"  # later edits must not move the deployment
    logs, _ = import_gitlab(MemorySource({"deployments.json": json.dumps(items).encode()}, "x"))
    assert logs.deployments["time_created"].tolist() == [
        pd.Timestamp(t, tz="UTC") for t in ("2024-03-01T10:05", "2024-03-04T12:10", "2024-03-06T08:30")
    ]


def _shapes(items: list) -> dict[str, bytes]:
    half = len(items) // 2
    first, second = items[:half], items[half:]
    return {
        "one array": json.dumps(items).encode(),
        "list of arrays": json.dumps([first, second]).encode(),
        "gh api --paginate (back to back)": (json.dumps(first) + json.dumps(second)).encode(),
        "gh api --paginate (with newlines)": (
            json.dumps(first, indent=2) + "\n" + json.dumps(second, indent=2)
        ).encode(),
        "NDJSON": "\n".join(json.dumps(item) for item in items).encode() + b"\n",
    }


@pytest.mark.parametrize("shape", list(_shapes([1, 2])))
def test_saved_pages_in_every_usual_shape_read_the_same(shape):
    reference, _ = import_github(FolderSource(DATA / "github"))
    files = {
        p.relative_to(DATA / "github").as_posix(): p.read_bytes() for p in (DATA / "github").rglob("*.json")
    }
    for name in ("pulls.json", "deployments.json", "issues.json"):
        files[name] = _shapes(json.loads(files[name]))[shape]
    logs, _ = import_github(MemorySource(files, "shaped"))
    for kind in ("changes", "deployments", "incidents"):
        pd.testing.assert_frame_equal(getattr(logs, kind), getattr(reference, kind))


def test_values_back_to_back_of_mixed_kinds_are_one_line():
    from sim.errors import InputError

    with pytest.raises(InputError, match="not all arrays nor all objects"):
        import_github(MemorySource({"deployments.json": b'[]\n{"id": 1}'}, "x"))
