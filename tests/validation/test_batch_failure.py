"""Failed-deployment share against 1 - (1 - p)^n when only shipped defects cause failures.

Each change carries a defect with probability p, independently; nothing else can fail a deployment
(automated deploys have no checklist error, the suite catches nothing, no merge conflicts, no
overtime, no flags or rollbacks that would send already-fixed changes out again). A planned
deployment of exactly n changes then fails with probability 1 - (1 - p)^n. Batches are capped at n
and changes arrive faster than the deployer can ship them during the day, so most batches are full.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import Scenario


def defects_only(defect_rate: float, cap: int, deploy_minutes: float, days: int) -> Scenario:
    return Scenario().with_values(
        {
            "days": days,
            "simulation.warmup_days": 1,  # nothing needs to fill up: every deployment counts
            "team.engineers": 40,
            "team.overtime": 1.0,
            "branching.strategy": "trunk",
            "branching.branch_lifetime_days": 0.1,
            "branching.conflict_rate": 0.0,
            "branching.feature_flags": False,
            "ci.runners": 100,
            "ci.test_suite_minutes": 5.0,
            "ci.flaky_rate": 0.0,
            "quality.defect_rate": defect_rate,
            "quality.test_detection_rate": 0.0,
            "release.cadence": "continuous",
            "release.deploy": "automated",
            "release.max_batch_size": cap,
            "release.automated_deploy_minutes": deploy_minutes,
            "operations.automated_rollback": False,
            "operations.fire_delay_hours": 0.0,  # a failure shows at once, inside the window
        },
        source="test",
    )


def planned_failures_by_size(scenario: Scenario, reps: int, seed: int = 3) -> tuple[Counter, Counter]:
    """(planned deployments, of which failed) per batch size, from the window logs of ``reps`` replications."""
    shipped: Counter = Counter()
    failed: Counter = Counter()
    for k in range(reps):
        logs = to_logs(simulate(scenario, seed, k))
        caused = set(logs.incidents["deploy_id"])
        planned = logs.deployments[~logs.deployments["unplanned"]]
        for deploy_id, change_ids in zip(planned["deploy_id"], planned["change_ids"]):
            size = len(str(change_ids).split())
            shipped[size] += 1
            failed[size] += deploy_id in caused
    return shipped, failed


CASES = [  # defect rate p, batch size n, automated deploy minutes, days
    (0.05, 1, 5.0, 30),
    (0.05, 4, 40.0, 60),
    (0.05, 12, 240.0, 240),
    (0.20, 4, 40.0, 60),
]


@pytest.mark.parametrize(("p", "n", "deploy_minutes", "days"), CASES)
def test_failed_share_of_n_change_deployments_is_one_minus_one_minus_p_to_the_n(p, n, deploy_minutes, days):
    shipped, failed = planned_failures_by_size(defects_only(p, n, deploy_minutes, days), reps=1)
    total = shipped[n]
    assert total >= 400, f"too few full batches ({total}) for a meaningful check"
    expected = 1.0 - (1.0 - p) ** n
    standard_error = math.sqrt(expected * (1.0 - expected) / total)
    observed = failed[n] / total
    assert abs(observed - expected) < 4 * standard_error, (observed, expected, total)
    linear_guess = min(1.0, n * p)
    if linear_guess - expected > 6 * standard_error:  # big batches: the risks compound, they do not add up
        assert abs(observed - expected) < abs(observed - linear_guess)


def test_all_batch_sizes_together_match_the_binomial_expectation():
    """Over every size shipped (partial batches too), failures match sum of 1 - (1 - p)^k."""
    p = 0.1
    shipped, failed = planned_failures_by_size(defects_only(p, 6, 30.0, days=60), reps=1, seed=8)
    expected = sum(count * (1.0 - (1.0 - p) ** size) for size, count in shipped.items())
    variance = sum(count * (1.0 - (1.0 - p) ** size) * (1.0 - p) ** size for size, count in shipped.items())
    assert len(shipped) > 3  # several sizes really occurred
    assert abs(sum(failed.values()) - expected) < 4 * math.sqrt(variance)
