"""Uploaded files: parsed as CSV or TOML only (nothing is executed), checked for size, and turned into
the same one-line messages the CLI prints.

An uploaded (or edited) scenario or plan never reaches the server's files: its ``extends`` is
resolved by :class:`sim.files.NamedFiles`, which knows only the shipped scenarios and the TOML files
uploaded in this visitor's session, by name. A path — absolute or relative — is refused before
anything is read, so no message can show another file's contents. Every scenario and plan is also
held to the hosted caps of :mod:`dorasim_app.limits`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dorasim_app import limits
from sim.errors import InputError
from sim.files import TOML, NamedFiles, decode_text
from sim.importers.ci import ci_frame, read_ci_csv
from sim.metrics.logs import EventLogs, read_logs
from sim.model.catalog import shipped
from sim.model.scenario import Scenario, load_scenario_text

MAX_UPLOAD_MB = limits.MAX_UPLOAD_MB
MAX_UPLOAD_BYTES = limits.MAX_UPLOAD_BYTES
SESSION_KEY = "uploads.toml"  # session_state: uploaded TOML files by name (this visitor's only)


class NamedBytes(io.BytesIO):
    """An in-memory upload with a file name (what ``read_logs`` reads and names in its messages)."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def _payload(upload: Any) -> tuple[str, bytes]:
    name = Path(str(getattr(upload, "name", "<upload>"))).name or "<upload>"
    data = upload.getvalue() if hasattr(upload, "getvalue") else upload.read()
    return name, data if isinstance(data, bytes) else str(data).encode("utf-8")


def check_size(name: str, size: int, limit: int = MAX_UPLOAD_BYTES) -> None:
    if size > limit:
        raise InputError(
            f"{name}: the file is {size / 1024 / 1024:.1f} MB; the limit is {limit / 1024 / 1024:.0f} MB"
        )


def read_uploaded_logs(
    changes: Any, deployments: Any, incidents: Any, limit: int = MAX_UPLOAD_BYTES
) -> EventLogs:
    """Validate three uploaded CSV files into :class:`EventLogs`; raises :class:`InputError` (one line)."""
    sources = []
    for upload in (changes, deployments, incidents):
        name, data = _payload(upload)
        check_size(name, len(data), limit)
        sources.append(NamedBytes(data, name))
    return read_logs(sources[0], sources[1], sources[2])


def read_uploaded_ci_runs(upload: Any, limit: int = MAX_UPLOAD_BYTES) -> pd.DataFrame:
    """Validate an uploaded ``ci_runs.csv`` (docs/logs.md) into its table; raises :class:`InputError` (one line)."""
    name, data = _payload(upload)
    check_size(name, len(data), limit)
    return ci_frame(read_ci_csv(data, name), name)


# ---------------------------------------------------------------------------------------------
# Scenario and plan text: ``extends`` by name only


def session_uploads() -> dict[str, bytes]:
    """The TOML files this session uploaded, by file name (empty outside a running app)."""
    try:
        import streamlit as st

        return st.session_state.setdefault(SESSION_KEY, {})
    except Exception:  # no Streamlit session (a script, a unit test): nothing was uploaded
        return {}


def remember_upload(name: str, data: bytes) -> None:
    """Keep an uploaded TOML file for this session's ``extends`` (the oldest go past the cap)."""
    files = session_uploads()
    files.pop(name, None)
    files[name] = data
    while len(files) > limits.MAX_TOML_UPLOADS:
        files.pop(next(iter(files)))


def shipped_scenarios(shipped_dir: Path | None = None) -> dict[str, Path]:
    """Shipped scenarios by name: the catalog's, or the scenario files of ``shipped_dir``."""
    if shipped_dir is None:
        return shipped("scenario")
    files = sorted(Path(shipped_dir).glob("*.toml"))
    return {p.stem: p for p in files if not p.stem.startswith(("plan_", "sweep_"))}


def resolver(shipped_dir: Path | None = None, uploaded: Mapping[str, bytes] | None = None) -> NamedFiles:
    """Where an upload's ``extends`` may point: shipped scenarios and this session's uploads, by name."""
    return NamedFiles(shipped_scenarios(shipped_dir), session_uploads() if uploaded is None else uploaded)


def read_uploaded_scenario(
    upload: Any,
    shipped_dir: Path | None = None,
    limit: int = MAX_UPLOAD_BYTES,
    *,
    uploaded: Mapping[str, bytes] | None = None,
) -> Scenario:
    """Validate an uploaded scenario TOML; ``extends`` names a shipped scenario or another upload.

    The upload is remembered for this session first, so a later upload may extend it.
    """
    name, data = _payload(upload)
    check_size(name, len(data), min(limit, TOML.limit()))
    text = decode_text(data, name)
    if uploaded is None:
        remember_upload(name, data)
    scenario = load_scenario_text(text, name, resolver=resolver(shipped_dir, uploaded))
    limits.check_scenario(scenario, name)
    return scenario


def read_plan_text(
    text: str, source: str, shipped_dir: Path | None = None, *, uploaded: Mapping[str, bytes] | None = None
) -> Any:
    """An edited or uploaded plan, with ``extends`` by name only and within the hosted caps."""
    from sim.analysis.plan import load_plan_text

    check_size(source, len(text.encode("utf-8")), TOML.limit())
    plan = load_plan_text(text, source, resolver=resolver(shipped_dir, uploaded))
    limits.check_plan(plan, source)
    return plan
