"""CI runs as a fourth log, ``ci_runs.csv`` (docs/logs.md, "CI runs"; docs/import.md, "CI runs").

One row per run attempt of the pipeline that tests a commit:

| column | meaning |
|---|---|
| ``run_id`` | the provider's run (GitHub workflow run) or pipeline id |
| ``commit`` | the SHA the run tested |
| ``time_queued`` | when the run was created (queued) |
| ``time_started`` | when its first job started (empty: it never started) |
| ``time_finished`` | when its last job finished (empty: not finished) |
| ``conclusion`` | ``success``, ``failure``, ``cancelled``, ``skipped``, ``other``; empty while not finished |
| ``attempt`` | 1 for the first run of ``run_id``, 2 for its first re-run … |

Extra columns: ``workflow``, ``branch``, ``source`` and ``status`` (the provider's own word).

Sources:

- GitHub Actions: ``actions/runs.json`` (``GET /repos/{owner}/{repo}/actions/runs``, the object with
  ``workflow_runs`` or a list of its pages) and, when saved, ``actions/runs/{id}/jobs.json`` (``GET
  …/actions/runs/{id}/jobs``, the object with ``jobs``): queued at ``created_at``, started at the first
  job's ``started_at`` (else ``run_started_at``), finished at the last job's ``completed_at`` (else, for a
  completed run, ``updated_at``), attempt ``run_attempt``;
- GitLab CI: ``pipelines.json`` (``GET /projects/:id/pipelines``) and ``pipelines/{id}/jobs.json`` (``GET
  /projects/:id/pipelines/:pipeline_id/jobs``): queued at ``created_at``, started and finished from the
  pipeline's ``started_at``/``finished_at`` when present, else from its jobs; attempt 1 (a retried
  pipeline keeps its id; a new pipeline on the same commit is a new run);
- any CSV, its columns named with ``--ci-map`` (keys ``run_id``, ``commit``, ``queued``, ``started``,
  ``finished``, ``conclusion``, ``attempt``; defaults are the column names above).

Every row is checked: ids and SHAs, dates in the accepted range, started ≥ queued, finished ≥ started,
attempt a whole number ≥ 1, no (``run_id``, ``attempt``) twice — one line naming the file, item and field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.importers.files import (
    Source,
    decode_text,
    id_value,
    parse_column_map,
    parse_time,
    sha_value,
    text_value,
)
from sim.importers.report import ImportReport

FILE_NAME = "ci_runs.csv"
COLUMNS = ("run_id", "commit", "time_queued", "time_started", "time_finished", "conclusion", "attempt")
EXTRA = ("workflow", "branch", "source", "status")
MAP_KEYS = {
    "run_id": "run_id",
    "commit": "commit",
    "queued": "time_queued",
    "started": "time_started",
    "finished": "time_finished",
    "conclusion": "conclusion",
    "attempt": "attempt",
}
CONCLUSIONS = ("success", "failure", "cancelled", "skipped", "other")
_WORDS = {
    "success": "success",
    "failure": "failure",
    "failed": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "skipped": "skipped",
    "neutral": "other",
    "action_required": "other",
    "stale": "other",
    "manual": "other",
}
_UNFINISHED = {
    "queued",
    "in_progress",
    "waiting",
    "requested",
    "pending",
    "created",
    "running",
    "preparing",
    "waiting_for_resource",
    "scheduled",
}
MAX_ATTEMPT = 1000


@dataclass(frozen=True)
class CiRun:
    run_id: str
    commit: str
    queued: pd.Timestamp
    started: pd.Timestamp | None
    finished: pd.Timestamp | None
    conclusion: str
    attempt: int
    workflow: str = ""
    branch: str = ""
    source: str = ""
    status: str = ""


def conclusion_of(word: str | None, finished: bool) -> str:
    """A provider's status or conclusion as one of :data:`CONCLUSIONS` ("" while the run is not finished)."""
    if word is None or word in _UNFINISHED:
        return "other" if finished and word is None else ""
    return _WORDS.get(word, "other")


def _check(run: CiRun, where: str) -> CiRun:
    if run.started is not None and run.started < run.queued:
        raise InputError(
            f"{where}: started {run.started.isoformat()} is before queued {run.queued.isoformat()}"
        )
    if run.finished is not None and run.finished < (run.started or run.queued):
        raise InputError(f"{where}: finished {run.finished.isoformat()} is before it started")
    return run


