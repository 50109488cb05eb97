"""The four tables one replication writes while it runs (docs/architecture.md, "Typed records").

Each table is a set of typed columns (``array.array``: eight bytes or fewer a value, appended and
read as fast as a list) that become NumPy arrays when the run ends. Rows refer to each other by
index, and ``-1`` (:data:`NONE`) means "none":

- :class:`ChangeTable` — when a change was created, by whom, its defect draws, its merge unit,
  and when it was first ready, first deployed (start and end);
- :class:`UnitTable` — a merge unit (a long-lived branch's changes, or one change on trunk): when it
  started and merged, and the hours it spent resolving conflicts, queueing for CI, running the
  suite and fixing what the suite caught; its changes are ``members[first : first + count]``;
- :class:`DeploymentTable` — start, end, planned or not, manual or automated, and the changes it
  shipped (``members[first : first + count]``);
- :class:`IncidentTable` — the deployment that caused it, when it began and was resolved, and how.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

NONE = -1  # "no such row" in an index column
RESTORE_PATHS = ("", "flag", "rollback", "hotfix", "hotfix_queued")  # incident ``path`` codes
METHODS = ("manual", "automated")  # deployment ``automated`` codes


# Column types: eight-byte floats for times and hours, four-byte integers for indices (a run never
# holds two billion rows), one byte for switches. Memory per simulated change stays in the low hundreds
# of bytes, so a year of a 500-engineer organisation fits easily.
FLOAT, INDEX, FLAG = "d", "i", "b"
_DTYPES = {FLOAT: np.float64, INDEX: np.int32, FLAG: np.int8}


def _typed(typecode: str, values: np.ndarray | Sequence[float] = ()) -> array:
    out = array(typecode)
    data = np.ascontiguousarray(values, dtype=_DTYPES[typecode])
    out.frombytes(data.data.cast("B"))  # straight from the array's memory: no bytes copy
    return out


def _doubles(values: np.ndarray | Sequence[float] = ()) -> array:
    return _typed(FLOAT, values)


def int_column(values: np.ndarray | Sequence[int] = ()) -> array:
    """An index column (four-byte integers) from any integer values."""
    return _typed(INDEX, values)


def _flags(values: np.ndarray | Sequence[bool] = ()) -> array:
    return _typed(FLAG, values)


def column(values: array) -> np.ndarray:
    """A column as a NumPy array of its own type (a view: no copy)."""
    dtype = _DTYPES[values.typecode]
    return np.frombuffer(values, dtype=dtype) if len(values) else np.empty(0, dtype=dtype)


class ChangeTable:
    """One row per change (index = change number). Hours are simulation hours; NaN = not yet."""

    __slots__ = (
        "created",
        "defective",
        "engineer",
        "first_deploy_end",
        "first_deploy_start",
        "first_ready",
        "flagged",
        "p_defect",
        "team",
        "u_adopt",
        "u_defect",
        "unit",
    )

    def __init__(
        self,
        created: np.ndarray,
        engineer: np.ndarray,
        team: np.ndarray,
        p_defect: np.ndarray,
        u_defect: np.ndarray,
        u_adopt: np.ndarray,
        flagged: np.ndarray,
    ) -> None:
        n = len(created)
        self.created = _doubles(created)
        self.engineer = int_column(engineer)  # NONE for fixes written during an incident
        self.team = int_column(team)  # 0-based team that owns the change
        self.p_defect = _doubles(p_defect)  # probability the change carries a defect
        self.u_defect = _doubles(u_defect)  # the change's own draw: defective while u_defect < p
        self.u_adopt = _doubles(u_adopt)  # the change's draw for adopting a switch during a plan
        self.flagged = _flags(flagged)  # behind a feature flag
        self.defective = _flags(np.asarray(u_defect) < np.asarray(p_defect))
        self.unit = array(INDEX, [NONE]) * n
        self.first_ready = array(FLOAT, [math.nan]) * n
        self.first_deploy_start = array(FLOAT, [math.nan]) * n
        self.first_deploy_end = array(FLOAT, [math.nan]) * n

    def __len__(self) -> int:
        return len(self.created)

    def add(
        self,
        t: float,
        engineer: int,
        team: int,
        p_defect: float,
        u_defect: float,
        u_adopt: float,
        flagged: bool,
    ) -> int:
        """A change written during the run (a hotfix or a follow-up fix); returns its index."""
        index = len(self.created)
        self.created.append(t)
        self.engineer.append(engineer)
        self.team.append(team)
        self.p_defect.append(p_defect)
        self.u_defect.append(u_defect)
        self.u_adopt.append(u_adopt)
        self.flagged.append(flagged)
        self.defective.append(u_defect < p_defect)
        self.unit.append(NONE)
        self.first_ready.append(np.nan)
        self.first_deploy_start.append(np.nan)
        self.first_deploy_end.append(np.nan)
        return index


class UnitTable:
    """One row per merge unit, in the order units reach CI (merge time, then start)."""

    __slots__ = (
        "conflict_hours",
        "count",
        "engineer",
        "first",
        "fix_hours",
        "members",
        "merge",
        "queue_hours",
        "run_hours",
        "start",
        "team",
        "trunk",
    )

    def __init__(self) -> None:
        self.start = array("d")
        self.merge = array("d")
        self.engineer = array(INDEX)
        self.team = array(INDEX)
        self.trunk = array("b")  # one change merged on its own after review (else a long-lived branch)
        self.conflict_hours = array("d")
        self.queue_hours = array("d")
        self.run_hours = array("d")
        self.fix_hours = array("d")
        self.first = array(INDEX)
        self.count = array(INDEX)
        self.members = array(INDEX)

    def __len__(self) -> int:
        return len(self.start)

    def add(
        self,
        start: float,
        merge: float,
        engineer: int,
        team: int,
        trunk: bool,
        changes: list[int],
        conflict_hours: float = 0.0,
    ) -> int:
        index = len(self.start)
        self.start.append(start)
        self.merge.append(merge)
        self.engineer.append(engineer)
        self.team.append(team)
        self.trunk.append(trunk)
        self.conflict_hours.append(conflict_hours)
        self.queue_hours.append(0.0)
        self.run_hours.append(0.0)
        self.fix_hours.append(0.0)
        self.first.append(len(self.members))
        self.count.append(len(changes))
        self.members.extend(changes)
        return index

    def changes(self, index: int) -> array:
        first = self.first[index]
        return self.members[first : first + self.count[index]]

    def add_single_changes(
        self,
        start: np.ndarray,
        merge: np.ndarray,
        engineer: np.ndarray,
        team: np.ndarray,
        trunk: bool,
        changes: np.ndarray,
        conflict_hours: np.ndarray,
    ) -> None:
        """Append many units of one change each (trunk), in bulk."""
        n = len(start)
        offset = len(self.members)
        self.start.extend(_doubles(start))
        self.merge.extend(_doubles(merge))
        self.engineer.extend(int_column(engineer))
        self.team.extend(int_column(team))
        self.trunk.extend(_flags(np.full(n, trunk)))
        self.conflict_hours.extend(_doubles(conflict_hours))
        zeros = _doubles(np.zeros(n))
        self.queue_hours.extend(zeros)
        self.run_hours.extend(zeros)
        self.fix_hours.extend(zeros)
        self.first.extend(int_column(offset + np.arange(n)))
        self.count.extend(int_column(np.ones(n, dtype=np.int64)))
        self.members.extend(int_column(changes))


class DeploymentRow(NamedTuple):
    """One deployment, for reading (tests, the app); the model itself works on the columns."""

    index: int  # type: ignore[assignment]  # a field named like tuple.index (read as dep.index)
    start: float
    end: float
    changes: list[int]
    unplanned: bool
    method: str
    team: int


class IncidentRow(NamedTuple):
    index: int  # type: ignore[assignment]  # a field named like tuple.index (read as inc.index)
    deploy: int
    created: float
    resolved: float | None  # None while open
    path: str


class DeploymentTable:
    """One row per deployment, in the order they finished being recorded."""

    __slots__ = ("automated", "count", "end", "first", "members", "start", "team", "unplanned")

    def __init__(self) -> None:
        self.start = array("d")
        self.end = array("d")
        self.team = array(INDEX)  # the team whose service it deploys
        self.unplanned = array("b")
        self.automated = array("b")
        self.first = array(INDEX)
        self.count = array(INDEX)
        self.members = array(INDEX)

    def __len__(self) -> int:
        return len(self.start)

    def add(
        self, start: float, end: float, changes: list[int], unplanned: bool, method: str, team: int
    ) -> int:
        index = len(self.start)
        self.start.append(start)
        self.end.append(end)
        self.team.append(team)
        self.unplanned.append(unplanned)
        self.automated.append(method == "automated")
        self.first.append(len(self.members))
        self.count.append(len(changes))
        self.members.extend(changes)
        return index

    def changes(self, index: int) -> array:
        first = self.first[index]
        return self.members[first : first + self.count[index]]

    def row(self, index: int) -> DeploymentRow:
        return DeploymentRow(
            index,
            self.start[index],
            self.end[index],
            list(self.changes(index)),
            bool(self.unplanned[index]),
            METHODS[self.automated[index]],
            self.team[index],
        )

    def __iter__(self) -> Iterator[DeploymentRow]:
        return (self.row(i) for i in range(len(self)))


class IncidentTable:
    """One row per incident: its deployment, when it began to hurt users, when and how it was resolved."""

    __slots__ = ("created", "deploy", "path", "resolved")

    def __init__(self) -> None:
        self.deploy = array(INDEX)
        self.created = array("d")
        self.resolved = array("d")  # NaN while open
        self.path = array("b")  # index into RESTORE_PATHS

    def __len__(self) -> int:
        return len(self.created)

    def add(self, deploy: int, created: float) -> int:
        index = len(self.created)
        self.deploy.append(deploy)
        self.created.append(created)
        self.resolved.append(np.nan)
        self.path.append(0)
        return index

    def set_path(self, index: int, path: str) -> None:
        self.path[index] = RESTORE_PATHS.index(path)

    def resolve(self, index: int, t: float, path: str | None = None) -> None:
        self.resolved[index] = t
        if path is not None:
            self.set_path(index, path)

    def row(self, index: int) -> IncidentRow:
        resolved = self.resolved[index]
        return IncidentRow(
            index,
            self.deploy[index],
            self.created[index],
            None if resolved != resolved else resolved,
            RESTORE_PATHS[self.path[index]],
        )

    def __iter__(self) -> Iterator[IncidentRow]:
        return (self.row(i) for i in range(len(self)))
