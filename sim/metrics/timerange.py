"""The dates dorasim accepts: every timestamp a user gives lies in [1700-01-01, 2200-01-01) UTC.

Timestamps are held as nanoseconds since 1970 in a signed 64-bit integer (pandas'
``datetime64[ns]``), which reaches only from 1677-09-21 to 2262-04-11. Arithmetic near those ends
overflows — silently in numpy — so user dates are kept well inside them: the simulator adds at most a
year of warm-up before a scenario's start and ten years of horizon plus a month of release calendar
after it, and calibration steps back a week or so. One range for CSV timestamps, ``--start/--end``
and a scenario's simulated span keeps every one of those sums exact.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

FIRST_DATE = dt.date(1700, 1, 1)
END_DATE = dt.date(2200, 1, 1)  # exclusive
FIRST = pd.Timestamp(FIRST_DATE, tz="UTC").as_unit("ns")
END = pd.Timestamp(END_DATE, tz="UTC").as_unit("ns")
RANGE_TEXT = f"dates from {FIRST_DATE.isoformat()} up to {END_DATE.isoformat()}"

# what datetime64[ns] can hold at all (the guard for internal arithmetic)
NS_MIN = int(np.iinfo(np.int64).min) + 1  # the smallest value is NaT
NS_MAX = int(np.iinfo(np.int64).max)


def in_range(stamp: pd.Timestamp) -> bool:
    """Whether a UTC timestamp (any resolution) lies in [FIRST, END)."""
    return bool(FIRST <= stamp < END)


OUTSIDE = f"is outside the {RANGE_TEXT} that dorasim accepts"


def outside(text: str) -> str:
    """The end of a one-line message about a value outside the range: ``<text> is outside the dates …``."""
    return f"{text} {OUTSIDE}"


def out_of_range_mask(values: pd.Series) -> np.ndarray:
    """True where a tz-aware timestamp column (any resolution; NaT is never out of range) is outside."""
    present = values.notna()
    return (present & ((values < FIRST) | (values >= END))).to_numpy(dtype=bool)


def date_in_range(day: dt.date) -> bool:
    return FIRST_DATE <= day < END_DATE


def describe(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)