def _attempt(value: Any, where: str, what: str) -> int:
    if value is None or value == "":
        return 1
    number = int(id_value(value, where, what))
    if not 1 <= number <= MAX_ATTEMPT:
        raise InputError(f"{where}: {what} {number} is not from 1 to {MAX_ATTEMPT}")
    return number


def _job_times(
    jobs: list[dict[str, Any]], name: str, start_key: str, end_key: str
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    starts, ends = [], []
    for position, job in enumerate(jobs):
        where = f"{name} item {position}"
        start = parse_time(job.get(start_key), where, start_key, required=False)
        end = parse_time(job.get(end_key), where, end_key, required=False)
        if start is not None:
            starts.append(start)
        if end is not None:
            ends.append(end)
    return (min(starts) if starts else None), (max(ends) if ends else None)


def read_github_runs(source: Source, report: ImportReport) -> list[CiRun] | None:
    items = source.json("actions/runs.json", "workflow runs", required=False, key="workflow_runs")
    if items is None:
        return None
    name = f"{source.name}/actions/runs.json"
    out = []
    for position, item in enumerate(items):
        where = f"{name} item {position}"
        report.count("workflow runs read")
        run_id = id_value(item.get("id"), where, "id")
        status = text_value(item.get("status"), where, "status") or ""
        completed = status == "completed"
        queued = parse_time(item.get("created_at"), where, "created_at", required=True)
        assert queued is not None
        started = parse_time(item.get("run_started_at"), where, "run_started_at", required=False)
        finished = (
            parse_time(item.get("updated_at"), where, "updated_at", required=False) if completed else None
        )
        jobs = source.json(f"actions/runs/{run_id}/jobs.json", "jobs", required=False, key="jobs")
        if jobs:
            first, last = _job_times(
                jobs, f"{source.name}/actions/runs/{run_id}/jobs.json", "started_at", "completed_at"
            )
            started = first or started
            finished = (last or finished) if completed else None
        conclusion = conclusion_of(text_value(item.get("conclusion"), where, "conclusion"), completed)
        out.append(
            _check(
                CiRun(
                    run_id,
                    sha_value(item.get("head_sha"), where, "head_sha", required=True) or "",
                    queued,
                    started,
                    finished,
                    conclusion if completed else "",
                    _attempt(item.get("run_attempt"), where, "run_attempt"),
                    text_value(item.get("name"), where, "name", limit=500) or "",
                    text_value(item.get("head_branch"), where, "head_branch", limit=500) or "",
                    "github",
                    status,
                ),
                where,
            )
        )
    return out


def read_gitlab_pipelines(source: Source, report: ImportReport) -> list[CiRun] | None:
    items = source.json("pipelines.json", "pipelines", required=False)
    if items is None:
        return None
    name = f"{source.name}/pipelines.json"
    out = []
    for position, item in enumerate(items):
        where = f"{name} item {position}"
        report.count("pipelines read")
        run_id = id_value(item.get("id"), where, "id")
        status = text_value(item.get("status"), where, "status") or ""
        done = status not in _UNFINISHED and status != ""
        queued = parse_time(item.get("created_at"), where, "created_at", required=True)
        assert queued is not None
        started = parse_time(item.get("started_at"), where, "started_at", required=False)
        finished = parse_time(item.get("finished_at"), where, "finished_at", required=False)
        jobs = source.json(f"pipelines/{run_id}/jobs.json", "jobs", required=False)
        if jobs and (started is None or finished is None):
            first, last = _job_times(
                jobs, f"{source.name}/pipelines/{run_id}/jobs.json", "started_at", "finished_at"
            )
            started, finished = started or first, finished or last
        if not done:
            finished = None
        elif finished is None:
            finished = parse_time(item.get("updated_at"), where, "updated_at", required=False)
        out.append(
            _check(
                CiRun(
                    run_id,
                    sha_value(item.get("sha"), where, "sha", required=True) or "",
                    queued,
                    started,
                    finished,
                    conclusion_of(status, done),
                    1,
                    text_value(item.get("source"), where, "source", limit=500) or "",
                    text_value(item.get("ref"), where, "ref", limit=500) or "",
                    "gitlab",
                    status,
                ),
                where,
            )
        )
    return out


def parse_ci_map(text: str | None) -> dict[str, str]:
    """``run_id=Run,queued=Created`` → the column of each key (keys of :data:`MAP_KEYS`)."""
    return parse_column_map(text, "--ci-map", MAP_KEYS, "queued=Created")


def read_ci_csv(data: bytes, name: str, mapping: Mapping[str, str] | None = None) -> list[CiRun]:
    columns = {key: (mapping or {}).get(key, default) for key, default in MAP_KEYS.items()}
    text = decode_text(data, name)
    if not text.strip():
        raise InputError(f"{name}: the file is empty; expected a CSV header line")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"{name}: not a readable CSV file ({exc})") from None
    header = [h.strip() for h in rows[0]]
    for key in ("run_id", "commit", "queued"):
        if columns[key] not in header:
            raise InputError(
                f"{name}: no column {columns[key]!r} for {key} (the header has "
                f"{', '.join(header) or 'nothing'}; name it with --ci-map {key}=COLUMN)"
            )
    at = {key: header.index(col) for key, col in columns.items() if col in header}
    kept = {
        key: header.index(key) for key in ("workflow", "branch") if key in header
    }  # as ci_runs.csv writes them
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{name} line {line}"
        if len(row) != len(header):
            raise InputError(f"{where}: {len(row)} fields, the header has {len(header)}")

        def cell(key: str, row: list[str] = row) -> str | None:
            return row[at[key]].strip() or None if key in at else None

        queued = parse_time(cell("queued"), where, columns["queued"], required=True)
        assert queued is not None
        finished = parse_time(cell("finished"), where, columns["finished"], required=False)
        word = (cell("conclusion") or "").lower() or None
        out.append(
            _check(
                CiRun(
                    text_value(cell("run_id"), where, columns["run_id"], required=True, limit=200) or "",
                    sha_value(cell("commit"), where, columns["commit"], required=True) or "",
                    queued,
                    parse_time(cell("started"), where, columns["started"], required=False),
                    finished,
                    conclusion_of(word, finished is not None) if finished is not None else "",
                    _attempt(cell("attempt"), where, columns["attempt"]),
                    workflow=text_value(row[kept["workflow"]], where, "workflow", limit=500) or ""
                    if "workflow" in kept
                    else "",
                    branch=text_value(row[kept["branch"]], where, "branch", limit=500) or ""
                    if "branch" in kept
                    else "",
                    source="csv",
                    status=word or "",
                ),
                where,
            )
        )
    return out


