"""The three logs from what a provider's API returned: each merged request shipped by the deployment the
provider names, else by the first to carry its merge commit, else by the first after it merged
(:mod:`sim.importers.forge`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sim.importers.forge import ForgeDeployment, MergedRequest
from sim.importers.incidents import IncidentRecord, link_incidents
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs, make_logs


def _assign(
    deployments: Sequence[ForgeDeployment], requests: Sequence[MergedRequest], report: ImportReport
) -> dict[str, list[MergedRequest]]:
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
            report.skip(
                "merged request",
                "no successful production deployment after it merged (not deployed)",
                request.number,
            )
            continue
        counts[how] += 1
        shipped[target.deploy_id].append(request)
    report.links["merged_requests_to_deployments"] = counts
    return shipped


def build_logs(
    deployments: Sequence[ForgeDeployment],
    requests: Sequence[MergedRequest],
    incidents: Sequence[IncidentRecord],
    report: ImportReport,
) -> EventLogs:
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
        deploy_rows.append(
            {
                "deploy_id": deployment.deploy_id,
                "time_created": deployment.finished,
                "change_ids": " ".join(ids),
                "commit": deployment.sha,
            }
        )
    for request in undeployed:
        for sha, authored in _changes_of(request, report):
            if sha not in seen:
                seen.add(sha)
                change_rows.append({"change_id": sha, "time_created": authored, "request": request.number})
    deploy_frame = pd.DataFrame(deploy_rows, columns=["deploy_id", "time_created", "change_ids", "commit"])
    deploy_frame["time_created"] = pd.to_datetime(deploy_frame["time_created"], utc=True)
    incident_rows = link_incidents(incidents, deploy_frame, report)
    report.written = {
        "changes": len(change_rows),
        "deployments": len(deploy_rows),
        "incidents": len(incident_rows),
    }
    return make_logs(
        pd.DataFrame(change_rows, columns=["change_id", "time_created", "request"]),
        deploy_frame,
        pd.DataFrame(
            incident_rows,
            columns=[
                "incident_id",
                "time_created",
                "time_resolved",
                "deploy_id",
                "root_cause",
                "service",
                "source",
                "linked",
            ],
        ),
    )


def _changes_of(request: MergedRequest, report: ImportReport) -> list[tuple[str, pd.Timestamp]]:
    if request.commits is not None:
        return list(request.commits)
    report.skip(
        "merged request commits",
        "not saved; the request counts as one change opened when it was",
        request.number,
    )
    return [(request.merge_sha or f"request-{request.number}", request.opened)]
