"""The scorer's one input (docs/architecture.md): the three logs as numeric columns, :class:`LogColumns`.

Times are int64 UTC nanoseconds, ids become integer keys; strings survive only in the optional
:class:`LogLabels`, to name examples in warnings. :func:`columns_from_frames` builds it from log
frames (the only place ids are parsed); the simulator builds it straight from its records
(:func:`sim.model.records.to_columns`). Vectorised: ids are split and dictionary-encoded once with
Arrow compute, first deployments come from ``np.minimum.at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.errors import InputError
from sim.metrics.logs import REQUIRED_COLUMNS, to_utc

NEVER = np.iinfo(np.int64).max  # "not deployed" sentinel for first-deployment times


def _ns(values: pd.Series, kind: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(int64 UTC nanoseconds, present mask) for one timestamp column."""
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        try:
            values = to_utc(values)
        except (ValueError, TypeError) as exc:
            message = f"{kind}.csv: {column} holds a value that is not an ISO 8601 timestamp ({exc})"
            raise InputError(message) from None
    # tz-aware columns give their UTC instants; naive ones are taken as UTC
    array = values.to_numpy(dtype="datetime64[ns]")
    return array.view("i8"), ~np.isnat(array)


def _require(frame: pd.DataFrame, kind: str) -> None:
    for column in REQUIRED_COLUMNS[kind]:
        if column not in frame.columns:
            raise InputError(f"{kind}.csv: missing required column {column!r}")


def _unplanned(deployments: pd.DataFrame) -> np.ndarray:
    if "unplanned" not in deployments.columns:
        return np.zeros(len(deployments), dtype=bool)
    values = deployments["unplanned"]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    return values.astype("str").str.strip().str.lower().isin(["true", "1", "1.0"]).to_numpy()


def _text(values: pd.Series) -> pa.Array:
    """A column as an Arrow string array (missing cells as "") for hashing in C++."""
    array = pa.array(values.astype("str"), from_pandas=True, type=pa.large_string())
    return pc.fill_null(array, "")


def _explode_change_ids(change_ids: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(deployment row of each listed id, the ids) from space-separated or list cells."""
    cells = change_ids.reset_index(drop=True)
    if not isinstance(cells.dtype, pd.StringDtype):  # object cells: str, list, tuple, None
        cells = cells.map(_joined_ids).astype("str")
    lists = pc.utf8_split_whitespace(_text(cells))
    ids = pc.list_flatten(lists)
    rows = pc.list_parent_indices(lists)
    keep = pc.not_equal(ids, "")
    return rows.filter(keep).to_numpy().astype(np.int64), ids.filter(keep)


def _joined_ids(cell: Any) -> str:
    if isinstance(cell, list | tuple | np.ndarray):
        return " ".join(str(item) for item in cell)
    return cell if isinstance(cell, str) else ""


@dataclass(frozen=True)
class LogLabels:
    """The ids behind a :class:`LogColumns`, kept only to name examples in warnings."""

    change_id: pa.Array
    deploy_id: pa.Array
    incident_id: pa.Array
    incident_deploy: pa.Array  # the deploy_id text each incident names ("" = none)
    listed_row: np.ndarray  # deployment row of each (deployment, listed change id) pair
    listed_id: pa.Array  # the listed change id
    listed_known: np.ndarray  # whether that id is in the changes log

    @property
    def unknown_listed_row(self) -> np.ndarray:
        return self.listed_row[~self.listed_known]

    @property
    def unknown_listed_id(self) -> pa.Array:
        return self.listed_id.filter(pa.array(~self.listed_known))


@dataclass(frozen=True)
class LogColumns:
    """The three logs as the scorer reads them: numbers only, one array per column.

    Times are int64 UTC nanoseconds. ``change_first`` is each change's first deployment (the
    earliest deployment listing it, over the whole deployments log), or :data:`NEVER`.
    Deployments carry an integer ``deploy_key`` (equal keys = the same ``deploy_id``); an
    incident's ``incident_deploy`` is the key of the deployment it names, ``NO_DEPLOY`` (-1) when it
    names none, and ``incident_deploy_known`` says whether that deployment is in the log.
    """

    change_t: np.ndarray
    change_first: np.ndarray
    deploy_t: np.ndarray
    deploy_key: np.ndarray
    unplanned: np.ndarray
    incident_t: np.ndarray
    resolved_t: np.ndarray
    resolved: np.ndarray
    incident_deploy: np.ndarray
    incident_deploy_known: np.ndarray
    labels: LogLabels | None = None
    change_team: np.ndarray | None = None  # optional: which team owns each row
    deploy_team: np.ndarray | None = None
    incident_team: np.ndarray | None = None

    def by_team(self, teams: int) -> list[LogColumns]:
        """Every team's rows (teams 0 .. teams − 1), grouping each table once rather than once per team."""
        if self.change_team is None or self.deploy_team is None or self.incident_team is None:
            raise ValueError("these logs carry no team column")
        c = _groups(self.change_team, teams)
        d = _groups(self.deploy_team, teams)
        i = _groups(self.incident_team, teams)
        return [self._rows(c[k], d[k], i[k]) for k in range(teams)]

    def _rows(self, c: np.ndarray, d: np.ndarray, i: np.ndarray) -> LogColumns:
        assert (
            self.change_team is not None and self.deploy_team is not None and self.incident_team is not None
        )
        return LogColumns(
            change_t=self.change_t[c],
            change_first=self.change_first[c],
            deploy_t=self.deploy_t[d],
            deploy_key=self.deploy_key[d],
            unplanned=self.unplanned[d],
            incident_t=self.incident_t[i],
            resolved_t=self.resolved_t[i],
            resolved=self.resolved[i],
            incident_deploy=self.incident_deploy[i],
            incident_deploy_known=self.incident_deploy_known[i],
            change_team=self.change_team[c],
            deploy_team=self.deploy_team[d],
            incident_team=self.incident_team[i],
        )

    @property
    def incident_named_deploy(self) -> np.ndarray:
        """Whether each incident names a deployment (known to the log or not)."""
        return self.incident_deploy != NO_DEPLOY

    def window_timestamps(self) -> np.ndarray:
        """The times that set the default window: deployments' and incidents' ``time_created``."""
        return np.concatenate([self.deploy_t, self.incident_t])