def ci_frame(runs: list[CiRun], name: str = FILE_NAME) -> pd.DataFrame:
    """The runs as the ``ci_runs.csv`` table, ordered by queue time; one line for a repeated (run, attempt)."""
    seen: dict[tuple[str, int], int] = {}
    for position, run in enumerate(runs):
        key = (run.run_id, run.attempt)
        if key in seen:
            raise InputError(
                f"{name}: run {run.run_id!r} attempt {run.attempt} appears twice (rows {seen[key] + 1} "
                f"and {position + 1})"
            )
        seen[key] = position
    frame = pd.DataFrame(
        [
            {
                "run_id": r.run_id,
                "commit": r.commit,
                "time_queued": r.queued,
                "time_started": r.started,
                "time_finished": r.finished,
                "conclusion": r.conclusion,
                "attempt": r.attempt,
                "workflow": r.workflow,
                "branch": r.branch,
                "source": r.source,
                "status": r.status,
            }
            for r in runs
        ],
        columns=[*COLUMNS, *EXTRA],
    )
    for column in ("time_queued", "time_started", "time_finished"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values(["time_queued", "run_id", "attempt"], kind="stable").reset_index(drop=True)


def ci_csv_bytes(frame: pd.DataFrame) -> bytes:
    from sim.metrics.logs import format_utc

    out = frame.copy()
    for column in ("time_queued", "time_started", "time_finished"):
        out[column] = format_utc(frame[column]) if len(frame) else frame[column].astype(str)
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def read_forge_ci(kind: str, source: Source, report: ImportReport) -> list[CiRun] | None:
    """The CI runs a saved GitHub or GitLab folder holds (None when it holds none)."""
    runs = read_github_runs(source, report) if kind == "github" else read_gitlab_pipelines(source, report)
    if runs is not None:
        report.written["ci_runs"] = len(runs)
    return runs
