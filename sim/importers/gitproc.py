"""Running git on a repository we do not trust, and reading what it prints byte-exactly.

Every call goes through :func:`run_git`, which:

- runs ``git`` with a clean environment: every inherited ``GIT_*`` variable removed (``GIT_DIR``,
  ``GIT_CONFIG_PARAMETERS``, ``GIT_EXTERNAL_DIFF`` …), ``GIT_CONFIG_NOSYSTEM=1``, ``HOME`` and
  ``XDG_CONFIG_HOME`` pointing at an empty folder (no system or user configuration), ``LC_ALL=C``,
  no terminal prompts and no optional locks (a read never writes to the repository);
- overrides, with ``-c``, every setting of the repository's own ``.git/config`` that could make a
  reading command run a program: ``log.showSignature`` (it runs ``gpg.program``), the signature
  programs themselves, ``core.fsmonitor``, ``core.pager``, and ``diff.external`` (``log`` calls
  also get ``--no-ext-diff --no-textconv``);
- trusts the named repository whatever its owner (``safe.directory``): the ownership check exists
  because git would otherwise run that repository's configured programs, which the overrides above
  neutralise;
- returns stdout as bytes. Callers parse formats git guarantees whatever a commit holds: NUL-
  separated records (``-z``) of fields that cannot contain the separator (hashes, numbers, ref
  names), and ``cat-file --batch``, which prefixes each object with its length.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from sim.errors import InputError

# settings a repository's config could use to run a program during a read: pinned here
NEUTRAL_CONFIG = (
    "log.showSignature=false",
    "gpg.program=false",
    "gpg.openpgp.program=false",
    "gpg.x509.program=false",
    "gpg.ssh.program=false",
    "core.fsmonitor=false",
    "core.pager=cat",
    "diff.external=",
    "core.hooksPath=/dev/null",
    "safe.directory=*",
)
LOG_OPTIONS = ("--no-ext-diff", "--no-textconv", "--no-show-signature", "--no-color")


def _environment(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": home,
            "XDG_CONFIG_HOME": home,
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_PAGER": "cat",
        }
    )
    env.pop("LANGUAGE", None)
    return env


class Git:
    """One repository and the isolated environment its git commands run in (a context manager)."""

    def __init__(self, repo: str | Path):
        self.repo = Path(repo)
        self._home = tempfile.TemporaryDirectory(prefix="dorasim-git-")
        self._env = _environment(self._home.name)
        self._git = shutil.which("git")

    def __enter__(self) -> Git:
        return self

    def __exit__(self, *exc: object) -> None:
        self._home.cleanup()

    def run(self, args: Sequence[str], stdin: bytes | None = None) -> bytes:
        """stdout of ``git -C repo <neutral config> args``, or a one-line :class:`InputError`."""
        if self._git is None:
            raise InputError("git: the git command is not installed or not on PATH")
        config = [part for setting in NEUTRAL_CONFIG for part in ("-c", setting)]
        try:
            done = subprocess.run(
                [self._git, "-C", str(self.repo), *config, *args],
                input=stdin,
                capture_output=True,
                env=self._env,
                check=False,
            )
        except OSError as exc:
            raise InputError(f"{self.repo}: cannot run git ({exc.strerror or exc})") from None
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            first = lines[0] if lines else f"exit code {done.returncode}"
            command = next((a for a in args if not a.startswith("-") and "=" not in a), "")
            raise InputError(f"{self.repo}: git {command} failed ({first.removeprefix('fatal: ')})")
        return done.stdout

    def text(self, args: Sequence[str], stdin: bytes | None = None) -> str:
        """stdout as text, for outputs made only of hashes, numbers and ref names."""
        return self.run(args, stdin).decode("utf-8", "replace")


def records(data: bytes, separator: bytes = b"\0") -> Iterator[bytes]:
    """The non-empty records of NUL-separated output (``-z``), leading newlines removed."""
    for record in data.split(separator):
        record = record.lstrip(b"\n")
        if record:
            yield record


def batch_objects(data: bytes) -> Iterator[tuple[str, str, bytes]]:
    """(name, type, content) of each object ``git cat-file --batch`` printed (length-prefixed).

    A missing object (``<name> missing``) gives type ``missing`` and no content.
    """
    position, end = 0, len(data)
    while position < end:
        newline = data.index(b"\n", position)
        header = data[position:newline].decode("utf-8", "replace").split()
        position = newline + 1
        if len(header) != 3:
            yield header[0] if header else "", "missing", b""
            continue
        size = int(header[2])
        yield header[0], header[1], data[position : position + size]
        position += size + 1  # the content is followed by a newline


def parse_seconds(text: str | bytes) -> int | None:
    """A unix time git printed (``%at``, ``%ct``, ``%(taggerdate:unix)``): None when git could not read it.

    Git prints an empty field for an unreadable date (a negative or missing timestamp, a broken
    author line) and the digits as written for any other.
    """
    value = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 20 else None
