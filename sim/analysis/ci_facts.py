"""What a team's CI runs show (``ci_runs.csv``, docs/logs.md): the CI parameters ``calibrate`` reads from them.

Three estimates, each a direct reading of the runs (nothing simulates), each written with a note that
says it was estimated from CI runs:

Suite duration and its spread (``ci.test_suite_minutes``, ``ci.suite_cv``)
    From successful runs on the default branch (``main``, ``master``, ``trunk`` or ``develop`` when the
    runs name branches, else the branch most runs name; every run when none is named). Per commit, each
    workflow's first successful run counts and the longest of them is the commit's suite (workflows of
    one commit run side by side, as the model's one suite per merge unit). The mean and the coefficient
    of variation of those durations are the model's gamma-distributed suite (:mod:`sim.model.flow.ci`).
Flaky rate (``ci.flaky_rate``)
    Runs of one commit and workflow in the order they were queued: a failure followed later by a success
    on the same commit is a flaky failure (nothing changed, and it passed); a success, or a failure that
    no success follows (a real failure, fixed in a new commit), is a run that was not flaky. GitHub lists
    only a run's latest attempt: attempt k that passed stands for k − 1 flaky failures before it. The model
    fails every run for no reason with the same probability, so the share of flaky failures among the
    finished runs is its maximum-likelihood estimate; the Jeffreys interval says how sure it is.
Runners (``ci.runners``)
    The runs' waits for a runner (started − queued of first attempts, less the start-up every run pays: the
    5th percentile of the waits) against an M/G/c queue whose arrival rate follows the runs' hour-of-week
    profile (runs bunch in working hours): each hour's runs wait as a stationary queue at that hour's rate
    would (the pointwise stationary approximation), with the mean wait of M/M/c (Erlang C,
    :func:`sim.model.theory.mmc_mean_wait`) times (1 + cv²) / 2 (Allen–Cunneen) for runs of spread cv.
    The wait is computed for each runner count from the most runs ever seen running at once upward; the
    count whose wait is nearest the observed one (on a log scale; under a minute, the fewest runners that
    keep it there) is the estimate.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.log_facts import Estimate, LogFacts
from sim.importers.ci import FILE_NAME, ci_frame, read_ci_csv
from sim.importers.files import decode_text, read_file_bytes
from sim.model.scenario import parameter_info
from sim.model.theory import mmc_mean_wait

CI_SOURCE = "CI runs"  # what ``parameters.<key>.from`` says of these estimates
MIN_SUITE_RUNS = 5  # successful default-branch commits needed for the suite duration
MIN_FLAKY_RUNS = 10  # finished runs needed for the flaky rate
MIN_QUEUE_RUNS = 10  # started and finished runs needed for the runner count
DEFAULT_BRANCHES = ("main", "master", "trunk", "develop")
STARTUP_PERCENTILE = 5  # the wait every run pays even with a free runner (provisioning)
WAIT_RESOLUTION_HOURS = 1 / 60  # waits closer than a minute cannot be told apart
HOURS_A_WEEK = 168
SATURATED = 0.95  # the load an hour whose runs outstrip the pool counts as
MAX_RUNNERS = int(parameter_info("ci.runners")["limits"]["le"])
MAX_SUITE_MINUTES = float(parameter_info("ci.test_suite_minutes")["limits"]["le"])
MAX_SUITE_CV = float(parameter_info("ci.suite_cv")["limits"]["le"])
MAX_FLAKY = float(parameter_info("ci.flaky_rate")["limits"]["le"])
NS_PER_HOUR = 3_600 * 10**9


@dataclass
class CIFacts:
    """The CI parameters the runs show, what they cannot show (``missing``) and the figures behind them."""

    estimates: dict[str, Estimate] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Reading


def read_ci_runs(path: str | Path) -> pd.DataFrame:
    """``ci_runs.csv`` (docs/logs.md) as the importer's table; every problem one line naming the file and row.

    A ``team`` column, when the file has one, is kept: an organisation's runs are then shared out by it.
    """
    name = str(path)
    data = read_file_bytes(path)
    runs = ci_frame(read_ci_csv(data, name), name)
    teams = _team_column(data, name)
    if teams is not None:
        runs = runs.merge(teams, on=["run_id", "attempt"], how="left")
        runs["team"] = runs["team"].fillna("")
    return runs


def _team_column(data: bytes, name: str) -> pd.DataFrame | None:
    """(run_id, attempt, team) of every row when the file has a ``team`` column (None when it has none)."""
    rows = [
        row for row in csv.reader(io.StringIO(decode_text(data, name))) if any(cell.strip() for cell in row)
    ]
    header = [cell.strip() for cell in rows[0]] if rows else []
    if "team" not in header:
        return None
    at = {key: header.index(key) for key in ("run_id", "attempt", "team") if key in header}
    return pd.DataFrame(
        [
            {
                "run_id": row[at["run_id"]].strip(),
                "attempt": int(row[at["attempt"]].strip() or 1) if "attempt" in at else 1,
                "team": row[at["team"]].strip(),
            }
            for row in rows[1:]
        ]
    ).drop_duplicates(["run_id", "attempt"])


def default_ci_path(changes_csv: str | Path) -> Path | None:
    """``ci_runs.csv`` beside ``changes.csv`` when there is one (``import`` writes it there)."""
    path = Path(changes_csv).parent / FILE_NAME
    return path if path.is_file() else None


# ---------------------------------------------------------------------------------------------
# The estimators (pure functions of arrays: tested against closed forms and synthetic runs)


def default_branch(branches: pd.Series) -> str | None:
    """The branch whose runs stand for the default branch; None when no run names a branch."""
    named = branches.fillna("").astype(str).str.strip()
    named = named[named != ""]
    if named.empty:
        return None
    counts = named.value_counts()
    for branch in DEFAULT_BRANCHES:
        if branch in counts.index:
            return branch
    return str(counts.index[0])


def suite_minutes(runs: pd.DataFrame) -> np.ndarray:
    """Per commit, the longest of its workflows' first successful runs (minutes)."""
    ok = runs[
        (runs["conclusion"] == "success") & runs["time_started"].notna() & runs["time_finished"].notna()
    ]
    if ok.empty:
        return np.zeros(0)
    ok = ok.assign(
        minutes=(ok["time_finished"] - ok["time_started"]).dt.total_seconds() / 60.0,
        workflow=ok["workflow"].fillna("").astype(str),
    )
    first = ok.sort_values(["time_started", "run_id", "attempt"], kind="stable").drop_duplicates(
        ["commit", "workflow"]
    )
    return first.groupby("commit", sort=False)["minutes"].max().to_numpy(dtype=float)


