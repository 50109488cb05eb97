"""Event logs (docs/logs.md): the three CSV files ``events`` writes and ``score`` reads.

:class:`EventLogs` holds three DataFrames with canonical dtypes:

- ``changes``: ``change_id`` (str), ``time_created`` (datetime64[ns, UTC]);
- ``deployments``: ``deploy_id`` (str), ``time_created``, ``change_ids`` (a space-separated
  str, or a list/tuple of ids, per cell), ``unplanned`` (bool);
- ``incidents``: ``incident_id`` (str), ``time_created``, ``time_resolved`` (NaT = still
  open), ``deploy_id`` (str; missing = not caused by a change).

Extra columns are allowed and carried along. :func:`read_logs` validates user files and
reports the first problem as one line naming the file (and the CSV line, counting the
header as line 1); :func:`write_logs` writes timestamps as ISO 8601 UTC ending in ``Z``
with exactly the sub-second digits needed, so a round trip loses nothing the scorer uses.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.files import CSV, decode_text, make_folder, read_bytes, write_bytes
from sim.metrics import timerange

FILE_NAMES = {"changes": "changes.csv", "deployments": "deployments.csv", "incidents": "incidents.csv"}
REQUIRED_COLUMNS = {
    "changes": ("change_id", "time_created"),
    "deployments": ("deploy_id", "time_created", "change_ids"),
    "incidents": ("incident_id", "time_created", "time_resolved", "deploy_id"),
}
UTC_NS = "datetime64[ns, UTC]"
ISO_START = r"\d{4}"  # an ISO 8601 date or time begins with a four-digit year
_TRUE, _FALSE = "true", "false"
_HEADER_LINES = 1  # CSV line of data row i (0-based) is i + 1 + _HEADER_LINES
MAX_COLUMNS = 1000  # columns of one file (the contract needs four; extra ones are carried along)


@dataclass(frozen=True, eq=False)
class EventLogs:
    """One set of change, deployment and incident logs (see the module docstring for columns)."""

    changes: pd.DataFrame
    deployments: pd.DataFrame
    incidents: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"changes": self.changes, "deployments": self.deployments, "incidents": self.incidents}


# ---------------------------------------------------------------------------------------------
# Building logs from records (for the simulator) without line-level validation


def to_utc(values: Any) -> pd.Series:
    """Timestamps as datetime64[ns, UTC]: offsets converted, naive values taken as UTC."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        out = series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        out = series.dt.tz_localize("UTC")
    elif len(series) == 0:
        out = pd.Series([], dtype=UTC_NS, index=series.index)
    else:
        out = pd.to_datetime(series, utc=True, format="ISO8601")
    return out.astype(UTC_NS)


def _id_strings(values: Any) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return series.astype("str")


def _as_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(bool)
    text = values.astype("str").str.strip().str.lower()
    return text.isin([_TRUE, "1", "1.0"])


def _frame(records: pd.DataFrame | Iterable[Mapping[str, Any]], kind: str) -> pd.DataFrame:
    frame = records.copy() if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    if frame.empty and len(frame.columns) == 0:
        frame = pd.DataFrame({column: [] for column in REQUIRED_COLUMNS[kind]})
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in frame.columns and c != "time_resolved"]
    if missing:
        raise InputError(f"{FILE_NAMES[kind]}: missing required column {missing[0]!r}")
    return frame


def make_logs(
    changes: pd.DataFrame | Iterable[Mapping[str, Any]],
    deployments: pd.DataFrame | Iterable[Mapping[str, Any]],
    incidents: pd.DataFrame | Iterable[Mapping[str, Any]],
) -> EventLogs:
    """Logs with canonical dtypes from DataFrames or lists of plain record dicts."""
    ch = _frame(changes, "changes")
    ch["change_id"] = _id_strings(ch["change_id"])
    ch["time_created"] = to_utc(ch["time_created"])

    dp = _frame(deployments, "deployments")
    dp["deploy_id"] = _id_strings(dp["deploy_id"])
    dp["time_created"] = to_utc(dp["time_created"])
    if "unplanned" in dp:
        dp["unplanned"] = _as_bool(dp["unplanned"])
    else:
        dp["unplanned"] = pd.Series(False, index=dp.index, dtype=bool)

    inc = _frame(incidents, "incidents")
    inc["incident_id"] = _id_strings(inc["incident_id"])
    inc["time_created"] = to_utc(inc["time_created"])
    if "time_resolved" in inc:
        inc["time_resolved"] = to_utc(inc["time_resolved"])
    else:
        inc["time_resolved"] = pd.Series(pd.NaT, index=inc.index, dtype=UTC_NS)
    inc["deploy_id"] = blank_to_na(inc["deploy_id"])
    return EventLogs(ch, dp, inc)


