"""The import report (``import_report.json``): what a source read, what it skipped and why.

Skipped items are grouped by reason with a count and the first few examples, so a repository
with thousands of unrelated tags gives a short report rather than a list of them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.files import write_text

EXAMPLES = 10  # examples kept per skip reason


@dataclass
class ImportReport:
    """Collects what an importer read, wrote, skipped and how it linked incidents."""

    source: str
    settings: dict[str, Any] = field(default_factory=dict)
    read: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    links: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _skipped: dict[str, dict[str, Any]] = field(default_factory=dict)
    ci_runs: list[Any] | None = (
        None  # CI runs the source held (sim.importers.ci.CiRun), written to ci_runs.csv
    )

    def count(self, what: str, n: int = 1) -> None:
        self.read[what] = self.read.get(what, 0) + n

    def skip(self, what: str, reason: str, example: str | None = None, n: int = 1) -> None:
        """Record ``n`` skipped items of kind ``what`` for ``reason`` (with one example id)."""
        key = f"{what}: {reason}"
        entry = self._skipped.setdefault(key, {"what": what, "reason": reason, "count": 0, "examples": []})
        entry["count"] += n
        if example is not None and len(entry["examples"]) < EXAMPLES:
            entry["examples"].append(example)

    def skipped(self) -> list[dict[str, Any]]:
        return sorted(self._skipped.values(), key=lambda e: (e["what"], -e["count"], e["reason"]))

    def skipped_count(self, what: str | None = None) -> int:
        return sum(e["count"] for e in self._skipped.values() if what is None or e["what"] == what)

    def why_none(self, what: str = "deployment") -> str:
        """Why no ``what`` was kept: the skip reasons with their counts, most frequent first."""
        entries = sorted((e for e in self._skipped.values() if e["what"] == what), key=lambda e: -e["count"])
        return "; ".join(f"{e['count']} skipped, {e['reason']}" for e in entries)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "settings": self.settings,
            "read": dict(sorted(self.read.items())),
            "written": self.written,
            "skipped": self.skipped(),
            "incident_links": self.links,
            "notes": self.notes,
        }

    def write(self, out_dir: str | Path) -> Path:
        path = Path(out_dir) / "import_report.json"
        write_text(path, json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return path
