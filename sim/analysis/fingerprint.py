"""A fingerprint of what decides a simulated number: the model's code and the numeric libraries.

Two builds with the same fingerprint give the same numbers for the same scenario and seed. It
hashes the syntax tree (without docstrings) of the modules that compute results — the model, the
scorer and bands, replication summaries and sweep designs — and the versions of the libraries
that draw and transform the random numbers (NumPy, SciPy, SimPy, SALib). Help texts, tables,
the app and comments do not change it, so editing them does not invalidate a stored sweep.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
from pathlib import Path

_SIM = Path(__file__).resolve().parent.parent
# what computes a number; everything else (cli, bench, app, docs) only shows numbers
NUMBER_MODULES = (
    "model",
    "metrics/columns.py",
    "metrics/scoring.py",
    "metrics/bands.py",
    "metrics/registry.py",
    "analysis/runner.py",
    "analysis/stability.py",
    "analysis/sweep.py",
    "analysis/sweep_spec.py",
    "analysis/sweep_load.py",
)
NUMBER_LIBRARIES = ("numpy", "scipy", "simpy", "SALib")
_SHOWN_ONLY = {"catalog.py", "reference.py"}


def _code_only(source: str) -> str:
    """The module's syntax tree without docstrings and comments, as text."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree, include_attributes=False)


def _files() -> list[Path]:
    files: list[Path] = []
    for entry in NUMBER_MODULES:
        path = _SIM / entry
        files.extend(
            sorted(p for p in path.rglob("*.py") if p.name not in _SHOWN_ONLY) if path.is_dir() else [path]
        )
    return files


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


@functools.cache
def model_digest() -> str:
    """16 hex digits: the same digest means the same numbers for the same scenario and seed."""
    digest = hashlib.sha256()
    for path in _files():
        digest.update(path.relative_to(_SIM).as_posix().encode() + b"\0")
        digest.update(_code_only(path.read_text(encoding="utf-8")).encode())
    for name in NUMBER_LIBRARIES:
        digest.update(f"{name}=={_version(name)}\0".encode())
    return digest.hexdigest()[:16]
