"""GitHub's REST API responses as event logs (docs/import.md, "GitHub").

Files (one JSON array each, as the API returns them; pages may be concatenated, kept as a list of
arrays, written back to back as ``gh api --paginate`` does, or one object a line), saved under one
folder — what ``--from DIR`` reads and a live import saves:

| file | endpoint |
|---|---|
| ``deployments.json`` | ``GET /repos/{owner}/{repo}/deployments`` |
| ``deployments/{id}/statuses.json`` | ``GET /repos/{owner}/{repo}/deployments/{id}/statuses`` |
| ``releases.json`` | ``GET /repos/{owner}/{repo}/releases`` |
| ``pulls.json`` | ``GET /repos/{owner}/{repo}/pulls?state=closed`` |
| ``pulls/{number}/commits.json`` | ``GET /repos/{owner}/{repo}/pulls/{number}/commits`` |
| ``issues.json`` | ``GET /repos/{owner}/{repo}/issues?state=all&labels=Incident`` |

A deployment counts when its ``environment`` is the production one (``--environment``, default
``production``; or ``production_environment`` is true) and one of its statuses is ``success``:
its time is that status's ``created_at``. Without ``deployments.json`` (or with
``--deployments-from releases``) the published releases are the deployments instead: drafts and
pre-releases are skipped and counted, each release is timed at ``published_at`` and deploys the
commit its tag names when saved (``target_commitish`` when it is a SHA). Changes: the commits of
merged pull requests (``merged_at`` set), at their author date. Incidents: issues (not pull
requests) carrying the ``Incident`` label, opened at ``created_at``, resolved at ``closed_at``.
"""

from __future__ import annotations

import re

from sim.errors import InputError
from sim.importers.files import (
    SHA,
    MemorySource,
    Source,
    id_value,
    list_value,
    parse_time,
    sha_value,
    text_value,
)
from sim.importers.forge import Forge, ForgeDeployment, unique
from sim.importers.forge_fetch import Fetch, fetch_deployments, memory
from sim.importers.forge_read import choose_deployments, read_forge
from sim.importers.http import Client, Limits
from sim.importers.incidents import IncidentRecord
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs

API_URL = "https://api.github.com"
MARKERS = ("deployments.json", "releases.json", "pulls.json", "issues.json")
NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}")

FORGE = Forge(
    name="github",
    title="GitHub",
    request="pull request",
    requests_file="pulls.json",
    requests_dir="pulls",
    request_id="number",
    extra_shas=("head.sha",),
    merged_state=None,
    commit_id="sha",
    commit_parents="parents",
    commit_dates=("commit.author.date",),
    issue_id="number",
    issue_body="body",
    incident_type=False,
    pull_request_key="pull_request",
)


def read_deployments(source: Source, environment: str, report: ImportReport) -> list[ForgeDeployment]:
    items = source.json("deployments.json", "deployments")
    assert items is not None
    name = f"{source.name}/deployments.json"
    ids = [id_value(item.get("id"), f"{name} item {i}", "id") for i, item in enumerate(items)]
    unique(ids, name, "deployment id")
    out = []
    for position, (item, deploy_id) in enumerate(zip(items, ids, strict=True)):
        where = f"{name} item {position}"
        report.count("deployments read")
        env = text_value(item.get("environment"), where, "environment")
        production = env == environment or item.get("production_environment") is True
        if not production:
            report.skip("deployment", f"environment {env!r} is not {environment!r}", deploy_id)
            continue
        statuses = source.json(
            f"deployments/{deploy_id}/statuses.json", "deployment statuses", required=False
        )
        status_where = f"{source.name}/deployments/{deploy_id}/statuses.json"
        if statuses is None:
            statuses = list_value(item.get("statuses"), where, "statuses")
            status_where = f"{where} statuses"
        if statuses is None:
            report.skip("deployment", "its statuses were not saved", deploy_id)
            continue
        states, success = set(), []
        for number, status in enumerate(statuses):
            if not isinstance(status, dict):
                raise InputError(
                    f"{status_where} item {number}: expected a JSON object, found something else"
                )
            state = text_value(status.get("state"), f"{status_where} item {number}", "state") or "none"
            states.add(state)
            if state == "success":
                stamp = parse_time(
                    status.get("created_at"), f"{status_where} item {number}", "created_at", required=True
                )
                assert stamp is not None
                success.append(stamp)
        if not success:
            report.skip(
                "deployment", f"no success status (states: {', '.join(sorted(states)) or 'none'})", deploy_id
            )
            continue
        requested = parse_time(item.get("created_at"), where, "created_at", required=True)
        sha = sha_value(item.get("sha"), where, "sha", required=True)
        assert requested is not None and sha is not None
        out.append(ForgeDeployment(deploy_id, sha, requested, min(success)))
    return out


