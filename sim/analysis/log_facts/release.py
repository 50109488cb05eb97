"""The release train: cadence (calendar, irregular), batch cap, deploy method and duration, lead-time split."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sim.analysis.log_facts.facts import (
    MANUAL_MIN_HOURS,
    MIN_DEPLOYMENTS,
    MIN_SAMPLES,
    NS_PER_DAY,
    NS_PER_HOUR,
    SAME_INSTANT_HOURS,
    SATURDAY,
    Estimate,
    _count,
    _ReaderBase,
)
from sim.analysis.release_gaps import (
    IRREGULAR_MAX_BRANCH_DAYS,
    IRREGULAR_WINDOW_HOURS,
    fit_gaps,
    fixup_share,
    looks_irregular,
    pending_fit,
    prefers_pending,
    recorded_ages,
    release_gaps,
    release_lines,
    release_models,
    run_up_share,
)
from sim.model.calendar import Calendar
from sim.model.constants import DAILY_RELEASE_HOUR, WEEKEND_RELEASE_HOUR

MAX_WARMUP_DAYS = 365  # simulation.warmup_days' range


def window_days(cadence: str, first: dt.date, days: int) -> set[dt.date]:
    """The days on which the model's calendar opens a release window of ``cadence`` within ``days`` days from
    ``first`` (read from :class:`sim.model.calendar.Calendar`, not copied)."""
    calendar = Calendar(first, days)
    return {
        first + dt.timedelta(days=int(hour // 24))
        for hour in calendar.window_opens(cadence)
        if hour < days * 24
    }


def _interval_lognormal_median(lows: np.ndarray, highs: np.ndarray) -> float:
    """Median of a log-normal fitted by maximum likelihood to times known to lie in (low, high]."""
    log_hi = np.log(highs)
    with np.errstate(divide="ignore"):
        log_lo = np.where(lows > 0, np.log(np.maximum(lows, 1e-12)), -np.inf)

    def negative_ll(theta: np.ndarray) -> float:
        mu, sigma = theta[0], math.exp(theta[1])
        upper = stats.norm.cdf((log_hi - mu) / sigma)
        lower = stats.norm.cdf((log_lo - mu) / sigma)
        return -float(np.sum(np.log(np.maximum(upper - lower, 1e-300))))

    start = np.array([float(np.median(log_hi)) - 0.5, 0.0])
    fit = optimize.minimize(negative_ll, start, method="Nelder-Mead")
    return float(math.exp(fit.x[0]))


class ReleaseReader(_ReaderBase):
    def release(self) -> None:
        a = self.a
        rows = np.flatnonzero(self.planned)
        rows = rows[np.argsort(a.deploy_t[rows], kind="stable")]
        gaps, waited = release_gaps(a.deploy_t[rows], self.end) if len(rows) else (np.empty(0), 0.0)
        if len(rows) and looks_irregular(
            len(rows), self.facts.days, self.cadence[0] if self.cadence else None
        ):
            self._irregular(gaps, waited, (int(a.deploy_t[rows].min()) - self.start) / NS_PER_DAY, rows)
            cadence = str(self.facts.estimates["release.cadence"].value)
        elif self.cadence is not None:
            cadence, how = self.cadence
            self.set("release.cadence", cadence, how)
        else:
            cadence = self.base_value("release.cadence")
            self.facts.missing.append(
                f"only {_count(len(rows), 'planned deployment')} in the window ({MIN_DEPLOYMENTS} needed to see a weekday "
                f"pattern): release.cadence left at the base's {cadence!r}"
            )
        if len(rows) == 0:
            return
        sizes = self.n_listed(rows)
        cap = self._batch_cap(sizes)
        self.facts.stats["changes_per_planned_deployment"] = float(sizes.mean())
        # an irregular train's deployments are read as a continuous one's (no window to measure from)
        self._deploy_method(rows, "continuous" if cadence in ("irregular", "when_ready") else cadence, cap)
        self._lead_time_split(rows, cap)

    def _irregular(self, gaps: np.ndarray, waited: float, lead_in: float, rows: np.ndarray) -> None:
        fit = fit_gaps(gaps, waited, self.facts.days, lead_in)
        a, times = self.a, self.a.deploy_t[rows]
        hazard = pending_fit(a.change_t, times, self.start, self.end)
        first = a.change_t[a.first_deploy == rows[0]]
        self.facts.stats["release_ages_days"] = recorded_ages(times, first, self.start, self.end)
        shipped_ns = np.where(a.first_deploy >= 0, a.deploy_t[np.maximum(a.first_deploy, 0)], -1)
        patch, held = release_lines(self.deploy_ids[rows], times, a.change_t, shipped_ns)
        if held is not None and held[0] > 0:  # the record then marks patch releases
            self.facts.stats["release_patches"] = patch.tolist()
            self.set("release.held_share", round(held[0], 4), held[1])
        self.facts.stats["release_models"] = release_models(fit, hazard)  # clock or work-driven: Akaike
        # the window's first releases ship work created before it (the gap running at its start): the
        # simulation must hold that work, so its warm-up reaches back to the oldest change they ship
        shipped = (a.first_deploy >= 0) & self.in_window(a.deploy_t[np.clip(a.first_deploy, 0, None)])
        if shipped.any():
            reach = (self.start - int(a.change_t[shipped].min())) / NS_PER_DAY
            base = int(self.base_value("simulation.warmup_days"))
            if reach > base:
                days = int(min(MAX_WARMUP_DAYS, math.ceil(reach)))
                self.set(
                    "simulation.warmup_days",
                    days,
                    f"the window's releases ship changes created up to {reach:.0f} days before it: the "
                    f"simulation starts early enough to hold them",
                )
        self.set(
            "release.days_since_release",
            round(min(3650.0, waited), 4),
            "days from the last release to the window's end (the state a forecast starts from)",
        )
        if prefers_pending(fit, hazard) and hazard is not None:
            self.set("release.cadence", "when_ready", hazard.note + " (preferred by Akaike's criterion)")
            self.set("release.pending_hazard", round(min(100.0, hazard.per_day), 6), hazard.note)
            self.set(
                "release.gap_evidence",
                hazard.releases,
                "releases in the window: each replication draws its own release hazard",
            )
            self.set(
                "release.window_hours",
                IRREGULAR_WINDOW_HOURS,
                "a release is one cut of what is ready: its window closes before a second batch could follow",
            )
            return
        self.set("release.cadence", "irregular", fit.note)
        own = shipped & (a.change_t >= self.start)  # the window's own work, made and shipped in it
        lead = (a.deploy_t[a.first_deploy[own]] - a.change_t[own]) / NS_PER_DAY
        hours = float(self.base_value("release.prep_hours"))
        if (run_up := run_up_share(lead, a.deploy_t[rows], self.start, hours)) is not None:
            self.set("release.prep_share", round(run_up[0], 4), run_up[1])
        if (fixups := fixup_share(a.deploy_t[rows])) is not None:
            self.set("release.fixup_share", round(fixups[0], 4), fixups[1])
        law = "log-normal" if fit.law == "lognormal" else "exponential"
        self.set(
            "release.gap_law",
            fit.law,
            f"the {law} law fits the window's gaps better by Akaike's criterion"
            if fit.gaps >= 2
            else "fewer than two complete gaps: no spread can be read, the memoryless clock is kept",
        )
        self.set("release.gap_days", round(min(3650.0, fit.gap_days), 4), f"median of the fitted {law} gaps")
        if fit.law == "lognormal":
            self.set("release.gap_spread", round(fit.gap_spread, 4), "log-scale spread of the fitted gaps")
            self.set(
                "release.gap_evidence",
                fit.evidence,
                "complete gaps in the window: each replication draws its own gap median and spread",
            )
        else:
            self.set(
                "release.gap_evidence",
                fit.evidence,
                "release events in the window: each replication draws its own release rate",
            )
        self.set(
            "release.window_hours",
            IRREGULAR_WINDOW_HOURS,
            "a release is one cut of what is ready: its window closes before a second batch could follow",
        )
        self.facts.stats["days_since_release"] = waited
        self.facts.stats["release_gaps_days"] = [round(float(g), 3) for g in gaps]

    def _cadence(self, rows: np.ndarray) -> tuple[str, str] | None:
        local = self.local(self.a.deploy_t[rows])
        weekday = local.day_of_week.to_numpy()
        hour = (local.hour + local.minute / 60).to_numpy()
        weekend_share = float(np.mean(weekday >= SATURDAY))
        if weekend_share >= 0.6:
            return self._weekend_cadence(local[weekday >= SATURDAY], weekend_share)
        # the model's daily window opens at 15:00 on working days and stays open into the evening
        after_window = ((weekday < SATURDAY) & (hour >= DAILY_RELEASE_HOUR)) | (
            (weekday >= 1) & (weekday <= SATURDAY) & (hour < 6)
        )
        day_key = (local - pd.Timedelta(hours=6)).normalize()
        deploy_days = day_key.nunique()
        working_days = max(1, round((self.end - self.start) / NS_PER_DAY * 5 / 7))
        busy = deploy_days >= 0.4 * working_days
        if deploy_days >= MIN_DEPLOYMENTS and after_window.mean() >= 0.9:  # a pattern needs that many days
            return "daily", (
                f"{after_window.mean():.0%} of planned deployments ship on working days after "
                f"15:00, on {deploy_days} days"
            )
        first_hours = pd.Series(hour).groupby(day_key.to_numpy()).first()
        iqr = float(np.subtract(*np.percentile(first_hours, [75, 25]))) if len(first_hours) else 24.0
        per_day = len(rows) / max(deploy_days, 1)
        if busy and per_day <= 1.2 and iqr <= 2.5:
            return "daily", f"one planned deployment a day at a steady time of day, on {deploy_days} days"
        return "continuous", (
            f"{len(rows)} planned deployments at any time of the working week "
            f"({per_day:.1f} per deployment day)"
        )

    def _weekend_cadence(self, weekend_local: pd.DatetimeIndex, share: float) -> tuple[str, str] | None:
        """The Saturday train whose windows the weekend releases match best, or None when they ship in fewer
        than half of its windows (a train ships whenever work is ready; a few Saturday releases in a long
        window are a team releasing when ready, read as irregular)."""
        saturdays = {
            (d - pd.Timedelta(days=d.day_of_week - SATURDAY)).date() for d in weekend_local.normalize()
        }
        first = pd.Timestamp(self.start + self.offset_ns).date()
        days = [first + dt.timedelta(days=i) for i in range((self.end - self.start) // NS_PER_DAY)]
        candidates = {
            cadence: window_days(cadence, first, len(days)) for cadence in ("weekly", "biweekly", "monthly")
        }

        def jaccard(windows: set) -> float:
            return len(windows & saturdays) / max(1, len(windows | saturdays))

        best = max(candidates, key=lambda c: (jaccard(candidates[c]), -len(candidates[c])))
        if len(candidates[best] & saturdays) < 0.5 * len(candidates[best]):
            return None
        return best, (
            f"{share:.0%} of planned deployments ship at weekends, on {len(saturdays)} Saturdays "
            f"(matching the {best} Saturday windows)"
        )

    def _batch_cap(self, sizes: np.ndarray) -> int:
        """The batch cap when batch sizes pile up at their maximum (0 = none seen)."""
        if len(sizes) < MIN_DEPLOYMENTS:
            self.facts.missing.append(
                f"only {_count(len(sizes), 'planned deployment')}: release.max_batch_size left at the base's value"
            )
            return int(self.base_value("release.max_batch_size"))
        top = int(sizes.max())
        at_top = int((sizes == top).sum())
        if top >= 1 and at_top >= 3 and at_top >= 0.2 * len(sizes):
            self.set(
                "release.max_batch_size",
                top,
                f"{at_top} of {len(sizes)} planned deployments ship exactly {top} changes, none more",
            )
            return top
        self.set("release.max_batch_size", 0, f"batch sizes up to {top} do not pile up at a maximum")
        return 0

    def _durations(self, rows: np.ndarray, cadence: str, cap: int) -> tuple[list[float], list[float]]:
        """(deploy-duration samples in hours, gaps between consecutive planned deployments)."""
        a = self.a
        samples: list[float] = []
        for row in np.flatnonzero(self.deploy_in & a.unplanned):
            changes = a.listed[row]
            if len(changes) == 1 and a.first_deploy[changes[0]] == row:
                took = (a.deploy_t[row] - a.change_t[changes[0]]) / NS_PER_HOUR
                if 0 < took < 24:
                    samples.append(took)
        times = a.deploy_t[rows]
        gaps = np.diff(times) / NS_PER_HOUR
        if cadence != "continuous":
            session = np.concatenate([[0], np.cumsum(gaps > 12)])
            if cap:  # a full batch is followed at once by the next one: the gap is one deployment
                full = self.n_listed(rows[:-1]) >= cap
                samples.extend(
                    g for g, s0, s1, f in zip(gaps, session[:-1], session[1:], full) if s0 == s1 and f
                )
            open_hour = DAILY_RELEASE_HOUR if cadence == "daily" else WEEKEND_RELEASE_HOUR
            local = self.local(times)
            for k in np.flatnonzero(np.diff(np.concatenate([[-1], session])) != 0):
                since = (
                    local[k] - (local[k] - pd.Timedelta(hours=open_hour)).normalize()
                ).total_seconds() / 3600
                since -= open_hour
                if 0 < since < 12:
                    samples.append(since)
        return samples, [float(g) for g in gaps if g < 12]

    def _deploy_method(self, rows: np.ndarray, cadence: str, cap: int) -> None:
        samples, gaps = self._durations(rows, cadence, cap)
        checklist = self._checklist_incidents()
        if len(samples) >= MIN_SAMPLES:
            # the median resists deployments that waited for work to become ready inside a window
            typical = float(np.median(samples))
            mean = typical * 1.05
            self.duration_h = mean
            if typical >= MANUAL_MIN_HOURS:
                self.set(
                    "release.deploy", "manual", f"deployments take {typical:.1f} h (median of {len(samples)})"
                )
                self.set(
                    "release.manual_deploy_hours",
                    round(min(48.0, max(0.25, mean)), 3),
                    f"median of {len(samples)} deploy durations",
                )
            else:
                self.set(
                    "release.deploy",
                    "automated",
                    f"deployments take {typical * 60:.0f} min (median of {len(samples)})",
                )
                self.set(
                    "release.automated_deploy_minutes",
                    round(min(600.0, max(1.0, mean * 60)), 2),
                    f"median of {len(samples)} deploy durations",
                )
        elif cadence == "continuous" and len(gaps) >= 10 and np.percentile(gaps, 5) < MANUAL_MIN_HOURS:
            self.set("release.deploy", "automated", "deployments follow each other within minutes")
        elif checklist:
            self.set("release.deploy", "manual", f"{checklist} incidents began the moment a deployment ended")
        else:
            self.facts.missing.append(
                "deploy durations cannot be read from the logs: release.deploy left at "
                f"the base's {self.base_value('release.deploy')!r}"
            )
        method = self.facts.estimates.get(
            "release.deploy", Estimate(self.base_value("release.deploy"), "")
        ).value
        if self.duration_h is None:
            self.duration_h = (
                float(self.base_value("release.manual_deploy_hours"))
                if method == "manual"
                else float(self.base_value("release.automated_deploy_minutes")) / 60
            )
        if method == "manual":
            n = int(self.deploy_in.sum())
            prior = float(self.base_value("release.manual_error_rate"))
            rate = (checklist + 20 * prior) / (n + 20)
            self.set(
                "release.manual_error_rate",
                round(rate, 4),
                f"{checklist} of {n} deployments failed the moment they ended (shrunk towards the base's "
                f"{prior:g})",
            )

    def _checklist_incidents(self) -> int:
        a = self.a
        caused = self.in_window(a.incident_t) & (a.incident_deploy >= 0)
        rows = a.incident_deploy[caused]
        delay = (a.incident_t[caused] - a.deploy_t[rows]) / NS_PER_HOUR
        return int(np.sum(np.abs(delay) <= SAME_INSTANT_HOURS))

    def _lead_time_split(self, rows: np.ndarray, cap: int) -> None:
        """Median time before release → branching strategy (and, behind a full release train, lifetime)."""
        room = np.ones(len(rows), dtype=bool) if not cap else self.n_listed(rows) < cap
        if room.mean() < 0.3:
            self._queue_order_split(rows)
            return
        lows, highs = self._readiness_intervals(rows, room)
        if len(highs) < 10:
            self.facts.missing.append(
                "too few shipped changes to split lead time: branching left at the base's values"
            )
            return
        median = _interval_lognormal_median(np.array(lows), np.array(highs))
        self._record_split(
            median, f"half of the changes are ready to release within {median:.1f} h of being created"
        )

    def _readiness_intervals(self, rows: np.ndarray, room: np.ndarray) -> tuple[list[float], list[float]]:
        """Per shipped change: (not ready at the last earlier release with room, ready by its own) in hours."""
        a = self.a
        if self.duration_h is None:
            raise RuntimeError("the deploy duration is read (_deploy_method) before lead time is split")
        starts = a.deploy_t[rows] - int(self.duration_h * NS_PER_HOUR)
        lows: list[float] = []
        highs: list[float] = []
        position = {int(r): k for k, r in enumerate(rows)}
        # the window's own work: a change created before the window started waited there for releases
        # the window does not show (carried-in work, which the warm-up holds), and its age would be read
        # as every new change's time before release
        shipped = np.flatnonzero(
            (a.first_deploy >= 0)
            & self.in_window(a.deploy_t[np.clip(a.first_deploy, 0, None)])
            & (a.change_t >= self.start)
        )
        for c in shipped:
            k = position.get(int(a.first_deploy[c]))
            if k is None:
                continue
            high = (starts[k] - a.change_t[c]) / NS_PER_HOUR
            earlier = np.flatnonzero(room[:k])
            low = (starts[earlier[-1]] - a.change_t[c]) / NS_PER_HOUR if len(earlier) else 0.0
            if high > 0:
                lows.append(max(low, 0.0))
                highs.append(max(high, low + 1e-3))
        return lows, highs

    def _queue_order_split(self, rows: np.ndarray) -> None:
        """Behind a full release train changes ship in the order they became ready.

        A change shipped after one created later cannot have been ready before that one was
        created: the gap is a lower bound of its time before release. The upper quartile of these
        bounds tracks the median time before release (checked against the model's own records).
        """
        a = self.a
        self.facts.stats["release_train_full"] = True
        latest = -np.inf
        bounds: list[float] = []
        for row in rows:
            first = [c for c in a.listed[row] if a.first_deploy[c] == row]
            if not first:
                continue
            created = a.change_t[first]
            if np.isfinite(latest):
                bounds.extend(np.maximum(0.0, (latest - created) / NS_PER_HOUR))
            latest = max(latest, float(created.max()))
        if len(bounds) < 10:
            self.facts.missing.append(
                "too few shipped changes to split lead time: branching left at the base's values"
            )
            return
        lead = self.facts.observed["metrics"]["lead_time_hours"]
        median = float(np.percentile(bounds, 75))
        if lead is not None:
            median = min(median, lead)
        self._record_split(
            median,
            f"changes leave the full release queue up to {median:.1f} h out of the order "
            "they were created in",
        )

    def _record_split(self, median: float, how: str) -> bool:
        lead = self.facts.observed["metrics"]["lead_time_hours"]
        self.facts.stats["median_hours_before_release"] = median
        if lead is not None:
            self.facts.stats["median_hours_waiting_for_release"] = max(0.0, lead - median)
        trunk = median < 24.0
        self.set("branching.strategy", "trunk" if trunk else "long_lived", how)
        cadence = self.facts.estimates.get("release.cadence")
        if cadence is not None and cadence.value in ("irregular", "when_ready"):
            # a team releasing when ready: the time before release is read from its own changes, not the
            # base's, even where too few releases let the lead time be fitted by simulation (calibrate may
            # refine it then); the model's per-change review (trunk) or branch life (about half of it passes
            # before a change merges) that gives this median
            days = median / 24.0 / (2.0 if trunk else 0.55)
            self.set(
                "branching.branch_lifetime_days",
                round(min(IRREGULAR_MAX_BRANCH_DAYS, max(0.01, days)), 4),
                f"{how}: the branch lifetime that gives it",
            )
        return trunk