def flaky_counts(runs: pd.DataFrame) -> tuple[int, int]:
    """(flaky failures, finished runs): a failure followed later by a success of the same commit and workflow."""
    done = runs[runs["conclusion"].isin(["success", "failure"])]
    if done.empty:
        return 0, 0
    done = done.assign(workflow=done["workflow"].fillna("").astype(str))
    done = done.sort_values(["time_queued", "attempt", "run_id"], kind="stable")
    success = (done["conclusion"] == "success").to_numpy()
    # a success at or after this run, per (commit, workflow): a reversed cumulative "any"
    later = (
        pd.Series(success[::-1].astype(int), index=done.index[::-1])
        .groupby([done["commit"][::-1], done["workflow"][::-1]], sort=False)
        .cummax()
    )[::-1].to_numpy() > 0
    flaky = int(np.sum(~success & later))
    # GitHub lists a run's latest attempt only: attempt k stands for k − 1 earlier attempts not listed, re-runs
    # that failed — for nothing when the latest passed (nothing changed), else like it
    attempts = runs.groupby("run_id", sort=False).agg(latest=("attempt", "max"), listed=("attempt", "size"))
    last = (
        runs.sort_values("attempt", kind="stable").drop_duplicates("run_id", keep="last").set_index("run_id")
    )
    unlisted = (attempts["latest"] - attempts["listed"]).clip(lower=0)
    passed = last.loc[unlisted.index, "conclusion"] == "success"
    done_runs = last.loc[unlisted.index, "conclusion"].isin(["success", "failure"])
    flaky += int(unlisted[passed & done_runs].sum())
    return flaky, len(done) + int(unlisted[done_runs].sum())


