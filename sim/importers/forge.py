"""What GitHub and GitLab have in common once read: deployments, merged pull/merge requests with
their commits, and incident issues — turned into the three logs (docs/import.md, "GitHub and GitLab").

One reader serves both providers: :class:`Forge` is the table of the field names in which they
differ (``number`` vs ``iid``, ``body`` vs ``description``, ``commit.author.date`` vs
``authored_date`` …), and only the deployments — whose shapes really differ — are read by each
provider's module.

- A deployment ships the commits of every merged request it is the first to carry: the one the
  provider names (GitLab's ``deployments/:id/merge_requests``), else the first successful
  production deployment of the merge commit itself, else the first one requested at or after
  the merge (the APIs do not expose the commit graph, so this rule stands in for ancestry);
- a change is a commit of a merged request, created at its author date; a request whose
  commits were not saved counts as one change created when the request was opened;
- an incident issue names its root cause in its body (``root cause: <sha or deployment id>``,
  the Four Keys convention); it is linked by that name, else by the rule of
  :func:`sim.importers.incidents.link_incidents`.

Every field read is checked for its type and range (ids that become paths are digits only, SHAs
hexadecimal, dates in the accepted range, no duplicate ids, no issue closed before it opened):
anything else stops the import with one line naming the file, the item and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.importers.files import (
    MemorySource,
    Source,
    id_value,
    list_value,
    object_value,
    parse_time,
    path_value,
    sha_value,
    text_value,
)
from sim.importers.http import Client, dump
from sim.importers.incidents import IncidentRecord, link_incidents
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs, make_logs

ROOT_CAUSE = re.compile(r"root cause:\s*([0-9A-Za-z_.\-]{1,200})", re.IGNORECASE)


@dataclass(frozen=True)
class Forge:
    """Where a provider keeps each field the shared reader needs."""

    name: str  # "github"
    title: str  # "GitHub"
    request: str  # "pull request"
    requests_file: str  # "pulls.json"
    requests_dir: str  # "pulls": the commits of request N are in <dir>/N/commits.json
    request_id: str  # "number"
    extra_shas: tuple[str, ...]  # dotted fields of other commits that identify a merged request
    merged_state: str | None  # the request's "state" when merged, if the provider filters on it
    commit_id: str  # "sha"
    commit_parents: str  # "parents"
    commit_dates: tuple[str, ...]  # dotted fields of a commit's author date, first present wins
    issue_id: str  # "number"
    issue_body: str  # "body"
    incident_type: bool  # GitLab: an issue of issue_type "incident" is an incident whatever its labels
    pull_request_key: str | None  # GitHub: issues with this key are pull requests


@dataclass(frozen=True)
class ForgeDeployment:
    deploy_id: str
    sha: str
    requested: pd.Timestamp  # when the deployment was created (its commit fixed)
    finished: pd.Timestamp  # when it succeeded: the deployment's time in the logs
    merge_requests: tuple[str, ...] | None = None  # ids the provider says it shipped


@dataclass(frozen=True)
class MergedRequest:
    number: str
    opened: pd.Timestamp
    merged: pd.Timestamp
    merge_sha: str | None
    commits: tuple[tuple[str, pd.Timestamp], ...] | None  # (sha, author date); None = not saved
    extra_shas: tuple[str, ...] = field(default=())  # squash or head commits that also identify it


def root_cause(body: str | None) -> str | None:
    match = ROOT_CAUSE.search(body or "")
    return match.group(1) if match else None


def unique(ids: Sequence[str], name: str, what: str) -> None:
    """One line when an id appears twice in one file."""
    seen: dict[str, int] = {}
    for position, value in enumerate(ids):
        if value in seen:
            raise InputError(f"{name} item {position}: duplicate {what} {value!r} (first at item {seen[value]})")
        seen[value] = position


# ---------------------------------------------------------------------------------------------
# Reading saved files


def read_requests(forge: Forge, source: Source, report: ImportReport) -> list[MergedRequest]:
    items = source.json(forge.requests_file, f"{forge.request}s", required=False)
    if items is None:
        report.note(f"no {forge.requests_file}: no changes were read")
        return []
    name = f"{source.name}/{forge.requests_file}"
    numbers = [id_value(item.get(forge.request_id), f"{name} item {i}", forge.request_id) for i, item in enumerate(items)]
    unique(numbers, name, f"{forge.request} {forge.request_id}")
    out = []
    for position, (item, number) in enumerate(zip(items, numbers, strict=True)):
        where = f"{name} item {position}"
        report.count(f"{forge.request}s read")
        merged = parse_time(item.get("merged_at"), where, "merged_at", required=False)
        state = text_value(item.get("state"), where, "state")
        if merged is None or (forge.merged_state and state not in (None, forge.merged_state)):
            report.skip(forge.request, "not merged", number)
            continue
        opened = parse_time(item.get("created_at"), where, "created_at", required=True)
        assert opened is not None
        if merged < opened:
            raise InputError(f"{where}: merged_at {merged.isoformat()} is before created_at {opened.isoformat()}")
        merge_sha = sha_value(item.get("merge_commit_sha"), where, "merge_commit_sha")
        extra = tuple(s for s in (sha_value(path_value(item, key, where), where, key) for key in forge.extra_shas) if s)
        relative = f"{forge.requests_dir}/{number}/commits.json"
        commits = source.json(relative, f"{forge.request} commits", required=False)
        out.append(MergedRequest(number, opened, merged, merge_sha,
                                 _commits(forge, commits, f"{source.name}/{relative}") if commits is not None else None,
                                 extra))
    return out


def _commits(forge: Forge, items: list[dict[str, Any]], name: str) -> tuple[tuple[str, pd.Timestamp], ...]:
    out = []
    for position, item in enumerate(items):
        where = f"{name} item {position}"
        sha = sha_value(item.get(forge.commit_id), where, forge.commit_id, required=True)
        assert sha is not None
        parents = list_value(item.get(forge.commit_parents), where, forge.commit_parents)
        if parents is not None and len(parents) > 1:
            continue  # a merge commit is not a change
        value, used = None, forge.commit_dates[0]
        for key in forge.commit_dates:
            value = path_value(item, key, where)
            if value is not None:
                used = key
                break
        authored = parse_time(value, where, used, required=True)
        assert authored is not None
        out.append((sha, authored))
    return tuple(out)


def _labels(value: Any, where: str) -> set[str]:
    labels = list_value(value, where, "labels") or []
    out = set()
    for position, label in enumerate(labels):
        name = label.get("name") if isinstance(label, dict) else label
        text = text_value(name, where, f"labels[{position}]")
        if text is not None:
            out.add(text)
    return out


def read_incident_issues(forge: Forge, source: Source, label: str, report: ImportReport) -> list[IncidentRecord]:
    items = source.json("issues.json", "issues", required=False)
    if items is None:
        return []
    name = f"{source.name}/issues.json"
    numbers = [id_value(item.get(forge.issue_id), f"{name} item {i}", forge.issue_id) for i, item in enumerate(items)]
    unique(numbers, name, f"issue {forge.issue_id}")
    out = []
    for position, (item, number) in enumerate(zip(items, numbers, strict=True)):
        where = f"{name} item {position}"
        report.count("issues read")
        if forge.pull_request_key and item.get(forge.pull_request_key) is not None:
            report.skip("issue", "a pull request, not an issue", number)
            continue
        incident_type = forge.incident_type and item.get("issue_type") == "incident"
        if label not in _labels(item.get("labels"), where) and not incident_type:
            why = f"no {label!r} label" + (" and not of type incident" if forge.incident_type else "")
            report.skip("issue", why, number)
            continue
        created = parse_time(item.get("created_at"), where, "created_at", required=True)
        closed = parse_time(item.get("closed_at"), where, "closed_at", required=False)
        assert created is not None
        if closed is not None and closed < created:
            raise InputError(f"{where}: closed_at {closed.isoformat()} is before created_at {created.isoformat()}")
        cause = root_cause(text_value(item.get(forge.issue_body), where, forge.issue_body, limit=1_000_000))
        out.append(IncidentRecord(number, created, closed, deploy=cause, root_cause=cause, source=forge.name))
    return out


DEPLOYMENTS_FROM = ("auto", "deployments", "releases")


def choose_deployments(source: Source, deployments_from: str, report: ImportReport,
                       read_deployments: Callable[[], list[ForgeDeployment]],
                       read_releases: Callable[[], list[ForgeDeployment]]) -> list[ForgeDeployment]:
    """The provider's Deployments, or its Releases when there are none (``auto``) or when asked to."""
    if deployments_from not in DEPLOYMENTS_FROM:
        raise InputError(f"--deployments-from {deployments_from!r}: choose one of {', '.join(DEPLOYMENTS_FROM)}")
    has_deployments = bool(source.json("deployments.json", "deployments", required=False))
    has_releases = source.read("releases.json") is not None
    use_releases = deployments_from == "releases" or (deployments_from == "auto" and not has_deployments
                                                      and has_releases)
    report.settings["deployments_from"] = "releases" if use_releases else "deployments"
    if not use_releases:
        return read_deployments()
    if not has_releases:
        raise InputError(f"{source.name}: no releases.json (expected the releases as the API returns them)")
    report.note("deployments are the releases (no Deployments were used)")
    return read_releases()