def blank_to_na(values: pd.Series) -> pd.Series:
    """Ids as str with None, NaN and blank cells as missing."""
    text = values.astype("str").str.strip()
    return text.mask(text == "")


# ---------------------------------------------------------------------------------------------
# Reading user files


def _source_name(source: Any) -> str:
    if isinstance(source, str | Path):
        return str(source)
    return str(getattr(source, "name", "<upload>"))


def _read_text(source: Any, name: str) -> str:
    if isinstance(source, str | Path):
        return decode_text(read_bytes(source, CSV, name=name), name)
    if hasattr(source, "seek"):
        source.seek(0)
    raw = source.read()
    return decode_text(raw, name) if isinstance(raw, bytes) else str(raw)


def _parse_csv(text: str) -> pd.DataFrame:
    """Every cell as a str ("" when empty). Row label i is CSV line i + 2 (blank lines kept)."""
    options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": []}
    if "\n\n" not in text and "\n\r\n" not in text:
        # No blank line, so Arrow's fast reader keeps the line numbering. A ragged file
        # goes on to the C parser below, whose message names the line.
        try:
            return pd.read_csv(io.BytesIO(text.encode("utf-8")), engine="pyarrow", **options)
        except (pd.errors.ParserError, ValueError):
            pass
    _check_row_widths(text)  # the C parser takes minutes over a row of a million fields
    with warnings.catch_warnings():
        # Rows longer than the header would silently lose fields: make that an error.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(io.StringIO(text), skip_blank_lines=False, index_col=False, **options)


class _LongRow(Exception):
    def __init__(self, line: int, fields: int, width: int):
        super().__init__(line, fields, width)
        self.line, self.fields, self.width = line, fields, width


def _check_row_widths(text: str) -> None:
    """Raise :class:`_LongRow` for the first row with more fields than the header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        width = len(next(reader, []))
        for row in reader:
            if len(row) > width:
                raise _LongRow(reader.line_num, len(row), width)
    except csv.Error:  # e.g. a field over the csv module's size limit: the C parser reports it
        return


def _read_table(source: Any, kind: str) -> tuple[pd.DataFrame, str]:
    name = _source_name(source)
    text = _read_text(source, name)
    required = ", ".join(REQUIRED_COLUMNS[kind])
    if not text.strip():
        raise InputError(f"{name}: the file is empty; expected a header line with {required}")
    header = _header_fields(text)
    if len(header) > MAX_COLUMNS:  # a table that wide takes minutes to build: refuse it first
        raise InputError(f"{name}: the header has {len(header)} columns; at most {MAX_COLUMNS} are read")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{name}: the header names column {quoted(repeated[0])} more than once")
    try:
        table = _parse_csv(text)
    except _LongRow as row:
        raise InputError(
            f"{name}: not a readable CSV file (line {row.line} has {row.fields} fields, "
            f"the header {row.width})"
        ) from None
    except pd.errors.ParserWarning:
        raise InputError(f"{name}: not a readable CSV file (a row has more fields than the header)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{name}: not a readable CSV file ({shown(first_line)})") from None
    table.columns = [str(c).strip() for c in table.columns]
    for column in REQUIRED_COLUMNS[kind]:
        if column not in table.columns:
            found = shown(", ".join(header)) if header else "nothing"
            hint = "; it looks tab-separated: use commas" if "\t" in text.partition("\n")[0] else ""
            raise InputError(f"{name}: missing required column {column!r} (the header has {found}{hint})")
    table = table.fillna("")
    # Keep blank lines out of the data but keep their numbers: row label i is CSV line i + 2.
    blank = (table == "").all(axis=1) if len(table.columns) else pd.Series(False, index=table.index)
    return table.loc[~blank].copy(), name


SHOWN_CHARS = 120  # how much of a value from the file a message quotes


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """A value from a file as a message quotes it: control characters visible (``\\t``), cut to ``limit``."""
    escaped = repr(text)[1:-1]
    if len(escaped) > limit:
        return f"{escaped[:limit]}… ({len(text)} characters)"
    return escaped


def quoted(text: str) -> str:
    return f"'{shown(text)}'"


def _header_fields(text: str) -> list[str]:
    """The header line's column names as the CSV reader sees them (quotes removed, spaces stripped)."""
    first = text.lstrip("\ufeff").partition("\n")[0].rstrip("\r")
    try:
        row = next(csv.reader([first]), [])
    except csv.Error:
        return [first]
    return [field.strip() for field in row]