def jeffreys_interval(k: int, n: int, level: float = 0.9) -> tuple[float, float]:
    """The Jeffreys interval (Beta(k + ½, n − k + ½)) of a rate seen ``k`` times in ``n``."""
    tail = (1.0 - level) / 2.0
    low = 0.0 if k == 0 else float(stats.beta.ppf(tail, k + 0.5, n - k + 0.5))
    high = 1.0 if k == n else float(stats.beta.ppf(1.0 - tail, k + 0.5, n - k + 0.5))
    return low, high


def most_at_once(starts: np.ndarray, finishes: np.ndarray) -> int:
    """The most runs running at the same instant (a run finishing as another starts frees its runner first)."""
    if len(starts) == 0:
        return 0
    times = np.concatenate([starts, finishes])
    steps = np.concatenate([np.ones(len(starts), dtype=int), -np.ones(len(finishes), dtype=int)])
    order = np.lexsort((steps, times))  # at equal times the finish (-1) comes first
    return int(np.max(np.cumsum(steps[order])))


def mgc_mean_wait(arrival_rate: float, service_hours: float, service_cv: float, runners: int) -> float:
    """Mean wait for a runner (hours) of an M/G/c queue: Erlang C's M/M/c wait × (1 + cv²) / 2 (Allen–Cunneen)."""
    return mmc_mean_wait(arrival_rate, service_hours, runners) * (1.0 + service_cv**2) / 2.0


@dataclass(frozen=True)
class LoadProfile:
    """When runs arrive: per hour of the week (Monday 00:00 UTC first), the runs an hour and the share of runs."""

    rates: np.ndarray
    weights: np.ndarray

    @classmethod
    def steady(cls, rate: float) -> LoadProfile:
        return cls(np.full(HOURS_A_WEEK, rate), np.full(HOURS_A_WEEK, 1.0 / HOURS_A_WEEK))

    @property
    def busiest(self) -> float:
        return float(self.rates.max())


def weekly_profile(queued: pd.Series, unlisted: int = 0) -> LoadProfile:
    """The runs' hour-of-week profile: counts per hour of the week over the weeks seen, smoothed over the hour
    before and after; ``unlisted`` re-runs (not in the list) are spread like the listed runs."""
    hours = (queued.dt.day_of_week * 24 + queued.dt.hour).to_numpy()
    counts = np.bincount(hours, minlength=HOURS_A_WEEK).astype(float)
    counts *= (len(hours) + unlisted) / max(1, len(hours))
    weeks = max(1.0, (queued.max() - queued.min()) / pd.Timedelta(days=7))
    smoothed = (np.roll(counts, 1) + counts + np.roll(counts, -1)) / 3.0
    return LoadProfile(smoothed / weeks, counts / max(counts.sum(), 1.0))


def profile_mean_wait(profile: LoadProfile, service_hours: float, service_cv: float, runners: int) -> float:
    """Mean wait over the runs (hours): each hour's runs wait as a stationary M/G/c at that hour's rate would
    (the pointwise stationary approximation); an hour whose runs outstrip the pool counts as a pool at
    :data:`SATURATED` load — a queue carried over, not an endless one."""
    rates = np.minimum(profile.rates, SATURATED * runners / service_hours)
    busy = profile.weights > 0
    waits = [mgc_mean_wait(float(rate), service_hours, service_cv, runners) for rate in rates[busy]]
    return float(np.dot(profile.weights[busy], waits))


