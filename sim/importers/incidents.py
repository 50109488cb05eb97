"""Incidents from an incident tool, linked to deployments (docs/import.md, "incidents").

Formats:

- ``pagerduty``: the REST API's ``GET /incidents`` response (``{"incidents": [...]}``, a list
  of them, or a bare array) or the incident CSV export (``id``, ``created_on``,
  ``resolved_on``, ``service_name``). Resolved at ``resolved_at``, else — for a resolved
  incident — at ``last_status_change_at``; the service is ``service.summary``;
- ``opsgenie``: the Alert API's ``GET /v2/alerts`` response (``{"data": [...]}``); created at
  ``createdAt``; closed at ``createdAt + report.closeTime`` (milliseconds) when the report is
  there, else — for a closed alert — at ``updatedAt``; deployment id from ``details.deploy_id``
  or a ``deploy:<id>`` tag, service from ``details.service`` or a ``service:<name>`` tag;
- ``csv``: any CSV; ``--map created=Opened,resolved=Closed,deploy=Service Deploy`` names the
  columns (keys ``id``, ``created``, ``resolved``, ``deploy``, ``service``, ``root_cause``;
  default column names ``incident_id``, ``time_created``, ``time_resolved``, ``deploy_id``,
  ``service``, ``root_cause``). For the JSON formats the map names dotted fields instead.

Linking, in order: an explicit deployment id that is among the deployments; a root-cause
change id that a deployment ships (the first deployment listing it); otherwise the rule
Apache DevLake uses — the last deployment (of the incident's service, when both the
deployments and the incident name one) created strictly before the incident opened. The
report counts each way and names the rule; an incident with no deployment before it stays
unlinked (``deploy_id`` empty).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.importers.files import (
    MAX_TEXT,
    decode_text,
    expect_list,
    field,
    json_type,
    parse_column_map,
    parse_json,
    parse_time,
    text_value,
)
from sim.importers.report import ImportReport
from sim.metrics import timerange

FORMATS = ("pagerduty", "opsgenie", "csv")
MAP_KEYS = ("id", "created", "resolved", "deploy", "service", "root_cause")
CSV_DEFAULTS = {
    "id": "incident_id",
    "created": "time_created",
    "resolved": "time_resolved",
    "deploy": "deploy_id",
    "service": "service",
    "root_cause": "root_cause",
}
PAGERDUTY_CSV = {"id": "id", "created": "created_on", "resolved": "resolved_on", "service": "service_name"}
RULE = (
    "the last deployment created strictly before the incident opened (of the same service when both name one)"
)


@dataclass(frozen=True)
class IncidentRecord:
    incident_id: str
    created: pd.Timestamp
    resolved: pd.Timestamp | None
    deploy: str | None = None
    service: str | None = None
    root_cause: str | None = None
    source: str = ""


def parse_map(text: str | None) -> dict[str, str]:
    """``created=Opened,resolved=Closed`` → ``{"created": "Opened", "resolved": "Closed"}``."""
    return parse_column_map(text, "--map", MAP_KEYS, "created=Opened")


def _text(value: Any, where: str = "", what: str = "") -> str | None:
    """A text field of an export: text or an integer; anything else (an object, a list, a float) is refused."""
    if isinstance(value, str):
        return text_value(value, where, what)
    return text_value(value, where, what) if value is not None else None


MAX_CLOSE_MS = 100 * 365 * 86_400_000  # Opsgenie closeTime: at most a century, in milliseconds


def _looks_like_json(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


# ---------------------------------------------------------------------------------------------
# Formats


def _pagerduty_items(value: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(value, dict) and "incidents" in value:
        value = value["incidents"]
    if isinstance(value, list) and value and all(isinstance(p, dict) and "incidents" in p for p in value):
        pages = []
        for number, page in enumerate(value):
            incidents = page["incidents"] or []
            if not isinstance(incidents, list):
                raise InputError(
                    f"{name}: page {number}: incidents must be a JSON array, found a JSON "
                    f"{json_type(incidents)}"
                )
            pages.extend(incidents)
        value = pages
    return expect_list(value, name, "PagerDuty incidents")


def read_pagerduty(data: bytes, name: str, mapping: Mapping[str, str]) -> list[IncidentRecord]:
    if not _looks_like_json(data):
        return read_csv_incidents(data, name, {**PAGERDUTY_CSV, **mapping}, source="pagerduty")
    records = []
    for position, item in enumerate(_pagerduty_items(parse_json(data, name), name)):
        where = f"{name} incident {position}"
        incident_id = _text(field(item, mapping.get("id", "id")), where, mapping.get("id", "id")) or _text(
            item.get("incident_number"), where, "incident_number"
        )
        if incident_id is None:
            raise InputError(f"{where}: no id")
        resolved_value = (
            field(item, mapping["resolved"]) if "resolved" in mapping else item.get("resolved_at")
        )
        if resolved_value is None and "resolved" not in mapping and item.get("status") == "resolved":
            resolved_value = item.get("last_status_change_at")
        service = (
            field(item, mapping["service"])
            if "service" in mapping
            else (field(item, "service.summary") or field(item, "service.name"))
        )
        created = parse_time(
            field(item, mapping.get("created", "created_at")), where, "created_at", required=True
        )
        assert created is not None
        records.append(
            IncidentRecord(
                incident_id=incident_id,
                created=created,
                resolved=parse_time(resolved_value, where, "resolved_at", required=False),
                deploy=_text(field(item, mapping["deploy"]), where, mapping["deploy"])
                if "deploy" in mapping
                else None,
                service=_text(service, where, mapping.get("service", "service.summary")),
                root_cause=(
                    _text(field(item, mapping["root_cause"]), where, mapping["root_cause"])
                    if "root_cause" in mapping
                    else None
                ),
                source="pagerduty",
            )
        )
    return records


def _tag_value(tags: Any, prefix: str) -> str | None:
    if not isinstance(tags, list):
        return None
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(prefix):
            return tag[len(prefix) :].strip()[:MAX_TEXT] or None
    return None


def read_opsgenie(data: bytes, name: str, mapping: Mapping[str, str]) -> list[IncidentRecord]:
    value = parse_json(data, name)
    if isinstance(value, dict):
        value = value.get("data", value)
    records = []
    for position, item in enumerate(expect_list(value, name, "Opsgenie alerts")):
        where = f"{name} alert {position}"
        incident_id = _text(field(item, mapping.get("id", "id")), where, mapping.get("id", "id")) or _text(
            item.get("tinyId"), where, "tinyId"
        )
        if incident_id is None:
            raise InputError(f"{where}: no id")
        created = parse_time(
            field(item, mapping.get("created", "createdAt")), where, "createdAt", required=True
        )
        assert created is not None
        if "resolved" in mapping:
            resolved = parse_time(
                field(item, mapping["resolved"]), where, mapping["resolved"], required=False
            )
        else:
            close_ms = field(item, "report.closeTime")
            if close_ms is not None and not (
                isinstance(close_ms, int | float)
                and not isinstance(close_ms, bool)
                and 0 <= close_ms <= MAX_CLOSE_MS
            ):
                raise InputError(
                    f"{where}: report.closeTime {str(close_ms)[:40]!r} is not a duration in milliseconds "
                    f"from 0 to {MAX_CLOSE_MS} (a century)"
                )
            if close_ms is not None:
                if created.value + int(close_ms * 1_000_000) >= timerange.END.value:
                    raise InputError(f"{where}: createdAt + report.closeTime {timerange.OUTSIDE}")
                resolved = created + pd.Timedelta(milliseconds=float(close_ms))
            elif item.get("status") == "closed":
                resolved = parse_time(item.get("updatedAt"), where, "updatedAt", required=False)
            else:
                resolved = None
        deploy_key, service_key = (
            mapping.get("deploy", "details.deploy_id"),
            mapping.get("service", "details.service"),
        )
        deploy = _text(field(item, deploy_key), where, deploy_key) or _tag_value(item.get("tags"), "deploy:")
        service = _text(field(item, service_key), where, service_key) or _tag_value(
            item.get("tags"), "service:"
        )
        records.append(
            IncidentRecord(
                incident_id,
                created,
                resolved,
                _text(deploy, where, "deploy"),
                _text(service, where, "service"),
                _text(field(item, mapping["root_cause"]), where, mapping["root_cause"])
                if "root_cause" in mapping
                else None,
                "opsgenie",
            )
        )
    return records


def read_csv_incidents(
    data: bytes, name: str, mapping: Mapping[str, str], source: str = "csv"
) -> list[IncidentRecord]:
    columns = {**CSV_DEFAULTS, **mapping} if source == "csv" else dict(mapping)
    text = decode_text(data, name)
    if not text.strip():
        raise InputError(f"{name}: the file is empty; expected a CSV header line")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"{name}: not a readable CSV file ({exc})") from None
    header = [h.strip() for h in rows[0]]
    if columns.get("created") not in header:
        raise InputError(
            f"{name}: no column {columns.get('created')!r} for the incident's creation time "
            f"(the header has {', '.join(header) or 'nothing'}; name it with --map created=COLUMN)"
        )
    for key in ("resolved", "deploy", "service", "id", "root_cause"):
        if key in mapping and mapping[key] not in header:
            raise InputError(
                f"{name}: no column {mapping[key]!r} (from --map {key}=...); the header has {', '.join(header)}"
            )
    at = {key: header.index(col) for key, col in columns.items() if col in header}
    records = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{name} line {line}: {len(row)} fields, the header has {len(header)}")
        where = f"{name} line {line}"

        def cell(key: str, row: list[str] = row) -> str | None:
            return _text(row[at[key]]) if key in at else None

        created = parse_time(cell("created"), where, columns["created"], required=True)
        assert created is not None
        records.append(
            IncidentRecord(
                incident_id=cell("id") or f"line-{line}",
                created=created,
                resolved=parse_time(
                    cell("resolved"), where, columns.get("resolved", "resolved"), required=False
                ),
                deploy=cell("deploy"),
                service=cell("service"),
                root_cause=cell("root_cause"),
                source=source,
            )
        )
    return records


def read_incidents(
    data: bytes, name: str, fmt: str, mapping: Mapping[str, str] | None = None
) -> list[IncidentRecord]:
    """Incident records from one file's bytes in ``fmt`` (pagerduty, opsgenie or csv)."""
    mapping = dict(mapping or {})
    if fmt == "pagerduty":
        records = read_pagerduty(data, name, mapping)
    elif fmt == "opsgenie":
        records = read_opsgenie(data, name, mapping)
    elif fmt == "csv":
        records = read_csv_incidents(data, name, mapping)
    else:
        raise InputError(f"--incident-format {fmt!r}: choose one of {', '.join(FORMATS)}")
    seen: dict[str, int] = {}
    for position, record in enumerate(records):
        if record.incident_id in seen:
            raise InputError(
                f"{name}: incident id {record.incident_id!r} appears twice (items {seen[record.incident_id]} "
                f"and {position})"
            )
        seen[record.incident_id] = position
        if record.resolved is not None and record.resolved < record.created:
            raise InputError(f"{name}: incident {record.incident_id!r} is resolved before it was created")
    return records


