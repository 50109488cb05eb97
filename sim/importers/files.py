"""Reading what a user saved: a folder, a zip archive or uploaded bytes, with size limits and
one-line errors for a missing file, a file too large, a file that is not JSON or the wrong shape.

A :class:`Source` maps relative paths (``pulls.json``, ``pulls/12/commits.json``) to bytes, so
the GitHub and GitLab readers work the same on a folder saved by ``import --save``, on the same
folder zipped and uploaded to the app, and on the responses a live import has just fetched.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from sim.errors import InputError

MAX_FILE_MB = 256
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024


def check_size(name: str, size: int, limit: int | None = None) -> None:
    limit = MAX_FILE_BYTES if limit is None else limit
    if size > limit:
        raise InputError(f"{name}: the file is {size / 1024 / 1024:.1f} MB; the limit is {limit / 1024 / 1024:.0f} MB")


def read_file_bytes(path: str | Path, limit: int | None = None) -> bytes:
    """A file's bytes; one-line errors for a missing file, a folder or a file over ``limit``."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if file.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    check_size(str(path), size, limit)
    try:
        return file.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def decode_text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None


def parse_json(data: bytes, name: str) -> Any:
    """JSON from bytes; a one-line error naming the line and column of the first problem."""
    text = decode_text(data, name)
    if not text.strip():
        raise InputError(f"{name}: the file is empty; expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise InputError(f"{name}: not valid JSON (nested too deeply)") from None


def expect_list(value: Any, name: str, what: str) -> list[Any]:
    """A JSON array (or a list of pages, each an array) of objects."""
    if isinstance(value, list) and value and all(isinstance(page, list) for page in value):
        value = [item for page in value for item in page]
    if not isinstance(value, list):
        raise InputError(f"{name}: expected a JSON array of {what}, found a JSON {_json_type(value)}")
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(f"{name}: item {position}: expected a JSON object ({what}), found a JSON {_json_type(item)}")
    return value


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def required_field(item: Mapping[str, Any], key: str, where: str) -> Any:
    """``item[key]``, or a one-line error naming where the item is."""
    if item.get(key) is None:
        raise InputError(f"{where}: missing {key!r}")
    return item[key]


def field(item: Mapping[str, Any], path: str) -> Any:
    """A dotted path into nested objects (``service.summary``); None when any step is missing."""
    value: Any = item
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


class Source:
    """Named files by relative POSIX path (``pulls/12/commits.json``)."""

    name: str

    def read(self, relative: str) -> bytes | None:  # pragma: no cover - interface
        raise NotImplementedError

    def json(self, relative: str, what: str, *, required: bool = True) -> list[Any] | None:
        data = self.read(relative)
        if data is None:
            if required:
                raise InputError(f"{self.name}: no {relative} (expected {what} as the provider's API returns them)")
            return None
        label = f"{self.name}/{relative}"
        return expect_list(parse_json(data, label), label, what)


class FolderSource(Source):
    def __init__(self, folder: str | Path, limit: int | None = None):
        path = Path(folder)
        if not path.is_dir():
            raise InputError(f"{folder}: no such directory" if not path.exists() else f"{folder}: not a directory")
        self.path, self.name, self.limit = path, str(folder), limit

    def read(self, relative: str) -> bytes | None:
        file = self.path / PurePosixPath(relative)
        if not file.is_file():
            return None
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
