"""The last days of a team's logs: what the app calibrates from when the whole history is longer than a
shared server simulates (:data:`dorasim_app.limits.MAX_DAYS`)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from sim.metrics.logs import EventLogs
from sim.metrics.registry import BY_KEY, format_metric


def last_days(logs: EventLogs, days: int) -> EventLogs:
    """Deployments and incidents created in the last ``days`` days before the latest of them, and the changes
    created in those days or shipped by those deployments (an older change first deployed in them keeps its
    lead time)."""
    times = [frame["time_created"] for frame in (logs.deployments, logs.incidents) if len(frame)]
    if not times:
        return logs
    last = max(t.max() for t in times)
    cutoff = last.normalize() - pd.Timedelta(days=days - 1)
    deployments = logs.deployments[logs.deployments["time_created"] >= cutoff]
    incidents = logs.incidents[logs.incidents["time_created"] >= cutoff]
    shipped = set(" ".join(deployments["change_ids"].fillna("").astype(str)).split())
    keep = (logs.changes["time_created"] >= cutoff) | logs.changes["change_id"].astype(str).isin(shipped)
    return EventLogs(
        logs.changes[keep].reset_index(drop=True),
        deployments.reset_index(drop=True),
        incidents.reset_index(drop=True),
    )


_OUTSIDE = re.compile(
    r"^(?P<key>[a-z_]+): simulated p50 (?P<sim>\S+) vs observed (?P<obs>\S+) is outside the "
    r"calibration bar$"
)


def friendly_warning(text: str) -> str:
    """A warning from ``sim`` in the app's words: metric labels instead of JSON keys, values in their units,
    and the app's controls instead of command-line options."""
    match = _OUTSIDE.match(text)
    if match and match["key"] in BY_KEY:
        key = match["key"]
        return (
            f"{BY_KEY[key].short}: the calibrated model gives {format_metric(key, float(match['sim']))} where "
            f"your logs show {format_metric(key, float(match['obs']))} — further apart than calibration "
            f"accepts."
        )
    for key, metric in BY_KEY.items():
        text = text.replace(key, metric.short.lower())
    return text.replace("set it with --start/--end", "choose another with “Choose the scoring window” above")


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def restore_note(incidents: pd.DataFrame, start: Any = None, end: Any = None) -> str | None:
    """Time to restore is a median of a few incidents, or one taking months: say so beside the card."""
    frame = incidents
    if start is not None and end is not None:
        frame = frame[(frame["time_created"] >= _utc(start)) & (frame["time_created"] < _utc(end))]
    caused = frame[frame["deploy_id"].fillna("").astype(str) != ""].dropna(subset=["time_resolved"])
    hours = (caused["time_resolved"] - caused["time_created"]).dt.total_seconds() / 3600
    hours = hours[hours >= 0]
    if hours.empty:
        return None
    longest = float(hours.max())
    few = len(hours) < 5
    if not few and longest < 24 * 30:
        return None
    text = f"Time to restore rests on {len(hours)} resolved incident{'s' if len(hours) != 1 else ''}"
    if longest >= 24 * 30:
        text += (
            f"; the longest took {format_metric('time_to_restore_hours', longest)} — check it was not a "
            f"ticket closed long after service came back"
        )
    return text + "."