def _line(table: pd.DataFrame, position: int) -> int:
    return int(table.index[position]) + 1 + _HEADER_LINES


def _parse_times(table: pd.DataFrame, column: str, name: str, *, allow_empty: bool) -> pd.Series:
    text = table[column].str.strip()
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    empty = text == ""
    # pandas also accepts the words "now" and "today"; ISO 8601 starts with the year.
    bad = (parsed.isna() | ~text.str.match(ISO_START)) & ~empty
    if not allow_empty:
        bad |= empty
    # a coarser unit than ns holds dates nanoseconds cannot: check the range before converting
    outside = timerange.out_of_range_mask(parsed)
    problems = bad.to_numpy() | outside
    if problems.any():
        position = int(np.flatnonzero(problems)[0])
        value = text.iloc[position]
        if value == "":
            what = "is empty"
        elif outside[position] or _parses_outside_ns(value):
            what = timerange.outside(quoted(value))
        else:
            what = f"{quoted(value)} is not an ISO 8601 timestamp"
        raise InputError(f"{name} line {_line(table, position)}: {column} {what}")
    return parsed.astype(UTC_NS)


def _parses_outside_ns(value: str) -> bool:
    """An ISO 8601 time that parses, but only in a unit coarser than ns (so outside the accepted dates).

    Nanosecond digits force the ns unit, so a far date with them is tried again without its fraction.
    """
    for candidate in (value, re.sub(r"[.,]\d+", "", value, count=1)):
        try:
            stamp = pd.to_datetime(candidate, utc=True, format="ISO8601")
        except (ValueError, OverflowError):
            continue
        return stamp is not pd.NaT and not timerange.in_range(stamp)
    return False


def _check_ids(table: pd.DataFrame, column: str, name: str) -> pd.Series:
    ids = table[column].str.strip()
    empty = (ids == "").to_numpy()
    if empty.any():
        position = int(np.flatnonzero(empty)[0])
        raise InputError(f"{name} line {_line(table, position)}: {column} is empty")
    repeats = ids.duplicated(keep="first").to_numpy()
    if repeats.any():
        position = int(np.flatnonzero(repeats)[0])
        value = ids.iloc[position]
        first = int(np.flatnonzero((ids == value).to_numpy())[0])
        raise InputError(
            f"{name} line {_line(table, position)}: duplicate {column} {quoted(value)} "
            f"(first on line {_line(table, first)})"
        )
    return ids


def _parse_unplanned(table: pd.DataFrame, name: str) -> pd.Series:
    if "unplanned" not in table.columns:
        return pd.Series(False, index=table.index, dtype=bool)
    text = table["unplanned"].str.strip()
    lowered = text.str.lower()
    bad = ~lowered.isin([_TRUE, _FALSE, ""])
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{name} line {_line(table, position)}: unplanned {quoted(text.iloc[position])} is not true or false"
        )
    return lowered == _TRUE


def _read_changes(source: Any) -> pd.DataFrame:
    table, name = _read_table(source, "changes")
    table["change_id"] = _check_ids(table, "change_id", name)
    table["time_created"] = _parse_times(table, "time_created", name, allow_empty=False)
    return table.reset_index(drop=True)


def _read_deployments(source: Any) -> pd.DataFrame:
    table, name = _read_table(source, "deployments")
    table["deploy_id"] = _check_ids(table, "deploy_id", name)
    table["time_created"] = _parse_times(table, "time_created", name, allow_empty=False)
    table["change_ids"] = table["change_ids"].str.strip()
    table["unplanned"] = _parse_unplanned(table, name)
    return table.reset_index(drop=True)


