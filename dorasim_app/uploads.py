"""Uploaded files: parsed as CSV or TOML only (nothing is executed), checked for size, and turned into
the same one-line messages the CLI prints.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.metrics.logs import EventLogs, read_logs
from sim.model.scenario import Scenario, load_scenario_text

MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024


class NamedBytes(io.BytesIO):
    """An in-memory upload with a file name (what ``read_logs`` reads and names in its messages)."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def _payload(upload: Any) -> tuple[str, bytes]:
    name = str(getattr(upload, "name", "<upload>"))
    data = upload.getvalue() if hasattr(upload, "getvalue") else upload.read()
    return name, data if isinstance(data, bytes) else str(data).encode("utf-8")


def check_size(name: str, size: int, limit: int = MAX_UPLOAD_BYTES) -> None:
    if size > limit:
        raise InputError(f"{name}: the file is {size / 1024 / 1024:.1f} MB; the limit is {limit / 1024 / 1024:.0f} MB")


def read_uploaded_logs(changes: Any, deployments: Any, incidents: Any, limit: int = MAX_UPLOAD_BYTES) -> EventLogs:
    """Validate three uploaded CSV files into :class:`EventLogs`; raises :class:`InputError` (one line)."""
    sources = []
    for upload in (changes, deployments, incidents):
        name, data = _payload(upload)
        check_size(name, len(data), limit)
        sources.append(NamedBytes(data, name))
    return read_logs(*sources)


def read_uploaded_scenario(upload: Any, base_dir: Path, limit: int = MAX_UPLOAD_BYTES) -> Scenario:
    """Validate an uploaded scenario TOML (``extends`` resolves against the shipped scenarios)."""
    name, data = _payload(upload)
    check_size(name, len(data), limit)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None
    return load_scenario_text(text, name, base_dir)