NO_DEPLOY = -1


def _groups(team: np.ndarray, teams: int) -> list[np.ndarray]:
    """Row indices of each team 0 .. teams − 1, in row order (one stable sort)."""
    order = np.argsort(team, kind="stable")
    bounds = np.searchsorted(team[order], np.arange(teams + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(teams)]


def columns_from_frames(
    changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame
) -> LogColumns:
    """The scorer's input from three log frames (ids and timestamps as text or typed)."""
    _require(changes, "changes")
    _require(deployments, "deployments")
    _require(incidents, "incidents")
    change_t, change_ok = _ns(changes["time_created"], "changes", "time_created")
    deploy_t, deploy_ok = _ns(deployments["time_created"], "deployments", "time_created")
    incident_t, incident_ok = _ns(incidents["time_created"], "incidents", "time_created")
    for kind, ok in (("changes", change_ok), ("deployments", deploy_ok), ("incidents", incident_ok)):
        if not ok.all():
            raise InputError(f"{kind}.csv: time_created is empty on {int((~ok).sum())} row(s)")
    resolved_t, resolved = _ns(incidents["time_resolved"], "incidents", "time_resolved")
    listed_row, listed_id = _explode_change_ids(deployments["change_ids"])
    change_id = _text(changes["change_id"])
    first, known = _first_deployments(change_id, listed_id, deploy_t[listed_row])
    deploy_id = _text(deployments["deploy_id"])
    incident_deploy = pc.utf8_trim_whitespace(_text(incidents["deploy_id"]))
    deploy_key, named_key = _shared_codes(deploy_id, incident_deploy)
    names_one = _numpy(pc.not_equal(incident_deploy, ""))
    labels = LogLabels(
        change_id, deploy_id, _text(incidents["incident_id"]), incident_deploy, listed_row, listed_id, known
    )
    return LogColumns(
        change_t=change_t,
        change_first=first,
        deploy_t=deploy_t,
        deploy_key=deploy_key,
        unplanned=_unplanned(deployments),
        incident_t=incident_t,
        resolved_t=resolved_t,
        resolved=resolved,
        incident_deploy=np.where(names_one, named_key, NO_DEPLOY),
        incident_deploy_known=names_one & np.isin(named_key, deploy_key),
        labels=labels,
    )


def _shared_codes(deploy_id: pa.Array, named: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the deployments' ids and of the ids incidents name, from one dictionary."""
    both = pa.chunked_array([deploy_id, named], type=pa.large_string())
    codes = pc.dictionary_encode(both).combine_chunks().indices.to_numpy().astype(np.int64)
    return codes[: len(deploy_id)], codes[len(deploy_id) :]


def _numpy(mask: pa.Array) -> np.ndarray:
    return mask.to_numpy(zero_copy_only=False)


def _first_deployments(
    change_id: pa.Array, listed_id: pa.Array, listed_t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(first deployment time per change, or NEVER; known-change mask per listed id)."""
    n_changes = len(change_id)
    both = pa.chunked_array([change_id, listed_id], type=pa.large_string())
    encoded = pc.dictionary_encode(both).combine_chunks()
    codes = encoded.indices.to_numpy()
    change_codes, listed_codes = codes[:n_changes], codes[n_changes:]
    first = np.full(len(encoded.dictionary), NEVER, dtype=np.int64)
    np.minimum.at(first, listed_codes, listed_t)
    known = np.zeros(len(encoded.dictionary), dtype=bool)
    known[change_codes] = True
    return first[change_codes], known[listed_codes]
