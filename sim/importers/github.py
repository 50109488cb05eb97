"""GitHub's REST API responses as event logs (docs/import.md, "GitHub").

Files (one JSON array each, as the API returns them; pages may be concatenated or kept as a
list of arrays), saved under one folder — what ``--from DIR`` reads and a live import saves:

| file | endpoint |
|---|---|
| ``deployments.json`` | ``GET /repos/{owner}/{repo}/deployments`` |
| ``deployments/{id}/statuses.json`` | ``GET /repos/{owner}/{repo}/deployments/{id}/statuses`` |
| ``pulls.json`` | ``GET /repos/{owner}/{repo}/pulls?state=closed`` |
| ``pulls/{number}/commits.json`` | ``GET /repos/{owner}/{repo}/pulls/{number}/commits`` |
| ``issues.json`` | ``GET /repos/{owner}/{repo}/issues?state=all&labels=Incident`` |

A deployment counts when its ``environment`` is the production one (``--environment``, default
``production``; or ``production_environment`` is true) and one of its statuses is ``success``:
its time is that status's ``created_at``. Changes: the commits of merged pull requests
(``merged_at`` set), at their author date. Incidents: issues (not pull requests) carrying the
``Incident`` label, opened at ``created_at``, resolved at ``closed_at``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.importers.files import MemorySource, Source, required_field
from sim.importers.forge import ForgeDeployment, MergedRequest, build_logs, root_cause
from sim.importers.http import Client, dump
from sim.importers.incidents import IncidentRecord, parse_time
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs

API_URL = "https://api.github.com"
MARKERS = ("deployments.json", "pulls.json", "issues.json")


def read_deployments(source: Source, environment: str, report: ImportReport) -> list[ForgeDeployment]:
    items = source.json("deployments.json", "deployments")
    assert items is not None
    out = []
    for position, item in enumerate(items):
        where = f"{source.name}/deployments.json item {position}"
        deploy_id = str(required_field(item, "id", where))
        report.count("deployments read")
        production = item.get("environment") == environment or item.get("production_environment") is True
        if not production:
            report.skip("deployment", f"environment {item.get('environment')!r} is not {environment!r}", deploy_id)
            continue
        statuses = source.json(f"deployments/{deploy_id}/statuses.json", "deployment statuses", required=False)
        if statuses is None:
            statuses = item.get("statuses") if isinstance(item.get("statuses"), list) else None
        if statuses is None:
            report.skip("deployment", "its statuses were not saved", deploy_id)
            continue
        success = sorted(
            t for t in (parse_time(s.get("created_at"), f"{where} status", "created_at", required=False)
                        for s in statuses if isinstance(s, dict) and s.get("state") == "success") if t is not None)
        if not success:
            states = sorted({str(s.get("state")) for s in statuses if isinstance(s, dict)}) or ["none"]
            report.skip("deployment", f"no success status (states: {', '.join(states)})", deploy_id)
            continue
        requested = parse_time(required_field(item, "created_at", where), where, "created_at", required=True)
        assert requested is not None
        out.append(ForgeDeployment(deploy_id, str(required_field(item, "sha", where)), requested, success[0]))
    return out


def read_pulls(source: Source, report: ImportReport) -> list[MergedRequest]:
    items = source.json("pulls.json", "pull requests", required=False)
    if items is None:
        report.note("no pulls.json: no changes were read")
        return []
    out = []
    for position, item in enumerate(items):
        where = f"{source.name}/pulls.json item {position}"
        number = str(required_field(item, "number", where))
        report.count("pull requests read")
        merged = parse_time(item.get("merged_at"), where, "merged_at", required=False)
        if merged is None:
            report.skip("pull request", "not merged", number)
            continue
        opened = parse_time(required_field(item, "created_at", where), where, "created_at", required=True)
        assert opened is not None
        commits = source.json(f"pulls/{number}/commits.json", "pull request commits", required=False)
        head = item.get("head") if isinstance(item.get("head"), dict) else {}
        out.append(MergedRequest(number, opened, merged, item.get("merge_commit_sha"),
                                 _commits(commits, f"{source.name}/pulls/{number}/commits.json") if commits is not None
                                 else None, tuple(s for s in (head.get("sha"),) if s)))
    return out


def _commits(items: list[dict[str, Any]], name: str) -> tuple[tuple[str, pd.Timestamp], ...]:
    out = []
    for position, item in enumerate(items):
        where = f"{name} item {position}"
        sha = str(required_field(item, "sha", where))
        parents = item.get("parents")
        if isinstance(parents, list) and len(parents) > 1:
            continue  # a merge commit is not a change
        authored = parse_time((item.get("commit") or {}).get("author", {}).get("date"), where, "commit.author.date",
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
        number = str(required_field(item, "number", where))
        report.count("issues read")
        if "pull_request" in item:
            report.skip("issue", "a pull request, not an issue", number)
            continue
        labels = {(lab.get("name") if isinstance(lab, dict) else lab) for lab in item.get("labels") or []}
        if label not in labels:
            report.skip("issue", f"no {label!r} label", number)
            continue
        created = parse_time(required_field(item, "created_at", where), where, "created_at", required=True)
        assert created is not None
        cause = root_cause(item.get("body"))
        out.append(IncidentRecord(number, created, parse_time(item.get("closed_at"), where, "closed_at", required=False),
                                  deploy=cause, root_cause=cause, source="github"))
    return out


def import_github(source: Source, *, environment: str = "production", label: str = "Incident",
                  extra_incidents: list[IncidentRecord] | None = None,
                  report: ImportReport | None = None) -> tuple[EventLogs, ImportReport]:
    """Logs from saved (or just fetched) GitHub API responses."""
    report = report or ImportReport("github")
    report.settings.update({"from": source.name, "environment": environment, "incident_label": label})
    deployments = read_deployments(source, environment, report)
    pulls = read_pulls(source, report)
    incidents = read_incident_issues(source, label, report) + list(extra_incidents or [])
    return build_logs(deployments, pulls, incidents, report), report


def fetch_github(repo: str, token: str, *, api_url: str = API_URL, environment: str = "production",
                 label: str = "Incident", client: Client | None = None, max_wait: float = 900.0) -> MemorySource:
    """Fetch the files of the module docstring from the live API (or a server replaying it)."""
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise InputError(f"--repo {repo!r}: expected OWNER/NAME")
    client = client or Client(api_url, {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                                        "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "dorasim-import"},
                              max_wait=max_wait)
    base = f"repos/{repo}"
    files: dict[str, bytes] = {}
    try:
        deployments = client.get_all(f"{base}/deployments", {"environment": environment})
        files["deployments.json"] = dump(deployments)
        for deployment in deployments:
            deploy_id = deployment.get("id")
            files[f"deployments/{deploy_id}/statuses.json"] = dump(
                client.get_all(f"{base}/deployments/{deploy_id}/statuses"))
        pulls = client.get_all(f"{base}/pulls", {"state": "closed"})
        files["pulls.json"] = dump(pulls)
        for pull in pulls:
            if pull.get("merged_at"):
                number = pull.get("number")
                files[f"pulls/{number}/commits.json"] = dump(client.get_all(f"{base}/pulls/{number}/commits"))
        files["issues.json"] = dump(client.get_all(f"{base}/issues", {"state": "all", "labels": label}))
    finally:
        client.close()
    return MemorySource(files, f"{api_url.rstrip('/')}/{base}")