def read_forge(forge: Forge, source: Source, deployments: list[ForgeDeployment], *, environment: str, label: str,
               extra_incidents: list[IncidentRecord] | None, report: ImportReport) -> tuple[EventLogs, ImportReport]:
    """The logs from a provider's deployments (read by its module) and the shared requests and issues."""
    report.settings.update({"from": source.name, "environment": environment, "incident_label": label})
    unique([d.deploy_id for d in deployments], f"{source.name}/deployments.json", "deployment id")
    requests = read_requests(forge, source, report)
    incidents = read_incident_issues(forge, source, label, report) + list(extra_incidents or [])
    seen: dict[str, str] = {}
    for record in incidents:
        if record.incident_id in seen:
            raise InputError(f"incident id {record.incident_id!r} comes from both {seen[record.incident_id]} and "
                             f"{record.source or 'the incident export'}; ids must be unique")
        seen[record.incident_id] = record.source or "the incident export"
    logs = build_logs(deployments, requests, incidents, report)
    if not deployments:
        report.note("0 deployments were written: " + (report.why_none() or "the source holds none"))
    return logs, report


# ---------------------------------------------------------------------------------------------
# The logs


def _assign(deployments: Sequence[ForgeDeployment], requests: Sequence[MergedRequest],
            report: ImportReport) -> dict[str, list[MergedRequest]]:
    by_sha: dict[str, ForgeDeployment] = {}
    for deployment in deployments:
        by_sha.setdefault(deployment.sha, deployment)
    named: dict[str, ForgeDeployment] = {}
    for deployment in deployments:
        for number in deployment.merge_requests or ():
            named.setdefault(number, deployment)
    shipped: dict[str, list[MergedRequest]] = {d.deploy_id: [] for d in deployments}
    counts = {"named_by_provider": 0, "merge_commit_deployed": 0, "first_deployment_after_merge": 0}
    for request in sorted(requests, key=lambda r: (r.merged, r.number)):
        target = named.get(request.number)
        how = "named_by_provider"
        if target is None:
            shas = [s for s in (request.merge_sha, *request.extra_shas) if s]
            target = next((by_sha[s] for s in shas if s in by_sha), None)
            how = "merge_commit_deployed"
        if target is None:
            target = next((d for d in deployments if d.requested >= request.merged), None)
            how = "first_deployment_after_merge"
        if target is None:
            report.skip("merged request", "no successful production deployment after it merged (not deployed)",
                        request.number)
            continue
        counts[how] += 1
        shipped[target.deploy_id].append(request)
    report.links["merged_requests_to_deployments"] = counts
    return shipped