def read_releases(source: Source, report: ImportReport) -> list[ForgeDeployment]:
    """Published releases as deployments (drafts and pre-releases skipped and counted)."""
    items = source.json("releases.json", "releases")
    assert items is not None
    name = f"{source.name}/releases.json"
    unique(
        [id_value(item.get("id"), f"{name} item {i}", "id") for i, item in enumerate(items)],
        name,
        "release id",
    )
    tags = _tag_commits(source)
    out = []
    for position, item in enumerate(items):
        where = f"{name} item {position}"
        report.count("releases read")
        tag = text_value(item.get("tag_name"), where, "tag_name", required=True, limit=250)
        assert tag is not None
        if item.get("draft") is True:
            report.skip("release", "a draft", tag)
            continue
        if item.get("prerelease") is True:
            report.skip("release", "a pre-release", tag)
            continue
        published = parse_time(item.get("published_at"), where, "published_at", required=False)
        created = parse_time(item.get("created_at"), where, "created_at", required=False)
        when = published or created
        if when is None:
            report.skip("release", "not published (no published_at)", tag)
            continue
        target = text_value(item.get("target_commitish"), where, "target_commitish", limit=250)
        sha = tags.get(tag) or (
            target.lower() if target and SHA.fullmatch(target) and len(target) == 40 else None
        )
        out.append(ForgeDeployment(tag, sha or f"tag:{tag}", min(created or when, when), when))
    if out:
        unique([d.deploy_id for d in out], name, "tag_name")
    return out


def _tag_commits(source: Source) -> dict[str, str]:
    """Tag name → commit SHA from ``tags.json`` (``GET /repos/{owner}/{repo}/tags``), when saved."""
    items = source.json("tags.json", "tags", required=False) or []
    out = {}
    for position, item in enumerate(items):
        where = f"{source.name}/tags.json item {position}"
        tag = text_value(item.get("name"), where, "name", limit=250)
        commit = item.get("commit")
        sha = sha_value(commit.get("sha") if isinstance(commit, dict) else None, where, "commit.sha")
        if tag and sha:
            out[tag] = sha
    return out


def import_github(
    source: Source,
    *,
    environment: str = "production",
    label: str = "Incident",
    extra_incidents: list[IncidentRecord] | None = None,
    deployments_from: str = "auto",
    report: ImportReport | None = None,
) -> tuple[EventLogs, ImportReport]:
    """Logs from saved (or just fetched) GitHub API responses."""
    report = report or ImportReport("github")
    deployments = choose_deployments(
        source,
        deployments_from,
        report,
        lambda: read_deployments(source, environment, report),
        lambda: read_releases(source, report),
    )
    return read_forge(
        FORGE,
        source,
        deployments,
        environment=environment,
        label=label,
        extra_incidents=extra_incidents,
        report=report,
    )


def check_repo(repo: str) -> str:
    owner, sep, name = repo.partition("/")
    if (
        not sep
        or not NAME.fullmatch(owner)
        or not NAME.fullmatch(name)
        or name in (".", "..")
        or owner in (".", "..")
    ):
        raise InputError(f"--repo {repo!r}: expected OWNER/NAME (letters, digits, '.', '-' and '_')")
    return repo


def fetch_github(
    repo: str,
    token: str,
    *,
    api_url: str = API_URL,
    environment: str = "production",
    label: str = "Incident",
    client: Client | None = None,
    max_wait: float | None = None,
    deployments_from: str = "auto",
    limits: Limits | None = None,
    ci: bool = False,
) -> MemorySource:
    """Fetch the files of the module docstring from the live API (or a server replaying it)."""
    check_repo(repo)
    client = client or Client(
        api_url,
        {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "dorasim-import",
        },
        auth={"Authorization": f"Bearer {token}"},
        max_wait=max_wait,
        limits=limits,
    )
    fetch = Fetch(client, f"repos/{repo}")
    try:
        fetch_deployments(
            fetch,
            deployments_from,
            lambda: fetch.each(
                fetch.save("deployments.json", "deployments", {"environment": environment}, "deployments"),
                "id",
                "deployments/{id}/statuses.json",
                "deployments/{id}/statuses",
                "deployment statuses",
            ),
            lambda: (
                fetch.save("releases.json", "releases", None, "releases"),
                fetch.save("tags.json", "tags", None, "tags"),
            ),
        )
        pulls = fetch.save("pulls.json", "pulls", {"state": "closed"}, "pull requests")
        fetch.each(
            pulls,
            "number",
            "pulls/{id}/commits.json",
            "pulls/{id}/commits",
            "pull request commits",
            keep=lambda pull: bool(pull.get("merged_at")),
        )
        fetch.save("issues.json", "issues", {"state": "all", "labels": label}, "issues")
        if ci:
            runs = fetch.save("actions/runs.json", "actions/runs", None, "workflow runs", key="workflow_runs")
            fetch.each(
                runs, "id", "actions/runs/{id}/jobs.json", "actions/runs/{id}/jobs", "jobs", list_key="jobs"
            )
    finally:
        client.close()
    return memory(fetch, api_url)