def _read_incidents(source: Any) -> pd.DataFrame:
    table, name = _read_table(source, "incidents")
    table["incident_id"] = _check_ids(table, "incident_id", name)
    table["time_created"] = _parse_times(table, "time_created", name, allow_empty=False)
    table["time_resolved"] = _parse_times(table, "time_resolved", name, allow_empty=True)
    early = (table["time_resolved"] < table["time_created"]).to_numpy()
    if early.any():
        position = int(np.flatnonzero(early)[0])
        raise InputError(
            f"{name} line {_line(table, position)}: incident {quoted(table['incident_id'].iloc[position])} "
            f"has time_resolved before time_created"
        )
    table["deploy_id"] = blank_to_na(table["deploy_id"])
    return table.reset_index(drop=True)


def read_logs(
    changes: Any, deployments: Any, incidents: Any, progress: Callable[[str], Any] | None = None
) -> EventLogs:
    """Read and validate the three CSV files (paths, or file-like objects with a ``.name``).

    Raises :class:`InputError` with one line naming the file — and the CSV line, counting
    the header as line 1 — for the first problem found. ``progress(text)`` hears which file is
    being read (a status line on a terminal).
    """
    frames = []
    for source, read in (
        (changes, _read_changes),
        (deployments, _read_deployments),
        (incidents, _read_incidents),
    ):
        if progress is not None:
            progress(f"reading {_source_name(source)}")
        frames.append(read(source))
    return EventLogs(*frames)


# ---------------------------------------------------------------------------------------------
# Writing


_TimeUnit = Literal["s", "ms", "us", "ns"]
_COARSER_UNITS: tuple[tuple[_TimeUnit, int], ...] = (("s", 10**9), ("ms", 10**6), ("us", 10**3))


def format_utc(values: pd.Series) -> np.ndarray:
    """ISO 8601 UTC strings ending in ``Z``: seconds, or the sub-second digits the column needs."""
    stamps = to_utc(values).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    present = ~np.isnat(stamps)
    ticks = stamps.view("i8")[present]
    unit: _TimeUnit = "ns"
    for candidate, size in _COARSER_UNITS:
        if not np.any(ticks % size):
            unit = candidate
            break
    text = np.datetime_as_string(stamps, unit=unit, timezone="UTC")
    return np.where(present, text, "")


def _join_ids(cell: Any) -> str:
    if isinstance(cell, list | tuple | np.ndarray):
        return " ".join(str(item) for item in cell)
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return ""
    return " ".join(str(cell).split())


def _csv_frame(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    ordered = list(REQUIRED_COLUMNS[kind]) + [c for c in frame.columns if c not in REQUIRED_COLUMNS[kind]]
    if kind == "deployments" and "unplanned" not in frame.columns:
        ordered.insert(3, "unplanned")
    out = pd.DataFrame(index=range(len(frame)))
    for column in ordered:
        values = frame[column].reset_index(drop=True) if column in frame.columns else None
        if column == "unplanned":
            flags = _as_bool(values) if values is not None else pd.Series(False, index=out.index)
            out[column] = np.where(flags.to_numpy(), _TRUE, _FALSE)
        elif values is None:  # a required column an empty log may lack: written empty (else refused)
            out[column] = format_utc(pd.Series([], dtype=object))
        elif column == "change_ids":
            out[column] = values.map(_join_ids).astype("str")
        elif column in ("time_created", "time_resolved") or pd.api.types.is_datetime64_any_dtype(values):
            out[column] = format_utc(values)
        elif pd.api.types.is_bool_dtype(values.dtype):
            out[column] = np.where(values.to_numpy(), _TRUE, _FALSE)
        else:
            out[column] = values
    return out


def logs_to_csv_bytes(logs: EventLogs) -> dict[str, bytes]:
    """The three CSV files as UTF-8 bytes, keyed by file name (for download buttons)."""
    return {
        FILE_NAMES[kind]: _csv_frame(frame, kind).to_csv(index=False, lineterminator="\n").encode("utf-8")
        for kind, frame in logs.frames().items()
    }


def write_logs(logs: EventLogs, out_dir: str | Path) -> dict[str, Path]:
    """Write ``changes.csv``, ``deployments.csv`` and ``incidents.csv`` into ``out_dir``."""
    directory = make_folder(out_dir)
    paths = {}
    for file_name, data in logs_to_csv_bytes(logs).items():
        path = directory / file_name
        write_bytes(path, data)
        paths[file_name.removesuffix(".csv")] = path
    return paths