def build_logs(deployments: Sequence[ForgeDeployment], requests: Sequence[MergedRequest],
               incidents: Sequence[IncidentRecord], report: ImportReport) -> EventLogs:
    """The three logs from what a provider's API returned."""
    ordered = sorted(deployments, key=lambda d: (d.finished, d.deploy_id))
    shipped = _assign(ordered, requests, report)
    seen: set[str] = set()
    change_rows, deploy_rows = [], []
    assigned = {r.number for listed in shipped.values() for r in listed}
    undeployed = [r for r in requests if r.number not in assigned]
    for deployment in ordered:
        ids = []
        for request in shipped[deployment.deploy_id]:
            for sha, authored in _changes_of(request, report):
                if sha in seen:
                    continue
                seen.add(sha)
                ids.append(sha)
                change_rows.append({"change_id": sha, "time_created": authored, "request": request.number})
        deploy_rows.append({"deploy_id": deployment.deploy_id, "time_created": deployment.finished,
                            "change_ids": " ".join(ids), "commit": deployment.sha})
    for request in undeployed:
        for sha, authored in _changes_of(request, report):
            if sha not in seen:
                seen.add(sha)
                change_rows.append({"change_id": sha, "time_created": authored, "request": request.number})
    deploy_frame = pd.DataFrame(deploy_rows, columns=["deploy_id", "time_created", "change_ids", "commit"])
    deploy_frame["time_created"] = pd.to_datetime(deploy_frame["time_created"], utc=True)
    incident_rows = link_incidents(incidents, deploy_frame, report)
    report.written = {"changes": len(change_rows), "deployments": len(deploy_rows), "incidents": len(incident_rows)}
    return make_logs(pd.DataFrame(change_rows, columns=["change_id", "time_created", "request"]), deploy_frame,
                     pd.DataFrame(incident_rows, columns=["incident_id", "time_created", "time_resolved", "deploy_id",
                                                          "root_cause", "service", "source", "linked"]))