# ---------------------------------------------------------------------------------------------
# Linking to deployments


def _shipped_by(deployments: pd.DataFrame) -> dict[str, str]:
    """Change id → the first deployment (by time, then id) that lists it."""
    first: dict[str, str] = {}
    ordered = deployments.sort_values(["time_created", "deploy_id"], kind="stable")
    for deploy_id, cells in zip(ordered["deploy_id"], ordered["change_ids"], strict=True):
        ids = cells.split() if isinstance(cells, str) else list(cells or [])
        for change in ids:
            first.setdefault(str(change), str(deploy_id))
    return first


def link_incidents(
    records: Sequence[IncidentRecord], deployments: pd.DataFrame, report: ImportReport
) -> list[dict[str, Any]]:
    """Incident rows of the log contract, each linked as the module docstring says."""
    known = set(deployments["deploy_id"].astype(str))
    shipped = _shipped_by(deployments) if any(r.root_cause for r in records) else {}
    times = deployments["time_created"].to_numpy(dtype="datetime64[ns]").view("i8")
    services = deployments["service"].astype(str).to_numpy() if "service" in deployments.columns else None
    order = np.lexsort((deployments["deploy_id"].astype(str).to_numpy(), times))
    sorted_times, sorted_ids = times[order], deployments["deploy_id"].astype(str).to_numpy()[order]
    sorted_services = services[order] if services is not None else None
    counts = {"by_id": 0, "by_root_cause": 0, "by_rule": 0, "unlinked": 0}
    rows = []
    for record in records:
        deploy, how = None, "unlinked"
        if record.deploy and record.deploy in known:
            deploy, how = record.deploy, "by_id"
        elif record.root_cause and _match_change(record.root_cause, shipped):
            deploy, how = _match_change(record.root_cause, shipped), "by_root_cause"
        else:
            if record.deploy:
                report.skip(
                    "incident link",
                    "the deployment or root cause it names is not among the imported ones; linked by the rule",
                    record.incident_id,
                )
            deploy = _last_before(record, sorted_times, sorted_ids, sorted_services)
            how = "by_rule" if deploy else "unlinked"
            if deploy is None:
                report.skip(
                    "incident link", "no deployment before it opened; left unlinked", record.incident_id
                )
        counts[how] += 1
        rows.append(
            {
                "incident_id": record.incident_id,
                "time_created": record.created,
                "time_resolved": record.resolved if record.resolved is not None else pd.NaT,
                "deploy_id": deploy or "",
                "root_cause": record.root_cause or "",
                "service": record.service or "",
                "source": record.source,
                "linked": how.removeprefix("by_"),
            }
        )
    report.links["incidents"] = {**counts, "rule": RULE}
    return rows


def _match_change(root_cause: str, shipped: Mapping[str, str]) -> str | None:
    if root_cause in shipped:
        return shipped[root_cause]
    if len(root_cause) >= 7:
        found = {d for c, d in shipped.items() if c.startswith(root_cause.lower())}
        if len(found) == 1:
            return found.pop()
    return None


def _last_before(
    record: IncidentRecord, times: np.ndarray, ids: np.ndarray, services: np.ndarray | None
) -> str | None:
    cut = int(np.searchsorted(times, record.created.value, side="left"))  # strictly before
    if cut == 0:
        return None
    if services is not None and record.service and record.service in set(services[:cut]):
        same = np.flatnonzero(services[:cut] == record.service)
        return str(ids[same[-1]])
    return str(ids[cut - 1])
