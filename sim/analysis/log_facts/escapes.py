"""Escapes: how many defects reach production, when they fire, and what feature flags switch off."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from sim.analysis.log_facts.facts import (
    MIN_DEPLOYMENTS,
    NS_PER_HOUR,
    SAME_INSTANT_HOURS,
    _ReaderBase,
)


class EscapesReader(_ReaderBase):
    def escapes(self) -> None:
        """Share of changes that reach production with a defect: from which planned deployments failed.

        A deployment of n new changes fails by a defect with probability 1 − (1 − q)^n; the
        maximum-likelihood q over the planned deployments (checklist failures set aside) starts the
        defect-rate fit. Unlike the change failure rate it does not mix in rollbacks and hotfixes.
        """
        a = self.a
        rows = np.flatnonzero(self.planned)
        if len(rows) < MIN_DEPLOYMENTS:
            return
        caused = self.in_window(a.incident_t) & (a.incident_deploy >= 0)
        delays = a.incident_t[caused] - a.deploy_t[a.incident_deploy[caused]]
        by_defect = set(a.incident_deploy[caused][delays > SAME_INSTANT_HOURS * NS_PER_HOUR].tolist())
        sizes = np.array([int(np.sum(a.first_deploy[a.listed[r]] == r)) for r in rows], dtype=float)
        failed = np.array([r in by_defect for r in rows])
        keep = sizes > 0
        sizes, failed = sizes[keep], failed[keep]
        if len(sizes) < MIN_DEPLOYMENTS:
            return
        self.facts.stats["planned_failure_share"] = float(failed.mean())
        self.facts.stats["new_changes_per_planned_deployment"] = float(sizes.mean())

        def negative_ll(log_q: float) -> float:
            survive = np.exp(sizes * math.log1p(-math.exp(log_q)))
            return -float(
                np.sum(
                    np.where(
                        failed, np.log(np.maximum(1.0 - survive, 1e-12)), np.log(np.maximum(survive, 1e-12))
                    )
                )
            )

        best = optimize.minimize_scalar(negative_ll, bounds=(math.log(1e-6), math.log(0.5)), method="bounded")
        self.facts.stats["escaped_defects_per_change"] = float(math.exp(best.x))
        # a hotfix ships one change that skipped CI: it fails with the plain defect rate
        hotfixes = [
            r
            for r in np.flatnonzero(self.deploy_in & a.unplanned)
            if len(a.listed[r]) == 1 and a.first_deploy[a.listed[r][0]] == r
        ]
        if hotfixes:
            self.facts.stats["hotfixes"] = len(hotfixes)
            self.facts.stats["hotfix_failure_share"] = float(np.mean([r in by_defect for r in hotfixes]))
