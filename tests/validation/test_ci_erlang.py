"""The CI runner pool against queueing theory (M/M/c, Erlang C).

The model's own CI flow (``sim.model.flow.ci``: ``CIStage.start_arrivals``, queueing on ``CIStage.runners``) is
fed synthetic merge units arriving as a Poisson stream; with exponential suite durations
(``ci.suite_cv = 1``), no flaky re-runs, no skipping and no defects, the pool is an M/M/c queue.
The closed form is written here from its textbook definition, not taken from the model.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from sim.model.delivery import DeliveryModel, replication_streams
from sim.model.records import UnitTable
from sim.model.scenario import Scenario

SUITE_MINUTES = 60.0  # mean service time 1 hour, so the service rate mu is 1 per hour


def erlang_c_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in queue of an M/M/c queue: Wq = C(c, a) / (c mu - lambda), a = lambda / mu.

    C(c, a) = [a^c / c! / (1 - rho)] / [sum_{k<c} a^k / k! + a^c / c! / (1 - rho)], rho = a / c.
    """
    a = arrival_rate / service_rate
    rho = a / servers
    assert rho < 1, "the queue must be stable"
    tail = a**servers / math.factorial(servers) / (1.0 - rho)
    head = sum(a**k / math.factorial(k) for k in range(servers))
    p_wait = tail / (head + tail)
    return p_wait / (servers * service_rate - arrival_rate)


def test_erlang_c_formula_matches_known_special_cases():
    # M/M/1: Wq = rho / (mu - lambda); M/M/2 with mu = 1: Wq = rho^2 / (1 - rho^2)
    for rho in (0.3, 0.5, 0.9):
        assert erlang_c_mean_wait(rho, 1.0, 1) == pytest.approx(rho / (1.0 - rho))
        assert erlang_c_mean_wait(2 * rho, 1.0, 2) == pytest.approx(rho**2 / (1.0 - rho**2))


def ci_only_model(runners: int, seed: int, replication: int, suite_cv: float = 1.0) -> DeliveryModel:
    """A model whose CI stage is a plain c-server queue: every unit is tested once, nothing else happens."""
    scenario = Scenario().with_values(
        {
            "ci.runners": runners,
            "ci.test_suite_minutes": SUITE_MINUTES,
            "ci.suite_cv": suite_cv,
            "ci.flaky_rate": 0.0,
            "ci.skip_threshold_minutes": 1440.0,  # the suite (60 min) is never skipped
            "quality.defect_rate": 0.0,
        },
        source="test",
    )
    return DeliveryModel(scenario, replication_streams(seed, replication), record_ci_waits=True)


def feed_poisson_merges(
    model: DeliveryModel, rate_per_hour: float, arrivals: int, rng: np.random.Generator
) -> np.ndarray:
    """Run the model's CI process on ``arrivals`` empty merge units arriving as a Poisson stream."""
    times = np.cumsum(rng.exponential(1.0 / rate_per_hour, arrivals))
    model.flow.units = UnitTable()
    for t in times:
        model.flow.units.add(float(t), float(t), 0, 0, False, [])
    model.ci.start_arrivals()
    model.env.run()
    return times


def fcfs_waits(arrivals: np.ndarray, services: np.ndarray, servers: int) -> np.ndarray:
    """Waits of a first-come-first-served c-server queue (Kiefer-Wolfowitz recursion)."""
    free = [0.0] * servers
    waits = np.empty(len(arrivals))
    for i, (arrival, service) in enumerate(zip(arrivals, services)):
        start = max(arrival, heapq.heappop(free))
        waits[i] = start - arrival
        heapq.heappush(free, start + service)
    return waits


def test_runner_pool_is_a_first_come_first_served_c_server_queue():
    """Given the suite durations the model drew, every recorded wait is exactly the FCFS queue's."""
    model = ci_only_model(runners=3, seed=11, replication=0, suite_cv=0.5)
    arrivals = feed_poisson_merges(model, rate_per_hour=2.7, arrivals=3000, rng=np.random.default_rng(11))
    services = np.asarray(model.flow.units.run_hours)
    expected = fcfs_waits(arrivals, services, servers=3)
    assert len(model.flow.ci_waits) == len(arrivals)  # one runner request per unit
    assert expected.max() > 1.0  # the queue really formed
    np.testing.assert_allclose(model.flow.ci_waits, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.asarray(model.flow.units.queue_hours), expected, rtol=0, atol=1e-9)


def mean_ci_wait(runners: int, utilisation: float, reps: int, arrivals: int, warmup: int) -> float:
    """Mean wait of the arrivals after the warm-up, pooled over independent replications."""
    rate = utilisation * runners  # mu = 1 per hour
    total, count = 0.0, 0
    for k in range(reps):
        model = ci_only_model(runners, seed=2024, replication=k)
        feed_poisson_merges(model, rate, arrivals, np.random.default_rng([2024, k]))
        # FCFS: runners are granted in arrival order, so ci_waits[i] is the i-th arrival's wait
        waits = np.asarray(model.flow.ci_waits)
        assert len(waits) == arrivals
        total += float(waits[warmup:].sum())
        count += len(waits) - warmup
    return total / count


def test_ci_wait_matches_erlang_c_at_utilisation_0_5():
    # ~230k measured arrivals: relative standard error ~1.6%, so 5% is about 3 standard errors
    simulated = mean_ci_wait(runners=2, utilisation=0.5, reps=24, arrivals=10_000, warmup=500)
    theory = erlang_c_mean_wait(1.0, 1.0, 2)
    assert simulated == pytest.approx(theory, rel=0.05)


@pytest.mark.slow
def test_ci_wait_matches_erlang_c_at_utilisation_0_9():
    # near saturation waits are long and strongly correlated: ~2.2M measured arrivals give a
    # relative standard error of ~1.5%; the warm-up (4000 arrivals) is >10 relaxation times
    simulated = mean_ci_wait(runners=2, utilisation=0.9, reps=48, arrivals=50_000, warmup=4_000)
    theory = erlang_c_mean_wait(1.8, 1.0, 2)
    assert simulated == pytest.approx(theory, rel=0.05)
