"""The sweep's tidy table: one row per point x metric, written for users and read back to resume.

Columns: ``sweep_hash`` (fingerprint of everything that determines the numbers), ``point``,
``part`` (``design``, ``tornado``, ``morris`` or ``sobol``), ``label``, one column per varied key
(named by its dotted key), ``metric`` (the DORA metric keys, then ``overall``), ``n`` (replications
with a value), ``p10``/``p50``/``p90``/``mean`` and ``p_elite``/``p_high``/``p_medium``/``p_low``
(share of replications whose band for that metric, or the overall band, is that band; empty for
the unbanded rework rate), ``unstable_share`` (share of replications whose backlog ran away) and
``stable`` (the point's verdict: at most half its replications unstable; the same on every row of
a point). The file is rewritten atomically, so an interruption never leaves half
a point behind.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.files import CSV, check_regular
from sim.metrics.registry import METRIC_KEYS

TABLE_METRICS = (*METRIC_KEYS, "overall")
STATS = ("n", "p10", "p50", "p90", "mean", "p_elite", "p_high", "p_medium", "p_low", "unstable_share")
FORMATS = (".parquet", ".csv")

PointStats = dict[str, dict[str, Any]]


def check_out_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--out {path}: must end in .parquet or .csv")
    if path.is_dir():
        raise InputError(f"--out {path}: is a directory, not a file")
    if os.path.lexists(path):  # resumed: it must be a readable table, not a pipe or a device
        check_regular(path, CSV, name=f"--out {path}", what="sweep table")
    return path


def table_frame(
    fingerprint: str, keys: Sequence[str], points: Sequence[Any], stats: Mapping[int, PointStats]
) -> pd.DataFrame:
    """Rows for every point in ``points`` that has stats, in point order."""
    rows = []
    for point in points:
        point_stats = stats.get(point.id)
        if point_stats is None:
            continue
        head = {
            "sweep_hash": fingerprint,
            "point": point.id,
            "part": point.part,
            "label": point.label,
            **dict(zip(keys, point.values)),
        }
        unstable = point_stats["overall"].get("unstable_share") or 0.0
        for metric in TABLE_METRICS:
            rows.append(
                {
                    **head,
                    "metric": metric,
                    **point_stats[metric],
                    "unstable_share": unstable,
                    "stable": unstable <= 0.5,
                }
            )
    columns = ["sweep_hash", "point", "part", "label", *keys, "metric", *STATS, "stable"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({column: "float64" for column in STATS if column != "n"} | {"stable": bool})


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """Write (or replace) the table in one step: readers see the old file or the new one."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(
            f"--out {path}: cannot write the table ({exc.strerror or type(exc).__name__})"
        ) from None


def read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as exc:  # any unreadable file is a user's file to fix, never a traceback
        raise InputError(
            f"--out {path}: cannot read the existing table ({type(exc).__name__}); "
            "delete it or choose another --out"
        ) from None


def read_done(
    path: Path, fingerprint: str, keys: Sequence[str], points: Sequence[Any]
) -> dict[int, PointStats]:
    """Stats of the points already written to ``path`` by this very sweep (empty when there is no file)."""
    if not path.exists():
        return {}
    frame = read_table(path)
    if frame.empty:
        return {}
    if "sweep_hash" not in frame.columns:
        raise InputError(f"--out {path}: is not a sweep table (no sweep_hash column); choose another --out")
    hashes = set(frame["sweep_hash"].astype(str))
    if hashes != {fingerprint}:
        other = ", ".join(sorted(hashes))
        raise InputError(
            f"--out {path}: holds results of a different sweep or simulator build (fingerprint "
            f"{other}, this one {fingerprint}); delete it or choose another --out to start afresh"
        )
    by_id = {point.id: point for point in points}
    done: dict[int, PointStats] = {}
    for point_id, rows in frame.groupby("point", sort=True):
        point = by_id.get(int(point_id))
        if point is None or not _complete(rows, point, keys):
            continue  # recomputed rather than trusted
        done[point.id] = {row["metric"]: _stats(row) for row in rows.to_dict("records")}
    return done


def _complete(rows: pd.DataFrame, point: Any, keys: Sequence[str]) -> bool:
    if sorted(rows["metric"].astype(str)) != sorted(TABLE_METRICS) or not set(keys) <= set(rows.columns):
        return False
    first = rows.iloc[0]
    return all(_same(first[key], value) for key, value in zip(keys, point.values))


def _same(stored: Any, expected: Any) -> bool:
    if isinstance(expected, bool):  # a bool, a numpy bool or text, depending on the file format
        return str(stored).lower() == str(expected).lower()
    if isinstance(expected, (int, float)):
        try:
            return float(stored) == float(expected)
        except (TypeError, ValueError):
            return False
    return str(stored) == str(expected)


def _stats(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in STATS:
        value = row.get(column)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out[column] = None
        else:
            out[column] = int(value) if column == "n" else float(value)
    return out
