"""Work: team size and output per engineer, their evidence and their month-to-month spread."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.log_facts.facts import (
    NS_PER_DAY,
    SATURDAY,
    _ReaderBase,
)

AUTHOR_COLUMNS = ("author", "author_email")  # an optional changes.csv column naming who made each change


def effective_authors(authors: np.ndarray) -> float | None:
    """The effective number of people behind the changes: exp of the Shannon entropy of their shares (a Hill
    number of order 1: n people sharing equally count n; one main author with occasional helpers count a few)."""
    names = [a for a in authors if a and a.lower() not in ("nan", "none", "<na>")]
    if not names:
        return None
    _, counts = np.unique(names, return_counts=True)
    shares = counts / counts.sum()
    return float(np.exp(-np.sum(shares * np.log(shares))))


OUTPUT_BLOCK_DAYS = 30  # the output's spread is read from counts of changes per block of this many days


def change_cluster(created: np.ndarray, start: int, end: int, offset_ns: int = 0) -> float | None:
    """The mean burst size behind the working days' change counts: with bursts of geometric size and mean m,
    the index of dispersion of daily counts is 2m − 1 (None with fewer than 20 working days or no change)."""
    days = int((end - start) // NS_PER_DAY)
    if created.size == 0 or days < 1:
        return None
    index = (created - start) // NS_PER_DAY
    counts = np.bincount(index[(index >= 0) & (index < days)].astype(np.int64), minlength=days)[:days]
    weekday = (pd.Timestamp(start + offset_ns).day_of_week + np.arange(days)) % 7 < SATURDAY
    working = counts[weekday]
    if working.size < 20 or working.mean() <= 0:
        return None
    dispersion = float(working.var(ddof=1) / working.mean())
    return float(min(100.0, max(1.0, (dispersion + 1.0) / 2.0)))


def output_spread(created: np.ndarray, start: int, end: int) -> float | None:
    """The coefficient of variation of the rate behind the changes per :data:`OUTPUT_BLOCK_DAYS` days beyond
    Poisson noise (Gamma-Poisson, method of moments); None with fewer than three whole blocks or no change."""
    blocks = int((end - start) // (OUTPUT_BLOCK_DAYS * NS_PER_DAY))
    if blocks < 3 or created.size == 0:
        return None
    index = (created - start) // (OUTPUT_BLOCK_DAYS * NS_PER_DAY)
    counts = np.bincount(index[(index >= 0) & (index < blocks)].astype(np.int64), minlength=blocks)[:blocks]
    mean = float(counts.mean())
    if mean <= 0:
        return None
    excess = float(counts.var(ddof=1)) / (mean * mean) - 1.0 / mean
    return float(min(5.0, math.sqrt(max(0.0, excess))))


def old_waiting_work(
    change_t: np.ndarray, first_deploy_t: np.ndarray, last_release: int, end: int
) -> dict | None:
    """The changes made before the window's last release and not shipped by its end (work that missed
    releases; ``first_deploy_t`` is -1 for never): how many, and the median and log-scale spread of their ages
    at the end, in days. None when there are none."""
    waiting = (change_t < last_release) & ((first_deploy_t < 0) | (first_deploy_t >= end))
    if not waiting.any():
        return None
    ages = np.maximum((end - change_t[waiting]) / NS_PER_DAY, 1e-3)
    logs = np.log(ages)
    return {
        "count": int(waiting.sum()),
        "median_days": float(np.exp(np.median(logs))),
        "spread": float(np.std(logs, ddof=1)) if ages.size > 1 else 0.0,
    }


class WorkReader(_ReaderBase):
    def work(self) -> None:
        a = self.a
        planned = a.deploy_t[self.planned]
        if planned.size:
            first = np.where(a.first_deploy >= 0, a.deploy_t[np.clip(a.first_deploy, 0, None)], -1)
            self.facts.stats["old_waiting_work"] = old_waiting_work(
                a.change_t, first, int(planned.max()), self.end
            )
        created_in = self.in_window(a.change_t)
        first_unplanned = (a.first_deploy >= 0) & a.unplanned[np.clip(a.first_deploy, 0, None)]
        team_changes = created_in & ~first_unplanned
        local_days = self.local(a.change_t[team_changes])
        weekend = local_days.day_of_week >= SATURDAY
        n_days = self.facts.days
        start_weekday = pd.Timestamp(self.start + self.offset_ns).day_of_week
        working_days = int(np.sum((start_weekday + np.arange(n_days)) % 7 < SATURDAY))
        if working_days == 0 or team_changes.sum() == 0:
            self.facts.missing.append(
                "no changes created on a working day inside the window: team size and "
                "output per engineer left at the base's values"
            )
            return
        # the model's team works on working days: changes made at weekends are output too, so they are
        # counted in the working days' rate (the window's throughput is kept, not its weekends)
        per_day = float(team_changes.sum()) / working_days
        self.facts.stats["changes_per_working_day"] = per_day
        if weekend.any():
            share = float(weekend.mean())
            self.facts.stats["weekend_change_share"] = share
            if share > 0.03:
                self.facts.warnings.append(
                    f"{share:.0%} of changes were made at weekends: they count in the output per working day; "
                    f"the scenario keeps team.overtime at {self.base_value('team.overtime')}"
                )
        rate = float(self.base_value("team.changes_per_engineer_per_day"))
        names = None if self.authors is None else self.authors[team_changes]
        effective = None if names is None else effective_authors(names)
        if names is not None and effective is not None:
            engineers = int(min(500, max(1, round(effective))))
            self.set(
                "team.engineers",
                engineers,
                f"the effective number of authors of the window's changes ({effective:.1f}: the exponential of "
                f"the entropy of their shares; {len(set(names))} distinct)",
            )
        else:
            engineers = int(min(500, max(1, round(per_day / rate))))
            self.set(
                "team.engineers",
                engineers,
                f"{per_day:.1f} changes per working day at the base's ~{rate:g} per engineer (no author "
                f"column in changes.csv to count them)",
            )
        per_engineer = min(50.0, per_day / engineers)
        self.set(
            "team.changes_per_engineer_per_day",
            round(per_engineer, 4),
            f"{per_day:.1f} changes per working day / {engineers} engineers",
        )
        burst = change_cluster(a.change_t[team_changes], self.start, self.end, self.offset_ns)
        if burst is not None:
            self.set(
                "team.change_cluster",
                round(burst, 3),
                "working days' change counts are overdispersed beyond Poisson: changes come in bursts of "
                "this mean size (index of dispersion D, bursts geometric: (D + 1) / 2)",
            )
        spread = output_spread(a.change_t[team_changes], self.start, self.end)
        if spread is not None:
            self.set(
                "team.output_spread",
                round(spread, 4),
                f"changes per {OUTPUT_BLOCK_DAYS} days vary beyond chance by this coefficient of variation",
            )
        self._output_evidence(int(team_changes.sum()), spread or 0.0)

    def _output_evidence(self, changes: int, spread: float) -> None:
        """How well the window shows the output level: its changes, or fewer when the blocks of
        :data:`OUTPUT_BLOCK_DAYS` days vary beyond chance (the level's relative variance 1/k + spread²/blocks
        is that of a Poisson count of k_eff = 1 / (1/k + spread²/blocks) changes)."""
        blocks = max(1, int(self.facts.days // OUTPUT_BLOCK_DAYS))
        evidence = (
            changes if spread <= 0 or changes <= 0 else round(1.0 / (1.0 / changes + spread**2 / blocks))
        )
        note = "changes created in the window: each replication draws its own output per engineer"
        if evidence < changes:
            note = (
                f"{changes} changes created in the window, in {blocks} blocks of {OUTPUT_BLOCK_DAYS} days that vary "
                f"beyond chance (spread {spread:.2f}): the output level is known as well as from {evidence} "
                "steady changes; each replication draws its own output per engineer"
            )
        self.set("team.output_evidence", max(1, evidence) if changes else 0, note)
