"""Restores: rollback, flag flip or hotfix, detection and repair times."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from sim.analysis.log_facts.facts import (
    MIN_SAMPLES,
    NS_PER_HOUR,
    RESOLVE_AFTER_HOURS,
    RESOLVE_BEFORE_HOURS,
    SAME_INSTANT_HOURS,
    _ReaderBase,
)


def _coverage_for(share: float, escaped: float) -> float:
    """Flag coverage c with E[c^K | K ≥ 1] = share for K ~ Poisson(``escaped``)."""
    lam = max(escaped, 1e-6)
    none = math.exp(-lam)

    def switched_off(c: float) -> float:
        return (math.exp(-lam * (1.0 - c)) - none) / (1.0 - none)

    if share >= 1.0:
        return 1.0
    return float(optimize.brentq(lambda c: switched_off(c) - share, 0.0, 1.0))


class RestoresReader(_ReaderBase):
    def restores(self) -> None:
        a = self.a
        incident_in = self.in_window(a.incident_t)
        no_cause = int((incident_in & (a.incident_deploy == -1)).sum())
        unknown = int((incident_in & (a.incident_deploy == -2)).sum())
        caused = incident_in & (a.incident_deploy >= 0)
        open_ = int((caused & ~a.resolved).sum())
        self.facts.stats["open_incidents_at_end"] = int(
            (caused & (~a.resolved | (a.resolved_t >= self.end))).sum()
        )
        if no_cause:
            self.facts.warnings.append(
                f"{no_cause} incidents not caused by a deployment were ignored "
                "(the model restores change failures only)"
            )
        if unknown:
            self.facts.warnings.append(
                f"{unknown} incidents name a deployment that is not in the log; ignored"
            )
        if open_:
            self.facts.warnings.append(
                f"{open_} change-caused incidents are still open; ignored for restore times"
            )
        done = np.flatnonzero(caused & a.resolved)
        if len(caused.nonzero()[0]) == 0:
            self.facts.missing.append(
                "no incidents caused by a deployment: restore paths, detection and when "
                "defects fire cannot be read"
            )
            return
        delays = (a.incident_t[caused] - a.deploy_t[a.incident_deploy[caused]]) / NS_PER_HOUR
        fired = delays[delays > SAME_INSTANT_HOURS]
        if len(fired) >= 5:
            self.set(
                "operations.fire_delay_hours",
                round(float(min(720.0, fired.mean())), 3),
                f"mean time from deployment to failure over {len(fired)} incidents",
            )
        paths = self._paths(done)
        counts = {p: int(sum(1 for q in paths.values() if q == p)) for p in ("rollback", "hotfix", "flag")}
        self.facts.stats["restore_paths"] = counts
        if not done.size:
            self.facts.missing.append(
                "no resolved change-caused incidents: restore parameters left at the base's values"
            )
            return
        rollback = counts["rollback"] > counts["hotfix"]
        if counts["rollback"] + counts["hotfix"]:
            self.set(
                "operations.automated_rollback",
                rollback,
                f"{counts['rollback']} restores by an empty unplanned deployment (rollback), "
                f"{counts['hotfix']} by a hotfix deployment",
            )
        self._feature_flags(done, paths)
        fast = [h for i, h in self._restore_hours(done).items() if paths.get(i) in ("rollback", "flag")]
        if len(fast) >= MIN_SAMPLES:
            action = np.float64(
                np.mean(
                    [
                        float(self.base_value("operations.rollback_minutes"))
                        if paths[i] == "rollback"
                        else float(self.base_value("operations.flag_flip_minutes"))
                        for i in paths
                        if paths[i] in ("rollback", "flag")
                    ]
                )
            )
            detect = max(1.0, float(np.mean(fast)) * 60 - action)
            self.set(
                "operations.detect_minutes",
                round(min(20160.0, detect), 2),
                f"mean of {len(fast)} rollback / flag restores minus the switch itself",
            )

    def _feature_flags(self, done: np.ndarray, paths: dict[int, str]) -> None:
        """Flag flips restore without a deployment, and only defects of flagged changes.

        Counted over resolved defect incidents of planned deployments (checklist errors and rushed
        hotfixes cannot be switched off). An incident is switched off when every escaped defect
        of its batch is behind a flag, so with K ~ Poisson(λ) escaped defects (given K ≥ 1) the
        share switched off is E[c^K | K ≥ 1]; solving for c gives ``flag_coverage``.
        """
        a = self.a
        rows = a.incident_deploy[done]
        delay = (a.incident_t[done] - a.deploy_t[rows]) / NS_PER_HOUR
        eligible = [
            int(i) for i, row, d in zip(done, rows, delay) if not a.unplanned[row] and d > SAME_INSTANT_HOURS
        ]
        flips = sum(1 for i in eligible if paths.get(i) == "flag")
        total = len(done)
        if flips >= 3 and flips >= 0.2 * len(eligible):
            share = flips / len(eligible)
            escapes = self.facts.stats.get("escaped_defects_per_change")
            size = self.facts.stats.get("new_changes_per_planned_deployment")
            coverage = _coverage_for(share, escapes * size) if escapes and size else share
            self.set(
                "branching.feature_flags",
                True,
                f"{flips} of {len(eligible)} defect incidents were restored without a deployment (a flag "
                "switched off)",
            )
            self.set(
                "branching.flag_coverage",
                round(coverage, 3),
                f"{share:.0%} of defect incidents switched off, with ~{(escapes or 0) * (size or 0):.1f} escaped "
                "defects per deployment all needing a flag",
            )
        elif total >= 5 and self.base_value("branching.feature_flags"):
            self.set(
                "branching.feature_flags", False, f"all but {flips} of {total} restores needed a deployment"
            )

    def _restore_hours(self, done: np.ndarray) -> dict[int, float]:
        a = self.a
        return {int(i): (a.resolved_t[i] - a.incident_t[i]) / NS_PER_HOUR for i in done}

    def _paths(self, done: np.ndarray) -> dict[int, str]:
        """How each resolved incident was restored: the unplanned deployment logged at its resolution.

        Pairs are (incident, unplanned deployment) within ``RESOLVE_BEFORE_HOURS`` before to
        ``RESOLVE_AFTER_HOURS`` after the resolution, matched one to one, closest first, so a busy
        team's rollbacks are not credited to each other's incidents. No deployment = a flag flip.
        """
        a = self.a
        rows = np.flatnonzero(a.unplanned)
        times = a.deploy_t[rows]
        order = np.argsort(times, kind="stable")
        rows, times = rows[order], times[order]
        before = int(RESOLVE_BEFORE_HOURS * NS_PER_HOUR)
        after = int(RESOLVE_AFTER_HOURS * NS_PER_HOUR)
        pairs: list[tuple[int, int, int]] = []
        for i in done:
            resolved = a.resolved_t[i]
            lo = np.searchsorted(times, max(a.incident_t[i], resolved - before), side="left")
            hi = np.searchsorted(times, resolved + after, side="right")
            pairs.extend((abs(int(times[k]) - int(resolved)), int(i), int(rows[k])) for k in range(lo, hi))
        out = {int(i): "flag" for i in done}
        used: set[int] = set()
        for _distance, incident, row in sorted(pairs):
            if out[incident] == "flag" and row not in used:
                out[incident] = "rollback" if len(a.listed[row]) == 0 else "hotfix"
                used.add(row)
        return out
