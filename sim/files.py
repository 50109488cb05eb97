"""Files a user names: read safely, written safely, and the rule that says where ``extends`` may point.

Every scenario, ``extends`` parent, plan, sweep, sweep ``base``, calibration base and CSV log goes
through :func:`read_bytes` / :func:`read_text`:

- **regular files only**, checked with ``os.stat`` before anything is opened: a folder, a named pipe
  (FIFO), a device (``/dev/zero``, a terminal) or a socket is refused at once instead of hanging or
  filling memory;
- **a size cap** per kind of file: :data:`TOML` (1 MB; ``DORASIM_MAX_TOML_KB`` changes it) and
  :data:`CSV` (50 MB; ``DORASIM_MAX_LOG_MB``). The file is opened non-blocking and read to at most
  one byte past the cap, so a file that grows (or a ``/proc`` file reporting size 0) cannot slip
  past it;
- **one-line errors** (:class:`~sim.errors.InputError`) naming the file as the user wrote it and the
  rule it broke.

Outputs go through :func:`write_bytes` / :func:`write_text` / :func:`make_folder`, which turn an
operating-system refusal (no such folder, permission denied, a disk full, ``/proc``) into the same
kind of line.

``extends`` is resolved by a :class:`Resolver`. :class:`LocalFiles` (the command line and the
library) follows paths relative to the file that names them. :class:`NamedFiles` (the hosted app)
knows only a fixed set of names — the shipped scenarios and the files uploaded in the same session —
and never touches a path: an absolute or relative path, or an unknown name, is refused without
reading anything.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sim.errors import InputError

KB = 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class Kind:
    """A kind of user file: how messages name it, its default size cap and how to change the cap."""

    noun: str
    default_bytes: int
    env: str
    unit: str  # "KB" or "MB": the unit of the environment variable
    missing: str = ""  # how a missing file is reported (default "<what> not found")

    def limit(self) -> int:
        """The cap in bytes: the environment variable when set to a positive number, else the default."""
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default_bytes
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{self.env}={raw!r}: must be a number of {self.unit}") from None
        if not value > 0 or value == float("inf"):
            raise InputError(f"{self.env}={raw!r}: must be a positive number of {self.unit}")
        return int(value * (KB if self.unit == "KB" else MB))


TOML = Kind("TOML file", 1 * MB, "DORASIM_MAX_TOML_KB", "KB")
CSV = Kind("CSV file", 50 * MB, "DORASIM_MAX_LOG_MB", "MB", missing="no such file")


NAME_CHARS = 240  # how much of a (pasted, generated) file name a message shows


def shown_name(path: str | Path) -> str:
    """A file name as messages show it: whole when short, else its start and end."""
    text = str(path)
    return text if len(text) <= NAME_CHARS else f"{text[:150]}…{text[-80:]}"


def size_text(n_bytes: float) -> str:
    """``512 bytes``, ``1.5 KB``, ``50 MB``: sizes as messages show them."""
    if n_bytes < KB:
        return f"{int(n_bytes)} bytes"
    if n_bytes < MB:
        return f"{n_bytes / KB:.4g} KB"
    return f"{n_bytes / MB:.4g} MB"


def _too_big(name: str, kind: Kind, what: str, size: str, limit: int) -> InputError:
    return InputError(
        f"{name}: the {what} is {size}; the limit is {size_text(limit)} (set {kind.env} to change it)"
    )


def _not_regular(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _os_problem(exc: OSError, kind: Kind, what: str) -> str:
    missing = kind.missing or f"{what} not found"
    if isinstance(exc, FileNotFoundError):
        return missing
    if exc.errno == errno.ENOTDIR:
        return f"{missing} (a part of the path is not a directory)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    if exc.errno == errno.ELOOP:
        return "too many symbolic links"
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


def check_regular(
    path: str | Path, kind: Kind = TOML, *, name: str | None = None, what: str | None = None
) -> os.stat_result:
    """``os.stat`` of a file that must exist and be regular (any size), or a one-line error."""
    name = shown_name(path) if name is None else name
    what = kind.noun if what is None else what
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(f"{name}: {_os_problem(exc, kind, what)}") from None
    except ValueError:  # an embedded NUL byte
        raise InputError(f"{name}: not a valid file name") from None
    other = _not_regular(info.st_mode)
    if other is not None:
        raise InputError(f"{name}: is {other}, not a {what}")
    return info


def check_file(
    path: str | Path, kind: Kind = TOML, *, name: str | None = None, what: str | None = None
) -> os.stat_result:
    """``os.stat`` of a user's file, or a one-line error if it is missing, not regular, or too big.

    ``name`` is how messages name the file (default: the path as given), ``what`` what it should be
    (default: the kind's noun, e.g. "TOML file").
    """
    name = shown_name(path) if name is None else name
    what = kind.noun if what is None else what
    info = check_regular(path, kind, name=name, what=what)
    limit = kind.limit()
    if info.st_size > limit:
        raise _too_big(name, kind, what, size_text(info.st_size), limit)
    return info


def read_bytes(
    path: str | Path, kind: Kind = TOML, *, name: str | None = None, what: str | None = None
) -> bytes:
    """The bytes of a user's regular file of at most ``kind.limit()`` bytes; else one-line :class:`InputError`.

    ``name`` and ``what`` as in :func:`check_file`.
    """
    name = shown_name(path) if name is None else name
    what = kind.noun if what is None else what
    check_file(path, kind, name=name, what=what)
    limit = kind.limit()
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"{name}: {_os_problem(exc, kind, what)}") from None
    try:
        # the path may have been swapped for something else since the stat: check what was opened
        other = _not_regular(os.fstat(fd).st_mode)
        if other is not None:
            raise InputError(f"{name}: is {other}, not a {what}")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, 4 * MB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"{name}: {_os_problem(exc, kind, what)}") from None
    finally:
        os.close(fd)
    if total > limit:
        raise _too_big(name, kind, what, f"more than {size_text(limit)}", limit)
    return b"".join(chunks)


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped), or a one-line error naming the bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None


def read_text(
    path: str | Path, kind: Kind = TOML, *, name: str | None = None, what: str | None = None
) -> str:
    """A user's UTF-8 text file, read with the rules of :func:`read_bytes`."""
    name = shown_name(path) if name is None else name
    return decode_text(read_bytes(path, kind, name=name, what=what), name)


# ---------------------------------------------------------------------------------------------
# Writing


def _write_problem(name: str, action: str, exc: OSError) -> InputError:
    return InputError(f"{name}: cannot {action} ({exc.strerror or type(exc).__name__})")


def make_folder(path: str | Path, *, name: str | None = None) -> Path:
    """Create a folder for output (and its parents), or a one-line error saying why not."""
    name = shown_name(path) if name is None else name
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{name}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_problem(name, "create this folder", exc) from None
    except ValueError:
        raise InputError(f"{name}: not a valid folder name") from None
    return folder


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _target_problem(target: Path) -> str | None:
    """Why an output path must not be written (a symbolic link, a FIFO, a device, a folder), or None."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return "not a usable file name"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link; refused (an output is never written through a link)"
    other = _not_regular(info.st_mode)
    if other is not None:
        return f"is {other}, not a file that can be written"
    return None


def check_writable(path: str | Path, *, name: str | None = None) -> Path:
    """Make sure an output file can be written before long work starts; else a one-line error.

    It must be a regular file or not exist yet (a symbolic link is refused, a pipe would block, a folder
    cannot be written), and its folder must accept a new file: a temporary file is created there and
    removed again — the target itself is never opened.
    """
    name = shown_name(path) if name is None else name
    target = Path(path)
    problem = _target_problem(target)
    if problem is not None:
        raise InputError(f"{name}: {problem}")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name[:50]}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _write_problem(name, "write this file", exc) from None
    except ValueError:
        raise InputError(f"{name}: not a usable file name") from None
    os.close(fd)
    os.unlink(temp)
    return target


def write_bytes(path: str | Path, data: bytes, *, name: str | None = None) -> None:
    """Write an output file whole or not at all, or a one-line error saying why it cannot be written.

    The bytes go to a temporary file in the same folder, which then replaces the target by a rename:
    a reader never sees half a file, a failed write leaves the old file as it was, and a symbolic
    link, FIFO or device at the target is refused rather than followed.
    """
    name = shown_name(path) if name is None else name
    target = Path(path)
    if target.is_dir() and not target.is_symlink():
        raise InputError(f"{name}: is a directory; give a file name")
    problem = _target_problem(target)
    if problem is not None:
        raise InputError(f"{name}: {problem}")
    try:
        mode = os.stat(target).st_mode & 0o777
    except (OSError, ValueError):
        mode = 0o666 & ~_umask()
    temp: str | None = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name[:50]}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
        os.replace(temp, target)
        temp = None
    except OSError as exc:
        raise _write_problem(name, "write this file", exc) from None
    except ValueError:
        raise InputError(f"{name}: not a valid file name") from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def write_text(path: str | Path, text: str, *, name: str | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), name=name)


# ---------------------------------------------------------------------------------------------
# Where ``extends`` may point


@dataclass(frozen=True)
class Parent:
    """A file an ``extends`` names: ``key`` identifies it (circular chains), ``source`` names it in messages."""

    key: str
    source: str
    text: str


class Resolver(Protocol):
    """Finds the file an ``extends`` names."""

    def root_key(self, source: str) -> str:
        """The key of a text with no file of its own, shown as ``source`` (an upload, an edit)."""
        ...

    def __call__(self, target: str, referrer_key: str, referrer_source: str) -> Parent:
        """The file ``extends = target`` names in the file ``referrer_key`` (shown as ``referrer_source``),
        or a one-line :class:`InputError`."""
        ...


class LocalFiles:
    """``extends`` as a path relative to the folder of the file that names it (absolute paths too).

    ``folder`` anchors text that has no file of its own (default: the current folder).
    """

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path.cwd() if folder is None else Path(folder)

    def root_key(self, source: str) -> str:
        return str((self.folder / Path(source).name).resolve())

    def __call__(self, target: str, referrer_key: str, referrer_source: str) -> Parent:
        where = f"{referrer_source}: extends = {target!r}"
        try:
            path = (Path(referrer_key).parent / target).resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL byte, a symbolic-link loop
            raise InputError(f"{where}: not a usable file path") from None
        try:
            text = read_text(path, TOML, name=str(path), what="file")
        except InputError as exc:
            problem = str(exc).removeprefix(f"{path}: ")
            raise InputError(f"{where}: {problem} ({path})") from None
        return Parent(str(path), str(path), text)


class NamedFiles:
    """``extends`` only by name: the shipped scenarios and the files uploaded in this session.

    ``shipped`` maps a name (file stem) to a shipped file; ``uploaded`` maps an upload's file name to
    its bytes. A target with a folder part, an absolute path or an unknown name is refused before any
    file is touched, and messages name files only by the names the user sees.
    """

    def __init__(self, shipped: Mapping[str, Path], uploaded: Mapping[str, bytes] | None = None):
        self.shipped = dict(shipped)
        self.uploaded = dict(uploaded or {})

    def root_key(self, source: str) -> str:
        return f"upload:{Path(source).name}"

    def _known(self) -> str:
        names = [f"{n}.toml" for n in self.shipped] + [n for n in self.uploaded if n not in self.shipped]
        return ", ".join(names) or "none"

    def __call__(self, target: str, referrer_key: str, referrer_source: str) -> Parent:
        where = f"{referrer_source}: extends = {target!r}"
        if (
            not target
            or any(c in target for c in "/\\\0:")
            or target.startswith(".")
            or Path(target).is_absolute()
        ):
            raise InputError(
                f"{where}: only the name of a shipped scenario or of a file uploaded here is allowed "
                f"(no folders or paths): {self._known()}"
            )
        stem = target.removesuffix(".toml")
        for upload_name in (target, f"{stem}.toml"):
            if upload_name in self.uploaded:
                data = self.uploaded[upload_name]
                return Parent(f"upload:{upload_name}", upload_name, decode_text(data, upload_name))
        if stem in self.shipped:
            text = read_text(self.shipped[stem], TOML, name=f"{stem}.toml", what="scenario file")
            return Parent(f"shipped:{stem}", f"{stem}.toml", text)
        raise InputError(f"{where}: no shipped scenario or uploaded file of that name ({self._known()})")
