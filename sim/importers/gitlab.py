"""GitLab's REST API (v4) responses as event logs (docs/import.md, "GitLab").

Files (one JSON array each, as the API returns them, or pages in any of the shapes GitHub's
files may take), saved under one folder:

| file | endpoint |
|---|---|
| ``deployments.json`` | ``GET /projects/:id/deployments`` |
| ``deployments/{id}/merge_requests.json`` (optional) | ``GET /projects/:id/deployments/:deployment_id/merge_requests`` |
| ``releases.json`` | ``GET /projects/:id/releases`` |
| ``merge_requests.json`` | ``GET /projects/:id/merge_requests?state=merged`` |
| ``merge_requests/{iid}/commits.json`` | ``GET /projects/:id/merge_requests/:iid/commits`` |
| ``issues.json`` | ``GET /projects/:id/issues?labels=Incident`` |

A deployment counts when its ``status`` is ``success`` (GitLab's statuses are ``created``,
``running``, ``success``, ``failed``, ``canceled``, ``skipped`` and ``blocked``: the others are
counted in the report) and its ``environment.name`` is the production one (``--environment``,
default ``production``); its time is the deploying job's ``deployable.finished_at`` (else
``finished_at``, else ``updated_at``). Without ``deployments.json`` (or with ``--deployments-from
releases``) the releases are the deployments: upcoming ones (``upcoming_release``) are skipped and
counted, each is timed at ``released_at`` and deploys ``commit.id``. Changes: the commits of merged
merge requests, at ``authored_date``. Incidents: issues labelled ``Incident`` or of ``issue_type``
``incident``.
"""

from __future__ import annotations

from urllib.parse import quote

from sim.errors import InputError
from sim.importers.files import MemorySource, Source, id_value, parse_time, path_value, sha_value, text_value
from sim.importers.forge import Forge, ForgeDeployment, unique
from sim.importers.forge_fetch import Fetch, fetch_deployments, memory
from sim.importers.forge_read import choose_deployments, read_forge
from sim.importers.http import Client, Limits
from sim.importers.incidents import IncidentRecord
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs

API_URL = "https://gitlab.com/api/v4"
MARKERS = ("deployments.json", "releases.json", "merge_requests.json", "issues.json")
STATUSES = ("created", "running", "success", "failed", "canceled", "skipped", "blocked")

FORGE = Forge(
    name="gitlab",
    title="GitLab",
    request="merge request",
    requests_file="merge_requests.json",
    requests_dir="merge_requests",
    request_id="iid",
    extra_shas=("squash_commit_sha", "sha"),
    merged_state="merged",
    commit_id="id",
    commit_parents="parent_ids",
    commit_dates=("authored_date", "created_at"),
    issue_id="iid",
    issue_body="description",
    incident_type=True,
    pull_request_key=None,
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
        env = item.get("environment")
        env_name = text_value(env.get("name") if isinstance(env, dict) else env, where, "environment.name")
        if env_name != environment:
            report.skip("deployment", f"environment {env_name!r} is not {environment!r}", deploy_id)
            continue
        status = text_value(item.get("status"), where, "status")
        if status != "success":
            report.skip("deployment", f"status {status!r} is not success", deploy_id)
            continue
        requested = parse_time(item.get("created_at"), where, "created_at", required=True)
        when, used = None, "finished_at"
        for key in ("deployable.finished_at", "finished_at", "updated_at"):
            when, used = path_value(item, key, where), key
            if when is not None:
                break
        finished = parse_time(when, where, used, required=True)
        sha = sha_value(item.get("sha"), where, "sha", required=True)
        assert requested is not None and finished is not None and sha is not None
        named = source.json(f"deployments/{deploy_id}/merge_requests.json", "merge requests", required=False)
        requests = None
        if named is not None:
            mr_name = f"{source.name}/deployments/{deploy_id}/merge_requests.json"
            requests = tuple(
                id_value(m.get("iid"), f"{mr_name} item {i}", "iid") for i, m in enumerate(named)
            )
        out.append(ForgeDeployment(deploy_id, sha, requested, finished, requests))
    return out


def read_releases(source: Source, report: ImportReport) -> list[ForgeDeployment]:
    """Releases as deployments (upcoming ones skipped and counted)."""
    items = source.json("releases.json", "releases")
    assert items is not None
    name = f"{source.name}/releases.json"
    out = []
    for position, item in enumerate(items):
        where = f"{name} item {position}"
        report.count("releases read")
        tag = text_value(item.get("tag_name"), where, "tag_name", required=True, limit=250)
        assert tag is not None
        if item.get("upcoming_release") is True:
            report.skip("release", "an upcoming release (released_at in the future)", tag)
            continue
        released = parse_time(item.get("released_at"), where, "released_at", required=False)
        created = parse_time(item.get("created_at"), where, "created_at", required=False)
        when = released or created
        if when is None:
            report.skip("release", "no released_at", tag)
            continue
        sha = sha_value(path_value(item, "commit.id", where), where, "commit.id")
        out.append(ForgeDeployment(tag, sha or f"tag:{tag}", min(created or when, when), when))
    unique([d.deploy_id for d in out], name, "tag_name")
    return out


def import_gitlab(
    source: Source,
    *,
    environment: str = "production",
    label: str = "Incident",
    extra_incidents: list[IncidentRecord] | None = None,
    deployments_from: str = "auto",
    report: ImportReport | None = None,
) -> tuple[EventLogs, ImportReport]:
    """Logs from saved (or just fetched) GitLab API responses."""
    report = report or ImportReport("gitlab")
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


def check_project(project: str) -> str:
    parts = project.split("/")
    plain = all(
        p and p not in (".", "..") and all(c.isalnum() or c in "._-" for c in p) and p.isascii()
        for p in parts
    )
    if not plain or len(project) > 500 or ("/" not in project and not project.isdigit()):
        raise InputError(f"--repo {project!r}: expected GROUP/PROJECT (or a numeric project id)")
    return project


def fetch_gitlab(
    project: str,
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
    check_project(project)
    client = client or Client(
        api_url,
        {"User-Agent": "dorasim-import"},
        auth={"PRIVATE-TOKEN": token},
        max_wait=max_wait,
        limits=limits,
    )
    fetch = Fetch(client, f"projects/{quote(project, safe='')}")
    try:
        fetch_deployments(
            fetch,
            deployments_from,
            lambda: fetch.each(
                fetch.save("deployments.json", "deployments", {"environment": environment}, "deployments"),
                "id",
                "deployments/{id}/merge_requests.json",
                "deployments/{id}/merge_requests",
                "deployment merge requests",
                keep=lambda d: d.get("status") == "success",
            ),
            lambda: fetch.save("releases.json", "releases", None, "releases"),
        )
        requests = fetch.save(
            "merge_requests.json", "merge_requests", {"state": "merged", "scope": "all"}, "merge requests"
        )
        fetch.each(
            requests,
            "iid",
            "merge_requests/{id}/commits.json",
            "merge_requests/{id}/commits",
            "merge request commits",
        )
        fetch.save("issues.json", "issues", {"labels": label, "scope": "all"}, "issues")
        if ci:
            pipelines = fetch.save("pipelines.json", "pipelines", None, "pipelines")
            fetch.each(pipelines, "id", "pipelines/{id}/jobs.json", "pipelines/{id}/jobs", "jobs")
    finally:
        client.close()
    return memory(fetch, api_url)
