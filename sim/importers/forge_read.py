"""Reading what GitHub and GitLab saved — merged requests with their commits, incident issues — through a
provider's field table (:mod:`sim.importers.forge`), and choosing its Deployments or its Releases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.importers.files import Source, id_value, list_value, parse_time, path_value, sha_value, text_value
from sim.importers.forge import Forge, ForgeDeployment, MergedRequest, root_cause, unique
from sim.importers.forge_logs import build_logs
from sim.importers.incidents import IncidentRecord
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs


def read_requests(forge: Forge, source: Source, report: ImportReport) -> list[MergedRequest]:
    items = source.json(forge.requests_file, f"{forge.request}s", required=False)
    if items is None:
        report.note(f"no {forge.requests_file}: no changes were read")
        return []
    name = f"{source.name}/{forge.requests_file}"
    numbers = [
        id_value(item.get(forge.request_id), f"{name} item {i}", forge.request_id)
        for i, item in enumerate(items)
    ]
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
            raise InputError(
                f"{where}: merged_at {merged.isoformat()} is before created_at {opened.isoformat()}"
            )
        merge_sha = sha_value(item.get("merge_commit_sha"), where, "merge_commit_sha")
        extra = tuple(
            s for s in (sha_value(path_value(item, key, where), where, key) for key in forge.extra_shas) if s
        )
        relative = f"{forge.requests_dir}/{number}/commits.json"
        commits = source.json(relative, f"{forge.request} commits", required=False)
        out.append(
            MergedRequest(
                number,
                opened,
                merged,
                merge_sha,
                _commits(forge, commits, f"{source.name}/{relative}") if commits is not None else None,
                extra,
            )
        )
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


def read_incident_issues(
    forge: Forge, source: Source, label: str, report: ImportReport
) -> list[IncidentRecord]:
    items = source.json("issues.json", "issues", required=False)
    if items is None:
        return []
    name = f"{source.name}/issues.json"
    numbers = [
        id_value(item.get(forge.issue_id), f"{name} item {i}", forge.issue_id) for i, item in enumerate(items)
    ]
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
            raise InputError(
                f"{where}: closed_at {closed.isoformat()} is before created_at {created.isoformat()}"
            )
        cause = root_cause(text_value(item.get(forge.issue_body), where, forge.issue_body, limit=1_000_000))
        out.append(IncidentRecord(number, created, closed, deploy=cause, root_cause=cause, source=forge.name))
    return out


DEPLOYMENTS_FROM = ("auto", "deployments", "releases")


def choose_deployments(
    source: Source,
    deployments_from: str,
    report: ImportReport,
    read_deployments: Callable[[], list[ForgeDeployment]],
    read_releases: Callable[[], list[ForgeDeployment]],
) -> list[ForgeDeployment]:
    """The provider's Deployments, or its Releases when there are none (``auto``) or when asked to."""
    if deployments_from not in DEPLOYMENTS_FROM:
        raise InputError(
            f"--deployments-from {deployments_from!r}: choose one of {', '.join(DEPLOYMENTS_FROM)}"
        )
    has_deployments = bool(source.json("deployments.json", "deployments", required=False))
    has_releases = source.read("releases.json") is not None
    use_releases = deployments_from == "releases" or (
        deployments_from == "auto" and not has_deployments and has_releases
    )
    report.settings["deployments_from"] = "releases" if use_releases else "deployments"
    if not use_releases:
        return read_deployments()
    if not has_releases:
        raise InputError(f"{source.name}: no releases.json (expected the releases as the API returns them)")
    report.note("deployments are the releases (no Deployments were used)")
    return read_releases()


def read_forge(
    forge: Forge,
    source: Source,
    deployments: list[ForgeDeployment],
    *,
    environment: str,
    label: str,
    extra_incidents: list[IncidentRecord] | None,
    report: ImportReport,
) -> tuple[EventLogs, ImportReport]:
    """The logs from a provider's deployments (read by its module) and the shared requests and issues."""
    report.settings.update({"from": source.name, "environment": environment, "incident_label": label})
    unique([d.deploy_id for d in deployments], f"{source.name}/deployments.json", "deployment id")
    requests = read_requests(forge, source, report)
    incidents = read_incident_issues(forge, source, label, report) + list(extra_incidents or [])
    seen: dict[str, str] = {}
    for record in incidents:
        if record.incident_id in seen:
            raise InputError(
                f"incident id {record.incident_id!r} comes from both {seen[record.incident_id]} and "
                f"{record.source or 'the incident export'}; ids must be unique"
            )
        seen[record.incident_id] = record.source or "the incident export"
    logs = build_logs(deployments, requests, incidents, report)
    if not deployments:
        report.note("0 deployments were written: " + (report.why_none() or "the source holds none"))
    return logs, report
