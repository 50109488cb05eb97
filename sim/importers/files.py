"""Reading what a user saved: a folder, a zip archive or uploaded bytes, with size limits and
one-line errors for a missing file, a file too large, a file that is not JSON or the wrong shape.

A :class:`Source` maps relative paths (``pulls.json``, ``pulls/12/commits.json``) to bytes, so
the GitHub and GitLab readers work the same on a folder saved by ``import --save``, on the same
folder zipped and uploaded to the app, and on the responses a live import has just fetched.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.files import CSV, check_regular
from sim.metrics import timerange

MAX_FILE_MB = 256
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024


def check_size(name: str, size: int, limit: int | None = None) -> None:
    limit = MAX_FILE_BYTES if limit is None else limit
    if size > limit:
        raise InputError(
            f"{name}: the file is {size / 1024 / 1024:.1f} MB; the limit is {limit / 1024 / 1024:.0f} MB"
        )


def read_file_bytes(path: str | Path, limit: int | None = None) -> bytes:
    """A regular file's bytes; one-line errors for a missing file, a folder, a FIFO or device (refused
    at once, never opened for a blocking read) or a file over ``limit``."""
    limit = MAX_FILE_BYTES if limit is None else limit
    name = str(path)
    info = check_regular(path, CSV, name=name, what="file")
    check_size(name, info.st_size, limit)
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the check
            raise InputError(f"{name}: not a regular file")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, 4 * 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    check_size(name, total, limit)
    return b"".join(chunks)


def decode_text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None


def parse_column_map(text: str | None, flag: str, keys: Iterable[str], example: str) -> dict[str, str]:
    """``KEY=COLUMN,...`` given with ``flag`` → the column of each key (each one of ``keys``)."""
    if not text:
        return {}
    allowed = list(keys)
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise InputError(
                f"{flag} {text!r}: expected KEY=COLUMN pairs separated by commas, e.g. {example}"
            )
        if key not in allowed:
            raise InputError(f"{flag}: unknown key {key!r}; keys are {', '.join(allowed)}")
        out[key] = value.strip()
    return out


def parse_json(data: bytes, name: str) -> Any:
    """JSON from bytes; a one-line error naming the line and column of the first problem."""
    text = decode_text(data, name)
    if not text.strip():
        raise InputError(f"{name}: the file is empty; expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise InputError(f"{name}: not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # a number of more than 4300 digits
        raise InputError(f"{name}: not valid JSON ({str(exc).partition(':')[0]})") from None


def parse_pages(data: bytes, name: str) -> Any:
    """JSON as pages are usually saved: one value, or values back to back (``gh api --paginate`` writes
    arrays one after another; NDJSON writes one object a line) — then a list of those values."""
    text = decode_text(data, name)
    if not text.strip():
        raise InputError(f"{name}: the file is empty; expected JSON")
    decoder = json.JSONDecoder()
    values, at, end = [], 0, len(text)
    try:
        while True:
            while at < end and text[at] in " \t\r\n":
                at += 1
            if at >= end:
                break
            value, at = decoder.raw_decode(text, at)
            values.append(value)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise InputError(f"{name}: not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise InputError(f"{name}: not valid JSON ({str(exc).partition(':')[0]})") from None
    if len(values) == 1:
        return values[0]
    if all(isinstance(v, list) for v in values) or all(isinstance(v, dict) for v in values):
        return values if isinstance(values[0], dict) else [item for page in values for item in page]
    raise InputError(f"{name}: several JSON values back to back, but not all arrays nor all objects")


def expect_list(value: Any, name: str, what: str) -> list[Any]:
    """A JSON array (or a list of pages, each an array) of objects."""
    if isinstance(value, list) and value and all(isinstance(page, list) for page in value):
        value = [item for page in value for item in page]
    if not isinstance(value, list):
        raise InputError(f"{name}: expected a JSON array of {what}, found a JSON {_json_type(value)}")
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(
                f"{name}: item {position}: expected a JSON object ({what}), found a JSON {_json_type(item)}"
            )
    return value


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def required_field(item: Mapping[str, Any], key: str, where: str) -> Any:
    """``item[key]``, or a one-line error naming where the item is."""
    if item.get(key) is None:
        raise InputError(f"{where}: missing {key!r}")
    return item[key]


MAX_TEXT = 10_000  # characters of one text field read from a saved file
MAX_ID_DIGITS = 18


def json_type(value: Any) -> str:
    return _json_type(value)


def text_value(
    value: Any, where: str, what: str, *, required: bool = False, limit: int = MAX_TEXT
) -> str | None:
    """A text field (a JSON string, or an integer shown as text); None when absent or empty."""
    if value is None or value == "":
        if required:
            raise InputError(f"{where}: missing {what!r}")
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**MAX_ID_DIGITS:
        return str(value)
    if not isinstance(value, str):
        raise InputError(f"{where}: {what} must be text, found a JSON {json_type(value)}")
    text = value.strip()
    if len(text) > limit:
        raise InputError(f"{where}: {what} is {len(text)} characters long; at most {limit} are accepted")
    if not text and required:
        raise InputError(f"{where}: {what} is empty")
    return text or None


def id_value(value: Any, where: str, what: str) -> str:
    """A numeric id (a deployment id, a request number) as digits only: it may become part of a path."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**MAX_ID_DIGITS:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS:
        return str(int(value))
    if value is None:
        raise InputError(f"{where}: missing {what!r}")
    shown = repr(value)[:60] if isinstance(value, str) else f"a JSON {json_type(value)}"
    raise InputError(f"{where}: {what} {shown} is not a numeric id (digits only)")


