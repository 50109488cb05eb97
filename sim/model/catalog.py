"""The shipped scenario, plan and sweep files, addressable by name from any folder.

In a source checkout they are the top-level ``scenarios/`` folder; an installed wheel carries the
same files as package data in ``sim/scenarios/`` (see ``pyproject.toml``). Everything that needs a
shipped file — the command line (``run baseline``, ``plan plan_90_days``), the app, the benchmark,
calibration's default base — finds it here, so there is one rule for where they live.

Naming: a plan file starts with ``plan_``, a sweep file with ``sweep_``; every other ``.toml`` file
is a scenario.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import InputError

_PACKAGE = Path(__file__).resolve().parent.parent  # the installed ``sim`` package
KINDS = ("scenario", "plan", "sweep")


def scenario_dir() -> Path:
    """The folder of shipped files: ``sim/scenarios`` in a wheel, else ``scenarios/`` beside ``sim/``."""
    packaged = _PACKAGE / "scenarios"
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / "scenarios"


def _kind_of(stem: str) -> str:
    if stem.startswith("plan_"):
        return "plan"
    if stem.startswith("sweep_"):
        return "sweep"
    return "scenario"


def shipped(kind: str = "scenario") -> dict[str, Path]:
    """Shipped files of one kind by name (file stem), in name order."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    folder = scenario_dir()
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    return {p.stem: p for p in files if _kind_of(p.stem) == kind}


def shipped_path(name: str, kind: str = "scenario") -> Path:
    """The shipped file called ``name`` (with or without ``.toml``), or a one-line error listing the names."""
    stem = name.removesuffix(".toml")
    files = shipped(kind)
    if stem in files:
        return files[stem]
    known = ", ".join(files) or "none"
    raise InputError(f"{name}: no shipped {kind} of that name (shipped: {known})")


def locate(text: str, kind: str = "scenario") -> Path:
    """A path the user typed, or the name of a shipped file when no such path exists.

    A path that exists always wins (``baseline.toml`` in the current folder is the user's own
    file). A bare name (no folder part) that is not a file is looked up among the shipped files;
    anything else is returned as it is, for the reader to report.
    """
    path = Path(text)
    if path.exists() or path.parent != Path("."):
        return path
    stem = path.name.removesuffix(".toml")
    files = shipped(kind)
    if stem in files:
        return files[stem]
    if not text.endswith(".toml"):
        known = ", ".join(files) or "none"
        raise InputError(f"{text}: no such file, and no shipped {kind} of that name (shipped: {known})")
    return path