def runners_for_wait(
    profile: LoadProfile, service_hours: float, service_cv: float, wait_hours: float, at_least: int = 1
) -> int:
    """The runner count whose mean wait (:func:`profile_mean_wait`) is nearest ``wait_hours`` on a log scale (waits
    are compared with a minute added: a wait under a minute is no queue, and the fewest runners that give one are
    chosen)."""
    best, best_gap = max(1, at_least), math.inf
    for runners in range(max(1, at_least), MAX_RUNNERS + 1):
        predicted = profile_mean_wait(profile, service_hours, service_cv, runners)
        if wait_hours < WAIT_RESOLUTION_HOURS and predicted < WAIT_RESOLUTION_HOURS:
            return runners  # no queue to speak of: the fewest runners that keep it under a minute
        gap = abs(math.log((predicted + WAIT_RESOLUTION_HOURS) / (wait_hours + WAIT_RESOLUTION_HOURS)))
        if gap < best_gap:
            best, best_gap = runners, gap
        if predicted < wait_hours:  # the wait only falls as runners are added
            break
    return best


# ---------------------------------------------------------------------------------------------
# The whole reading


def ci_facts(
    runs: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, *, source: str = FILE_NAME
) -> CIFacts:
    """Estimate the CI parameters from the runs queued in [start, end) (all runs when too few are)."""
    facts = CIFacts()
    inside = runs[(runs["time_queued"] >= start) & (runs["time_queued"] < end)]
    if len(inside) < max(MIN_SUITE_RUNS, MIN_FLAKY_RUNS) and len(runs) > len(inside):
        facts.warnings.append(
            f"{source}: {len(inside)} of {len(runs)} CI runs were queued in the window "
            f"{start.date()} to {end.date()}: the CI parameters are read from all of them"
        )
        inside = runs
    facts.stats["ci_runs"] = len(inside)
    _suite(facts, inside)
    _flaky(facts, inside)
    _runners(facts, inside)
    return facts


def add_ci_facts(facts: LogFacts, runs: pd.DataFrame) -> None:
    """Add what the CI runs show to what the three logs showed (the runs queued in the logs' window)."""
    ci = ci_facts(runs, facts.start, facts.end)
    facts.estimates.update(ci.estimates)
    facts.stats.update(ci.stats)
    facts.missing.extend(ci.missing)
    facts.warnings.extend(ci.warnings)


def _set(facts: CIFacts, key: str, value: Any, note: str) -> None:
    facts.estimates[key] = Estimate(value, note, source=CI_SOURCE)


def _suite(facts: CIFacts, runs: pd.DataFrame) -> None:
    branch = default_branch(runs["branch"]) if "branch" in runs else None
    chosen = runs if branch is None else runs[runs["branch"].fillna("").astype(str).str.strip() == branch]
    where = "every branch (the runs name none)" if branch is None else f"branch {branch}"
    minutes = suite_minutes(chosen)
    minutes = minutes[minutes > 0]
    if len(minutes) < MIN_SUITE_RUNS:
        facts.missing.append(
            f"CI runs: {len(minutes)} commit(s) with a successful run on {where} (at least "
            f"{MIN_SUITE_RUNS} needed): suite duration and its spread left at the base's values"
        )
        return
    mean = float(np.mean(minutes))
    cv = float(np.std(minutes, ddof=1) / mean) if len(minutes) > 1 else 0.0
    p10, p90 = np.percentile(minutes, [10, 90])
    facts.stats["ci_suite_minutes"] = {
        "commits": len(minutes),
        "branch": branch,
        "mean": mean,
        "cv": cv,
        "p10": float(p10),
        "p90": float(p90),
    }
    _set(
        facts,
        "ci.test_suite_minutes",
        round(min(MAX_SUITE_MINUTES, max(0.01, mean)), 3),
        f"mean of {len(minutes)} commits' successful runs on {where} (the longest workflow per commit; "
        f"p10–p90 {p10:.3g}–{p90:.3g} min)",
    )
    _set(
        facts,
        "ci.suite_cv",
        round(min(MAX_SUITE_CV, cv), 4),
        f"standard deviation / mean of the same {len(minutes)} durations",
    )