SHA = re.compile(r"[0-9a-fA-F]{4,64}")


def sha_value(value: Any, where: str, what: str, *, required: bool = False) -> str | None:
    """A commit SHA: 4 to 64 hexadecimal digits, lower-cased."""
    if value is None or value == "":
        if required:
            raise InputError(f"{where}: missing {what!r}")
        return None
    if not isinstance(value, str) or not SHA.fullmatch(value):
        shown = repr(value)[:60] if isinstance(value, str) else f"a JSON {json_type(value)}"
        raise InputError(f"{where}: {what} {shown} is not a commit SHA (hexadecimal digits)")
    return value.lower()


def list_value(value: Any, where: str, what: str) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InputError(f"{where}: {what} must be a JSON array, found a JSON {json_type(value)}")
    return value


def object_value(value: Any, where: str, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError(f"{where}: {what} must be a JSON object, found a JSON {json_type(value)}")
    return value


def path_value(item: Mapping[str, Any], path: str, where: str) -> Any:
    """A dotted path into nested objects; None when a step is missing; an error when a step is not an object."""
    value: Any = item
    steps = path.split(".")
    for depth, step in enumerate(steps):
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise InputError(
                f"{where}: {'.'.join(steps[:depth])} must be a JSON object, found a JSON {json_type(value)}"
            )
        value = value.get(step)
    return value


def parse_time(value: Any, where: str, what: str, *, required: bool) -> pd.Timestamp | None:
    """An ISO 8601 timestamp in the accepted range (UTC, ns); a one-line error naming where and what."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(f"{where}: {what} is empty")
        return None
    if not isinstance(value, str):
        raise InputError(
            f"{where}: {what} must be an ISO 8601 timestamp (text), found a JSON {json_type(value)}"
        )
    text = value.strip()
    shown = repr(text) if len(text) <= 60 else repr(text[:60] + "…")
    if len(text) > 64 or not text[:4].isdigit():
        raise InputError(f"{where}: {what} {shown} is not an ISO 8601 timestamp")
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{where}: {what} {shown} is not an ISO 8601 timestamp") from None
    if stamp is pd.NaT:
        raise InputError(f"{where}: {what} {shown} is not an ISO 8601 timestamp")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if not timerange.in_range(stamp):
        raise InputError(f"{where}: {what} {timerange.outside(shown)}")
    return stamp.as_unit("ns")


def field(item: Mapping[str, Any], path: str) -> Any:
    """A dotted path into nested objects (``service.summary``); None when any step is missing."""
    value: Any = item
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")


def safe_relative(relative: str) -> str:
    """A relative path the readers build (``pulls/12/commits.json``): plain names only, never ``..``."""
    parts = relative.split("/")
    if not parts or not all(PART.fullmatch(p) and p not in (".", "..") for p in parts):
        raise InputError(f"{relative!r}: not a plain relative path of a saved file")
    return relative


def unwrap(value: Any, key: str, name: str) -> Any:
    """The list under ``key`` of an object, or of each of a list of objects (pages); a plain list as it is."""
    if isinstance(value, dict):
        return value.get(key) if key in value else value
    if isinstance(value, list) and value and all(isinstance(page, dict) and key in page for page in value):
        items: list[Any] = []
        for number, page in enumerate(value):
            found = page[key]
            if not isinstance(found, list):
                raise InputError(
                    f"{name}: page {number}: {key} must be a JSON array, found a JSON {json_type(found)}"
                )
            items.extend(found)
        return items
    return value


class Source:
    """Named files by relative POSIX path (``pulls/12/commits.json``)."""

    name: str

    def read(self, relative: str) -> bytes | None:  # pragma: no cover - interface
        raise NotImplementedError

    def json(
        self, relative: str, what: str, *, required: bool = True, key: str | None = None
    ) -> list[Any] | None:
        """The items of a saved list; ``key``: the list is that field of an object (one a page)."""
        data = self.read(relative)
        if data is None:
            if required:
                raise InputError(
                    f"{self.name}: no {relative} (expected {what} as the provider's API returns them)"
                )
            return None
        label = f"{self.name}/{relative}"
        value = parse_pages(data, label)
        if key is not None:
            value = unwrap(value, key, label)
        return expect_list(value, label, what)


class FolderSource(Source):
    def __init__(self, folder: str | Path, limit: int | None = None):
        path = Path(folder)
        if not path.is_dir():
            raise InputError(
                f"{folder}: no such directory" if not path.exists() else f"{folder}: not a directory"
            )
        self.path, self.name, self.limit = path, str(folder), limit

    def read(self, relative: str) -> bytes | None:
        """The bytes of ``relative`` (checked to be a plain relative path), read only from inside the folder."""
        safe_relative(relative)
        file = self.path / PurePosixPath(relative)
        try:
            if not os.path.lexists(file):
                return None
            inside = file.resolve().is_relative_to(self.path.resolve())
        except (OSError, RuntimeError, ValueError):
            inside = False
        if not inside:
            raise InputError(
                f"{self.name}/{relative}: leads outside {self.name}; saved files are read only "
                f"from inside the folder"
            )
        return read_file_bytes(file, self.limit)


class MemorySource(Source):
    """Files held in memory (a live fetch, or uploads)."""

    def __init__(self, files: Mapping[str, bytes], name: str = "<upload>"):
        self.files, self.name = dict(files), name

    def read(self, relative: str) -> bytes | None:
        return self.files.get(relative)


def zip_source(data: bytes, name: str, markers: Iterable[str], limit: int | None = None) -> MemorySource:
    """The files of a zip archive (never extracted to disk), rooted where a marker file lies.

    The archive may hold the saved folder itself or its contents. Its members together may not
    exceed ``limit`` bytes uncompressed (a guard against archive bombs).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise InputError(f"{name}: not a readable zip archive ({exc})") from None
    check_size(f"{name} (uncompressed)", sum(m.file_size for m in members), limit)
    paths = {PurePosixPath(m.filename): m for m in members}
    roots = sorted((p.parent for p in paths if p.name in set(markers)), key=lambda p: len(p.parts))
    if not roots:
        raise InputError(f"{name}: the archive holds none of {', '.join(sorted(markers))}")
    root = roots[0]
    files = {}
    for path, member in paths.items():
        if root != PurePosixPath(".") and root not in path.parents:
            continue
        relative = path.relative_to(root).as_posix() if root != PurePosixPath(".") else path.as_posix()
        try:
            files[relative] = archive.read(member)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            raise InputError(f"{name}: cannot read {member.filename} from the archive ({exc})") from None
    return MemorySource(files, name)


def check_logs(logs: Any) -> None:
    """The logs as ``score`` will read them back: one line naming the file, line and field when they would
    be refused (an import never writes logs that ``score`` refuses)."""
    from sim.metrics.logs import logs_to_csv_bytes, read_logs

    files = logs_to_csv_bytes(logs)
    streams = []
    for name in ("changes.csv", "deployments.csv", "incidents.csv"):
        stream = io.BytesIO(files[name])
        stream.name = name
        streams.append(stream)
    try:
        read_logs(streams[0], streams[1], streams[2])
    except InputError as exc:
        raise InputError(f"the imported logs would be refused by score: {exc}") from None
