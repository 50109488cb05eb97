"""Results kept on disk across server restarts: one JSON file per computation.

The key hashes the dorasim version, the model's fingerprint (:func:`sim.analysis.fingerprint.model_digest`:
the code and library versions that decide a number), the kind of computation and its inputs (scenario,
replications, seed, settings), so a stored result is only ever reused for exactly the same numbers.
The folder is ``$DORASIM_CACHE_DIR``, else ``~/.cache/dorasim/app``; ``DORASIM_CACHE_DIR=off`` keeps
nothing on disk. Writes are atomic (a temporary file renamed into place), and one lock per key makes
concurrent sessions wait for a computation already under way instead of repeating it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sim
from sim.analysis.fingerprint import model_digest

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def folder() -> Path | None:
    configured = os.environ.get("DORASIM_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "dorasim" / "app"


def key(kind: str, payload: dict[str, Any]) -> str:
    document = {"kind": kind, "version": sim.__version__, "model": model_digest(), **payload}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _path(digest: str) -> Path | None:
    base = folder()
    return None if base is None else base / f"{digest}.json"


def load(digest: str) -> dict[str, Any] | None:
    path = _path(digest)
    if path is None or not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged file is recomputed and replaced


def save(digest: str, value: dict[str, Any]) -> None:
    path = _path(digest)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
        ) as handle:
            json.dump(value, handle, allow_nan=True)
        os.replace(handle.name, path)
    except OSError:
        return  # a read-only disk only costs the next restart a recomputation


def _lock(digest: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(digest, threading.Lock())


def get_or_compute(
    kind: str,
    payload: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
    waiting: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
) -> dict[str, Any]:
    """The stored result, or ``compute()`` stored; a caller that finds the same computation under way waits
    for it (inside ``waiting()``, e.g. a spinner) rather than repeating it."""
    digest = key(kind, payload)
    found = load(digest)
    if found is not None:
        return found
    lock = _lock(digest)
    if not lock.acquire(blocking=False):
        with waiting() if waiting is not None else contextlib.nullcontext():
            lock.acquire()
    try:
        found = load(digest)
        if found is not None:
            return found
        value = compute()
        save(digest, value)
        return value
    finally:
        lock.release()
