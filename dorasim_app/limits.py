"""What one visitor of the hosted app may ask for: the caps on work and uploads, in one place.

A room of people shares one server, so every run the app starts is bounded — whatever a link, a
widget, an uploaded scenario or an edited plan says. Longer or larger runs belong on the command
line (``python -m sim``), which has no such caps. ``.streamlit/config.toml`` sets Streamlit's own
upload limit (``server.maxUploadSize``) to :data:`MAX_UPLOAD_MB`; a test keeps the two equal.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.errors import InputError

MAX_REPS = 200  # replications of one run
MAX_DAYS = 730  # simulated horizon (two years)
MAX_ENGINEERS = 200  # team.engineers
MAX_UPLOAD_MB = 50  # one uploaded file (CSV or TOML); Streamlit's server.maxUploadSize
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_TOML_UPLOADS = 20  # uploaded TOML files a session keeps for ``extends``
MAX_CALIBRATION_CHANGES = 200_000  # rows of changes.csv the app calibrates from
# cut dates of one backtest (each calibrates its window and forecasts from it: a few seconds of one core)
MAX_BACKTEST_CUTS = 6
# changes one replication simulates (warm-up included): memory and time grow with it, about 1 KB and
# 20 µs of one core per change (a 730-day run of 200 engineers at 2 changes a day is ~220,000)
MAX_CHANGES_PER_RUN = 300_000
CLI_HINT = "the command line (python -m sim) runs bigger ones"

# caps on scenario keys, beyond the schema's own limits
KEY_CAPS: dict[str, int] = {"days": MAX_DAYS, "team.engineers": MAX_ENGINEERS}


def cap_of(key: str) -> int | None:
    return KEY_CAPS.get(key)


def check_value(key: str, value: Any, source: str) -> None:
    """A one-line :class:`InputError` when ``value`` of a capped key is above its cap."""
    cap = KEY_CAPS.get(key)
    if cap is not None and isinstance(value, int | float) and not isinstance(value, bool) and value > cap:
        raise InputError(f"{source}: {key} = {value}: the hosted app allows at most {cap}; {CLI_HINT}")


def expected_changes(engineers: float, per_day: float, overtime: float, days: float) -> float:
    """Changes a team completes over ``days`` calendar days (five working days a week, overtime on top)."""
    return engineers * per_day * overtime * days * 5 / 7


def _check_work(scenario: Any, source: str, per_day: float, overtime: float) -> None:
    days = scenario.days + scenario.simulation.warmup_days
    changes = expected_changes(scenario.team.engineers, per_day, overtime, days)
    if changes > MAX_CHANGES_PER_RUN:
        raise InputError(
            f"{source}: about {changes:,.0f} changes in one run (team.engineers "
            f"{scenario.team.engineers} x team.changes_per_engineer_per_day {per_day:g} over "
            f"{days} days with warm-up): the hosted app simulates at most {MAX_CHANGES_PER_RUN:,}; "
            f"{CLI_HINT}"
        )


def check_scenario(scenario: Any, source: str) -> None:
    """Refuse a scenario above the hosted caps (one line naming the key, its value and the cap)."""
    check_value("days", scenario.days, source)
    check_value("team.engineers", scenario.team.engineers, source)
    _check_work(scenario, source, scenario.team.changes_per_engineer_per_day, scenario.team.overtime)


def check_plan(plan: Any, source: str) -> None:
    """A plan's starting scenario and every phase's settings within the hosted caps."""
    check_scenario(plan.scenario, source)
    per_day, overtime = plan.scenario.team.changes_per_engineer_per_day, plan.scenario.team.overtime
    for number, phase in enumerate(plan.phases, start=1):
        for key, value in phase.values.items():
            check_value(key, value, f"{source}: phase {number}")
        per_day = max(per_day, phase.values.get("team.changes_per_engineer_per_day", per_day))
        overtime = max(overtime, phase.values.get("team.overtime", overtime))
    _check_work(plan.scenario, source, per_day, overtime)


def check_reps(reps: int, source: str = "replications") -> None:
    if reps > MAX_REPS:
        raise InputError(f"{source} = {reps}: the hosted app allows at most {MAX_REPS}; {CLI_HINT}")


def check_logs_for_calibration(logs: Any) -> None:
    """Calibration simulates the logs' whole window many times: keep it to what a shared server can do."""
    n_changes = len(logs.changes)
    if n_changes > MAX_CALIBRATION_CHANGES:
        raise InputError(
            f"changes.csv: {n_changes} changes: the hosted app calibrates from at most "
            f"{MAX_CALIBRATION_CHANGES}; {CLI_HINT}"
        )
    times = [frame["time_created"] for frame in (logs.deployments, logs.incidents) if len(frame)]
    if times:
        first = min(t.min() for t in times)
        last = max(t.max() for t in times)
        days = (last - first) / pd.Timedelta(days=1)
        if days > MAX_DAYS:
            raise InputError(
                f"the logs span {days:.0f} days: the hosted app calibrates at most {MAX_DAYS}; {CLI_HINT}"
            )


def check_logs_for_backtest(logs: Any, cuts: int) -> None:
    """A backtest calibrates a window before each cut: at most :data:`MAX_BACKTEST_CUTS` cuts of logs the app
    would calibrate from."""
    n_changes = len(logs.changes)
    if n_changes > MAX_CALIBRATION_CHANGES:
        raise InputError(
            f"changes.csv: {n_changes} changes: the hosted app backtests at most "
            f"{MAX_CALIBRATION_CHANGES}; {CLI_HINT}"
        )
    if cuts > MAX_BACKTEST_CUTS:
        raise InputError(
            f"backtest: {cuts} cut dates: the hosted app runs at most {MAX_BACKTEST_CUTS}; {CLI_HINT}"
        )
