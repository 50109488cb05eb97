"""Simulation time: hours since the model's origin (00:00 UTC of its first simulated day).

Working hours are Monday to Friday from 09:00 for ``working_hours_per_day`` hours. Release windows
open at fixed times per cadence (docs/model.md: weekly = a weekend window):

- ``daily``: 15:00 on working days; ``weekly``: Saturday 09:00; ``biweekly``: every other Saturday
  09:00 (weeks of even ordinal); ``monthly``: the first Saturday of each calendar month, 09:00.
- ``continuous``: no schedule; a manual deployment still needs someone at work (working hours).
- ``irregular``: windows at drawn instants (``Calendar.irregular_opens``, from
  :mod:`sim.model.release_process`).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right

import numpy as np

from sim.errors import InputError
from sim.metrics import timerange
from sim.model.constants import DAILY_RELEASE_HOUR, DAY_START_HOUR, MAX_EVENING_HOURS, WEEKEND_RELEASE_HOUR

SATURDAY = 5
NS_PER_SECOND = 1_000_000_000


class Calendar:
    """Working hours and release windows over a horizon, precomputed for fast look-ups."""

    def __init__(
        self, origin: dt.date, total_days: int, working_hours: float = 8.0, window_hours: float = 8.0
    ):
        self.origin = origin
        self.total_days = total_days
        self.working_hours = working_hours
        self.window_hours = window_hours
        self.weekday0 = origin.weekday()
        # one more month of days so "next window" exists beyond the horizon
        self._days = total_days + 40
        self._opens: dict[str, list[float]] = {}
        work = [d * 24.0 + DAY_START_HOUR for d in range(self._days) if self.weekday(d) < 5]
        self._work_opens = work
        # the irregular cadence's windows are drawn, not computed (sim.model.release_process)
        self.irregular_opens: list[float] | None = None
        self.fixup_opens: list[float] = []  # those of them that are fix-up releases
        # the replayed past's release instants (sim.model.release_process.recorded_opens), if the run has one
        self.recorded_opens: list[float] = []
        self.recorded_patches: list[float] = []  # those of them the record marks as patch releases

    def weekday(self, day: int) -> int:
        return (self.weekday0 + day) % 7

    def date_of(self, day: int) -> dt.date:
        return self.origin + dt.timedelta(days=day)

    def is_working_day(self, day: int) -> bool:
        return self.weekday(day) < 5

    # -- working hours ------------------------------------------------------------------------
    def in_working_hours(self, t: float) -> bool:
        day = int(t // 24.0)
        hour = t - day * 24.0
        return self.weekday(day) < 5 and DAY_START_HOUR <= hour < DAY_START_HOUR + self.working_hours

    def next_working_time(self, t: float) -> float:
        """``t`` itself during working hours, otherwise the start of the next working day."""
        if self.in_working_hours(t):
            return t
        opens = self._work_opens
        i = bisect_right(opens, t)
        return opens[i] if i < len(opens) else t

    def next_working_times(self, t: np.ndarray) -> np.ndarray:
        """:meth:`next_working_time` of every element of ``t`` (the same floats, vectorised)."""
        t = np.asarray(t, dtype=float)
        day = (t // 24.0).astype(np.int64)
        hour = t - day * 24.0
        working = (
            ((self.weekday0 + day) % 7 < 5)
            & (hour >= DAY_START_HOUR)
            & (hour < DAY_START_HOUR + self.working_hours)
        )
        opens = np.asarray(self._work_opens)
        i = np.searchsorted(opens, t, side="right")
        later = np.where(i < len(opens), opens[np.minimum(i, len(opens) - 1)], t)
        return np.where(working, t, later)

    # -- release windows ----------------------------------------------------------------------
    def window_opens(self, cadence: str) -> list[float]:
        opens = self._opens.get(cadence)
        if opens is None:
            opens = self._compute_opens(cadence)
            self._opens[cadence] = opens
        return opens

    def _compute_opens(self, cadence: str) -> list[float]:
        if cadence == "irregular":
            if self.irregular_opens is None:
                raise ValueError("the irregular cadence needs its drawn windows (Calendar.irregular_opens)")
            return self.irregular_opens
        out = []
        for d in range(self._days):
            wd = self.weekday(d)
            date = self.date_of(d)
            if cadence == "daily" and wd < 5:
                out.append(d * 24.0 + DAILY_RELEASE_HOUR)
            elif (
                (cadence == "weekly" and wd == SATURDAY)
                or (cadence == "biweekly" and wd == SATURDAY and (date.toordinal() // 7) % 2 == 0)
                or (cadence == "monthly" and wd == SATURDAY and date.day <= 7)
            ):
                out.append(d * 24.0 + WEEKEND_RELEASE_HOUR)
        return out

    def may_deploy(self, cadence: str, t: float, manual: bool) -> bool:
        """Whether a deployment of work on ``cadence`` may start at ``t``."""
        if cadence == "continuous":
            return (not manual) or self.in_working_hours(t)
        opens = self.window_opens(cadence)
        i = bisect_right(opens, t) - 1
        return i >= 0 and t < opens[i] + self.window_hours

    def next_opportunity(self, cadence: str, t: float, manual: bool) -> float | None:
        """The earliest time > ``t`` at which ``may_deploy`` turns true (None: never in range)."""
        if cadence == "continuous":
            if not manual:
                return t
            opens = self._work_opens
        else:
            opens = self.window_opens(cadence)
        i = bisect_right(opens, t)
        return opens[i] if i < len(opens) else None

    # -- work schedule --------------------------------------------------------------------------
    def work_segments(self, day: int, overtime: float) -> list[tuple[float, float, bool]]:
        """(start hour, length, is_overtime) of the day's work for one engineer.

        ``overtime`` scales the weekly hours (1.0 = five normal days). Extra hours go first to
        weekday evenings (up to 3 h a day), then to Saturday, then to Sunday; the caller applies
        the lower productivity of those tired hours.
        """
        normal = self.working_hours
        extra_week = max(0.0, 5 * normal * (overtime - 1.0))
        evening = min(MAX_EVENING_HOURS, extra_week / 5)
        rest = max(0.0, extra_week - 5 * evening)
        saturday = min(normal, rest)
        sunday = min(normal, max(0.0, rest - saturday))
        wd = self.weekday(day)
        if wd < 5:
            segs = [(DAY_START_HOUR, normal, False)]
            if evening > 0:
                segs.append((DAY_START_HOUR + normal, evening, True))
            return segs
        length = saturday if wd == SATURDAY else sunday
        return [(DAY_START_HOUR, length, True)] if length > 0 else []


def weekly_hours(working_hours: float, overtime: float) -> tuple[float, float]:
    """(hours a week asked for, hours a week the calendar gives) for ``team.overtime``.

    Extra hours go to weekday evenings (up to :data:`MAX_EVENING_HOURS` a day), then Saturday, then
    Sunday, each at most a normal day: beyond that the calendar has no more room.
    """
    normal = 5 * working_hours
    extra = max(0.0, normal * (overtime - 1.0))
    evening = min(MAX_EVENING_HOURS, extra / 5)
    rest = max(0.0, extra - 5 * evening)
    weekend = min(working_hours, rest) + min(working_hours, max(0.0, rest - working_hours))
    return normal + extra, normal + 5 * evening + weekend


def hours_to_ns(origin: dt.date, hours: np.ndarray) -> np.ndarray:
    """Simulation hours → int64 nanoseconds since the Unix epoch, rounded to whole seconds.

    Raises :class:`~sim.errors.InputError` instead of wrapping around when a time falls outside
    what nanoseconds can hold (numpy integer arithmetic overflows silently).
    """
    base = int(dt.datetime(origin.year, origin.month, origin.day, tzinfo=dt.UTC).timestamp())
    seconds = np.round(np.asarray(hours, dtype=float) * 3600.0)
    if seconds.size:
        low, high = float(np.min(seconds)) + base, float(np.max(seconds)) + base
        if not (
            np.isfinite(low)
            and np.isfinite(high)
            and low > timerange.NS_MIN // NS_PER_SECOND
            and high < timerange.NS_MAX // NS_PER_SECOND
        ):
            raise InputError(
                f"simulated times from {origin.isoformat()} run outside what nanosecond timestamps "
                f"can hold (1677-09-22 to 2262-04-11); keep start, warm-up and days within "
                f"the {timerange.RANGE_TEXT}"
            )
    return (seconds.astype(np.int64) + base) * NS_PER_SECOND
