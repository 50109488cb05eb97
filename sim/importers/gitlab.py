"""GitLab's REST API (v4) responses as event logs (docs/import.md, "GitLab").

Files (one JSON array each, as the API returns them), saved under one folder:

| file | endpoint |
|---|---|
| ``deployments.json`` | ``GET /projects/:id/deployments`` |
| ``deployments/{id}/merge_requests.json`` (optional) | ``GET /projects/:id/deployments/:deployment_id/merge_requests`` |
| ``merge_requests.json`` | ``GET /projects/:id/merge_requests?state=merged`` |
| ``merge_requests/{iid}/commits.json`` | ``GET /projects/:id/merge_requests/:iid/commits`` |
| ``issues.json`` | ``GET /projects/:id/issues?labels=Incident`` |

A deployment counts when its ``status`` is ``success`` and its ``environment.name`` is the
production one (``--environment``, default ``production``); its time is ``finished_at`` (else
``updated_at``). Changes: the commits of merged merge requests, at ``authored_date``.
Incidents: issues labelled ``Incident`` or of ``issue_type`` ``incident``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd

from sim.errors import InputError
from sim.importers.files import MemorySource, Source, required_field
from sim.importers.forge import ForgeDeployment, MergedRequest, build_logs, root_cause
from sim.importers.http import Client, dump
from sim.importers.incidents import IncidentRecord, parse_time
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs

API_URL = "https://gitlab.com/api/v4"
MARKERS = ("deployments.json", "merge_requests.json", "issues.json")


def read_deployments(source: Source, environment: str, report: ImportReport) -> list[ForgeDeployment]:
    items = source.json("deployments.json", "deployments")
    assert items is not None
    out = []
    for position, item in enumerate(items):
        where = f"{source.name}/deployments.json item {position}"
        deploy_id = str(required_field(item, "id", where))
        report.count("deployments read")
        env = item.get("environment")
        name = env.get("name") if isinstance(env, dict) else env
        if name != environment:
            report.skip("deployment", f"environment {name!r} is not {environment!r}", deploy_id)
            continue
        if item.get("status") != "success":
            report.skip("deployment", f"status {item.get('status')!r} is not success", deploy_id)
            continue
        requested = parse_time(required_field(item, "created_at", where), where, "created_at", required=True)
        finished = parse_time(item.get("finished_at") or item.get("updated_at"), where, "finished_at", required=True)
        assert requested is not None and finished is not None
        named = source.json(f"deployments/{deploy_id}/merge_requests.json", "merge requests", required=False)
        requests = tuple(str(m.get("iid")) for m in named) if named is not None else None
        out.append(ForgeDeployment(deploy_id, str(required_field(item, "sha", where)), requested, finished, requests))
    return out


def read_merge_requests(source: Source, report: ImportReport) -> list[MergedRequest]:
    items = source.json("merge_requests.json", "merge requests", required=False)
    if items is None:
        report.note("no merge_requests.json: no changes were read")
        return []
    out = []
    for position, item in enumerate(items):
        where = f"{source.name}/merge_requests.json item {position}"
        iid = str(required_field(item, "iid", where))
        report.count("merge requests read")
        merged = parse_time(item.get("merged_at"), where, "merged_at", required=False)
        if merged is None or item.get("state", "merged") != "merged":
            report.skip("merge request", "not merged", iid)
            continue
        opened = parse_time(required_field(item, "created_at", where), where, "created_at", required=True)
        assert opened is not None
        commits = source.json(f"merge_requests/{iid}/commits.json", "merge request commits", required=False)
        extra = tuple(s for s in (item.get("squash_commit_sha"), item.get("sha")) if s)
        out.append(MergedRequest(iid, opened, merged, item.get("merge_commit_sha"),
                                 _commits(commits, f"{source.name}/merge_requests/{iid}/commits.json")
                                 if commits is not None else None, extra))
    return out


def _commits(items: list[dict[str, Any]], name: str) -> tuple[tuple[str, pd.Timestamp], ...]:
    out = []
    for position, item in enumerate(items):
        where = f"{name} item {position}"
        sha = str(required_field(item, "id", where))
        if isinstance(item.get("parent_ids"), list) and len(item["parent_ids"]) > 1:
            continue
        authored = parse_time(item.get("authored_date") or item.get("created_at"), where, "authored_date",
                              required=True)
        assert authored is not None
        out.append((sha, authored))
    return tuple(out)


def read_incident_issues(source: Source, label: str, report: ImportReport) -> list[IncidentRecord]:
    items = source.json("issues.json", "issues", required=False)
    if items is None:
        return []
    out = []
    for position, item in enumerate(items):
        where = f"{source.name}/issues.json item {position}"
        iid = str(required_field(item, "iid", where))
        report.count("issues read")
        labels = {(lab.get("name") if isinstance(lab, dict) else lab) for lab in item.get("labels") or []}
        if label not in labels and item.get("issue_type") != "incident":
            report.skip("issue", f"no {label!r} label and not of type incident", iid)
            continue
        created = parse_time(required_field(item, "created_at", where), where, "created_at", required=True)
        assert created is not None
        cause = root_cause(item.get("description"))
        out.append(IncidentRecord(iid, created, parse_time(item.get("closed_at"), where, "closed_at", required=False),
                                  deploy=cause, root_cause=cause, source="gitlab"))
    return out


def import_gitlab(source: Source, *, environment: str = "production", label: str = "Incident",
                  extra_incidents: list[IncidentRecord] | None = None,
                  report: ImportReport | None = None) -> tuple[EventLogs, ImportReport]:
    """Logs from saved (or just fetched) GitLab API responses."""
    report = report or ImportReport("gitlab")
    report.settings.update({"from": source.name, "environment": environment, "incident_label": label})
    deployments = read_deployments(source, environment, report)
    requests = read_merge_requests(source, report)
    incidents = read_incident_issues(source, label, report) + list(extra_incidents or [])
    return build_logs(deployments, requests, incidents, report), report


def fetch_gitlab(project: str, token: str, *, api_url: str = API_URL, environment: str = "production",
                 label: str = "Incident", client: Client | None = None, max_wait: float = 900.0) -> MemorySource:
    """Fetch the files of the module docstring from the live API (or a server replaying it)."""
    if "/" not in project and not project.isdigit():
        raise InputError(f"--repo {project!r}: expected GROUP/PROJECT (or a numeric project id)")
    client = client or Client(api_url, {"PRIVATE-TOKEN": token, "User-Agent": "dorasim-import"}, max_wait=max_wait)
    base = f"projects/{quote(project, safe='')}"
    files: dict[str, bytes] = {}
    try:
        deployments = client.get_all(f"{base}/deployments", {"environment": environment, "status": "success"})
        files["deployments.json"] = dump(deployments)
        for deployment in deployments:
            deploy_id = deployment.get("id")
            files[f"deployments/{deploy_id}/merge_requests.json"] = dump(
                client.get_all(f"{base}/deployments/{deploy_id}/merge_requests"))
        requests = client.get_all(f"{base}/merge_requests", {"state": "merged", "scope": "all"})
        files["merge_requests.json"] = dump(requests)
        for request in requests:
            iid = request.get("iid")
            files[f"merge_requests/{iid}/commits.json"] = dump(client.get_all(f"{base}/merge_requests/{iid}/commits"))
        files["issues.json"] = dump(client.get_all(f"{base}/issues", {"labels": label, "scope": "all"}))
    finally:
        client.close()
    return MemorySource(files, f"{api_url.rstrip('/')}/{base}")