def _flaky(facts: CIFacts, runs: pd.DataFrame) -> None:
    flaky, finished = flaky_counts(runs)
    if finished < MIN_FLAKY_RUNS:
        facts.missing.append(
            f"CI runs: {finished} finished run(s) (at least {MIN_FLAKY_RUNS} needed): flaky rate "
            "left at the base's value"
        )
        return
    low, high = jeffreys_interval(flaky, finished)
    facts.stats["ci_flaky"] = {"flaky_failures": flaky, "finished_runs": finished, "p5": low, "p95": high}
    _set(
        facts,
        "ci.flaky_rate",
        round(min(MAX_FLAKY, flaky / finished), 5),
        f"{flaky} of {finished} finished runs failed and then passed on the same commit (90% interval "
        f"{low:.3g}–{high:.3g})",
    )


def _runners(facts: CIFacts, runs: pd.DataFrame) -> None:
    timed = runs[runs["time_started"].notna() & runs["time_finished"].notna()]
    if len(timed) < MIN_QUEUE_RUNS:
        facts.missing.append(
            f"CI runs: {len(timed)} run(s) with start and finish times (at least {MIN_QUEUE_RUNS} "
            "needed): runner count left at the base's value"
        )
        return
    starts = _ns(timed["time_started"])
    finishes = _ns(timed["time_finished"])
    # a re-run keeps its run's queue time (GitHub's created_at): only first attempts waited for a runner alone
    first = (timed["attempt"] == 1).to_numpy()
    waits = ((starts - _ns(timed["time_queued"])) / NS_PER_HOUR)[
        first if first.sum() >= MIN_QUEUE_RUNS else ...
    ]
    service = (finishes - starts) / NS_PER_HOUR
    mean_service = float(np.mean(service))
    if mean_service <= 0:
        facts.missing.append("CI runs: every run took no time: runner count left at the base's value")
        return
    service_cv = float(np.std(service, ddof=1) / mean_service) if len(service) > 1 else 0.0
    startup = float(np.percentile(waits, STARTUP_PERCENTILE))
    queue = max(0.0, float(np.mean(waits)) - startup)
    unlisted = timed.groupby("run_id")["attempt"].agg("max") - timed.groupby("run_id")["attempt"].agg("size")
    # re-runs the list does not show took runners too
    profile = weekly_profile(timed["time_queued"], int(unlisted.clip(lower=0).sum()))
    busiest = most_at_once(starts, finishes)
    runners = runners_for_wait(profile, mean_service, service_cv, queue, at_least=busiest)
    predicted = profile_mean_wait(profile, mean_service, service_cv, runners)
    facts.stats["ci_queue"] = {
        "runs": len(timed),
        "busiest_hour_runs": profile.busiest,
        "mean_run_hours": mean_service,
        "run_cv": service_cv,
        "startup_hours": startup,
        "mean_wait_hours": queue,
        "most_at_once": busiest,
        "predicted_wait_hours": predicted,
    }
    _set(
        facts,
        "ci.runners",
        int(runners),
        f"{len(timed)} runs (up to {profile.busiest:.3g} an hour in the busiest hour of the week), "
        f"{mean_service * 60:.3g} min each (cv {service_cv:.2f}), "
        f"waited {queue * 60:.3g} min on average beyond a {startup * 60:.2g}-min start-up, at most {busiest} at once: "
        f"an M/G/c queue with {runners} runners waits {predicted * 60:.3g} min",
    )


def _ns(values: pd.Series) -> np.ndarray:
    return (
        values.dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .to_numpy(dtype="datetime64[ns]")
        .view("i8")
        .astype(float)
    )
