"""Every saved-file reader on Hypothesis-generated JSON: it either reads logs that ``score`` accepts or stops
with one :class:`InputError` line — never another exception, never logs ``score`` would refuse.

The JSON is generated two ways: any JSON value at all in place of a file, and a valid item of the
provider's documented shape with one field replaced by any JSON value (the near-misses a broken or
hostile export produces).
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.importers.files import MemorySource, check_logs
from sim.importers.github import import_github
from sim.importers.gitlab import import_gitlab
from sim.importers.incidents import read_incidents

SETTINGS = settings(
    max_examples=int(os.environ.get("DORASIM_IMPORT_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2024-03-01T10:00:00Z",
            "9999-01-01T00:00:00Z",
            "1600-01-01",
            "../../x",
            "a" * 40,
            "1",
            "production",
            "success",
            "Incident",
            "0",
            "-1",
            "2024-13-45",
            "\x1b[31m",
            "incident",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
GITHUB_FILES: dict[str, Any] = {
    "deployments.json": [
        {"id": 1, "environment": "production", "sha": SHA, "created_at": "2024-03-01T10:00:00Z"}
    ],
    "deployments/1/statuses.json": [{"state": "success", "created_at": "2024-03-01T10:05:00Z"}],
    "releases.json": [
        {
            "id": 5,
            "tag_name": "v1",
            "draft": False,
            "prerelease": False,
            "target_commitish": SHA,
            "created_at": "2024-03-01T09:00:00Z",
            "published_at": "2024-03-01T10:00:00Z",
        }
    ],
    "pulls.json": [
        {
            "number": 2,
            "created_at": "2024-02-28T10:00:00Z",
            "merged_at": "2024-02-29T10:00:00Z",
            "merge_commit_sha": SHA,
            "head": {"sha": SHA},
        }
    ],
    "pulls/2/commits.json": [
        {"sha": SHA, "parents": [{"sha": SHA}], "commit": {"author": {"date": "2024-02-28T09:00:00Z"}}}
    ],
    "issues.json": [
        {
            "number": 3,
            "labels": [{"name": "Incident"}],
            "created_at": "2024-03-02T10:00:00Z",
            "closed_at": "2024-03-02T12:00:00Z",
            "body": f"root cause: {SHA}",
        }
    ],
}
GITLAB_FILES: dict[str, Any] = {
    "deployments.json": [
        {
            "id": 1,
            "status": "success",
            "environment": {"name": "production"},
            "sha": SHA,
            "created_at": "2024-03-01T10:00:00Z",
            "updated_at": "2024-03-01T10:05:00Z",
            "deployable": {"finished_at": "2024-03-01T10:05:00Z"},
        }
    ],
    "deployments/1/merge_requests.json": [{"iid": 2}],
    "releases.json": [{"tag_name": "v1", "released_at": "2024-03-01T10:00:00Z", "commit": {"id": SHA}}],
    "merge_requests.json": [
        {
            "iid": 2,
            "state": "merged",
            "created_at": "2024-02-28T10:00:00Z",
            "merged_at": "2024-02-29T10:00:00Z",
            "merge_commit_sha": SHA,
            "squash_commit_sha": None,
        }
    ],
    "merge_requests/2/commits.json": [{"id": SHA, "parent_ids": [], "authored_date": "2024-02-28T09:00:00Z"}],
    "issues.json": [
        {
            "iid": 3,
            "labels": ["Incident"],
            "issue_type": "incident",
            "created_at": "2024-03-02T10:00:00Z",
            "closed_at": None,
            "description": "x",
        }
    ],
}
INCIDENTS: dict[str, Any] = {
    "pagerduty": {
        "incidents": [
            {
                "id": "P1",
                "created_at": "2024-03-02T10:00:00Z",
                "status": "resolved",
                "resolved_at": "2024-03-02T11:00:00Z",
                "service": {"summary": "shop"},
            }
        ]
    },
    "opsgenie": {
        "data": [
            {
                "id": "a1",
                "createdAt": "2024-03-02T10:00:00Z",
                "status": "closed",
                "report": {"closeTime": 60000},
                "tags": ["deploy:1"],
                "details": {"service": "shop"},
            }
        ]
    },
}


def _import(kind: str, files: dict[str, Any], deployments_from: str = "auto") -> None:
    source = MemorySource({name: json.dumps(value).encode() for name, value in files.items()}, kind)
    run = import_github if kind == "github" else import_gitlab
    try:
        logs, _ = run(source, deployments_from=deployments_from)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    check_logs(logs)  # what an import would write, score reads


def _replace(files: dict[str, Any], name: str, key: str, value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(files))
    out[name][0][key] = value
    return out


def _fields(files: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, key) for name, items in files.items() for key in items[0]]


@SETTINGS
@given(st.sampled_from(["github", "gitlab"]), st.data())
def test_any_json_in_place_of_a_file(kind, data):
    files = GITHUB_FILES if kind == "github" else GITLAB_FILES
    name = data.draw(st.sampled_from(sorted(files)))
    _import(kind, {**files, name: data.draw(json_values)}, data.draw(st.sampled_from(["auto", "releases"])))


@SETTINGS
@given(st.sampled_from(["github", "gitlab"]), st.data())
def test_any_json_in_place_of_one_field(kind, data):
    files = GITHUB_FILES if kind == "github" else GITLAB_FILES
    name, key = data.draw(st.sampled_from(_fields(files)))
    _import(
        kind,
        _replace(files, name, key, data.draw(json_values)),
        data.draw(st.sampled_from(["auto", "deployments", "releases"])),
    )


@SETTINGS
@given(st.sampled_from(["github", "gitlab"]), st.data())
def test_any_json_in_place_of_a_nested_field(kind, data):
    files = json.loads(json.dumps(GITHUB_FILES if kind == "github" else GITLAB_FILES))
    nested = [
        ("pulls/2/commits.json", "commit", "author"),
        ("pulls.json", "head", "sha"),
        ("deployments.json", "deployable", "finished_at"),
        ("releases.json", "commit", "id"),
        ("deployments.json", "environment", "name"),
    ]
    name, outer, inner = data.draw(
        st.sampled_from(
            [n for n in nested if n[0] in files and n[1] in files[n[0]][0]]
            or [("issues.json", "labels", "0")]
        )
    )
    value = files[name][0][outer]
    if isinstance(value, dict):
        value[inner] = data.draw(json_values)
    else:
        files[name][0][outer] = [data.draw(json_values)]
    _import(kind, files)


@SETTINGS
@given(st.sampled_from(["pagerduty", "opsgenie"]), st.data())
def test_incident_exports(fmt, data):
    document = json.loads(json.dumps(INCIDENTS[fmt]))
    items = document["incidents" if fmt == "pagerduty" else "data"]
    how = data.draw(st.sampled_from(["file", "field", "nested"]))
    if how == "file":
        document = data.draw(json_values)
    elif how == "field":
        items[0][data.draw(st.sampled_from(sorted(items[0])))] = data.draw(json_values)
    else:
        outer = "service" if fmt == "pagerduty" else "report"
        items[0][outer] = {
            data.draw(st.sampled_from(["summary", "name", "closeTime"])): data.draw(json_values)
        }
    try:
        records = read_incidents(json.dumps(document).encode(), "export.json", fmt)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    for record in records:
        assert record.resolved is None or record.resolved >= record.created


@SETTINGS
@given(
    st.lists(
        st.lists(
            st.sampled_from(["", "1", "2024-03-02T10:00:00Z", "2300-01-01", "x,y", '"', "\x00", "9" * 30]),
            min_size=1,
            max_size=4,
        ),
        max_size=5,
    )
)
def test_incident_csv(rows):
    text = "incident_id,time_created,time_resolved,deploy_id\n" + "\n".join(",".join(r) for r in rows) + "\n"
    try:
        read_incidents(text.encode(), "export.csv", "csv")
    except InputError as exc:
        assert "\n" not in str(exc)


GITHUB_CI: dict[str, Any] = {
    "actions/runs.json": [
        {
            "id": 7,
            "head_sha": SHA,
            "status": "completed",
            "conclusion": "success",
            "run_attempt": 1,
            "created_at": "2024-03-01T10:00:00Z",
            "run_started_at": "2024-03-01T10:01:00Z",
            "updated_at": "2024-03-01T10:10:00Z",
            "name": "Build",
            "head_branch": "main",
        }
    ],
    "actions/runs/7/jobs.json": [
        {"started_at": "2024-03-01T10:02:00Z", "completed_at": "2024-03-01T10:09:00Z"}
    ],
}
GITLAB_CI: dict[str, Any] = {
    "pipelines.json": [
        {
            "id": 8,
            "sha": SHA,
            "status": "success",
            "created_at": "2024-03-01T10:00:00Z",
            "updated_at": "2024-03-01T10:10:00Z",
            "ref": "main",
            "source": "push",
        }
    ],
    "pipelines/8/jobs.json": [{"started_at": "2024-03-01T10:02:00Z", "finished_at": "2024-03-01T10:09:00Z"}],
}


def _ci(kind: str, files: dict[str, Any]) -> None:
    from sim.importers.ci import ci_frame, read_forge_ci
    from sim.importers.report import ImportReport

    source = MemorySource({name: json.dumps(value).encode() for name, value in files.items()}, kind)
    try:
        runs = read_forge_ci(kind, source, ImportReport(kind))
        frame = ci_frame(runs or [])
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    started, finished = frame["time_started"], frame["time_finished"]
    assert not (started < frame["time_queued"]).any() and not (finished < started).any()


@SETTINGS
@given(st.sampled_from(["github", "gitlab"]), st.data())
def test_ci_runs_with_any_json_in_a_file_or_a_field(kind, data):
    files = json.loads(json.dumps(GITHUB_CI if kind == "github" else GITLAB_CI))
    name = data.draw(st.sampled_from(sorted(files)))
    if data.draw(st.booleans()):
        files[name] = data.draw(json_values)
    else:
        files[name][0][data.draw(st.sampled_from(sorted(files[name][0])))] = data.draw(json_values)
    _ci(kind, files)