def _changes_of(request: MergedRequest, report: ImportReport) -> list[tuple[str, pd.Timestamp]]:
    if request.commits is not None:
        return list(request.commits)
    report.skip("merged request commits", "not saved; the request counts as one change opened when it was",
                request.number)
    return [(request.merge_sha or f"request-{request.number}", request.opened)]


# ---------------------------------------------------------------------------------------------
# Fetching live


class Fetch:
    """The files of one live import, fetched list by list into memory (saved later by the CLI)."""

    def __init__(self, client: Client, base: str):
        self.client, self.base = client, base
        self.files: dict[str, bytes] = {}

    def save(self, relative: str, path: str, params: dict[str, Any] | None = None,
             what: str = "items", key: str | None = None) -> list[dict[str, Any]]:
        items = self.client.get_all(f"{self.base}/{path}", params, what, key)
        self.files[relative] = dump(items, relative)
        return items

    def each(self, items: list[dict[str, Any]], key: str, relative: str, path: str, what: str,
             keep: Callable[[dict[str, Any]], bool] = lambda item: True, list_key: str | None = None) -> None:
        """For each item, save the list ``path`` (``{id}`` = the item's numeric ``key``) under ``relative``."""
        for position, item in enumerate(items):
            if not keep(item):
                continue
            number = id_value(item.get(key), f"{self.client.base_url}/{self.base} {what} {position}", key)
            self.save(relative.format(id=number), path.format(id=number), what=what, key=list_key)


def fetch_deployments(fetch: Fetch, deployments_from: str, deployments: Callable[[], object],
                      releases: Callable[[], object]) -> None:
    """Fetch the Deployments, and the Releases when asked to or when there are no Deployments (``auto``)."""
    if deployments_from != "releases":
        deployments()
    if deployments_from == "releases" or (deployments_from == "auto"
                                          and not fetch.files.get("deployments.json", b"[]").strip(b"[] \n")):
        releases()
        if deployments_from == "auto":
            fetch.files.pop("deployments.json", None)  # empty: the releases stand in


def check_object(value: Any, where: str, what: str) -> dict[str, Any]:
    found = object_value(value, where, what)
    return found if found is not None else {}


def memory(fetch: Fetch, api_url: str) -> MemorySource:
    return MemorySource(fetch.files, f"{api_url.rstrip('/')}/{fetch.base}")
