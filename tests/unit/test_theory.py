"""Closed forms used by the Learn view, against their textbook definitions."""

from __future__ import annotations

import math

import pytest

from sim.errors import InputError
from sim.model.theory import batch_failure_probability, erlang_c, escape_probability, mmc_mean_wait


def erlang_c_textbook(servers: int, load: float) -> float:
    rho = load / servers
    tail = load**servers / math.factorial(servers) / (1.0 - rho)
    head = sum(load**k / math.factorial(k) for k in range(servers))
    return tail / (head + tail)


@pytest.mark.parametrize(("servers", "load"), [(1, 0.5), (2, 1.0), (3, 2.4), (8, 6.5), (16, 15.0)])
def test_erlang_c_matches_the_factorial_formula(servers, load):
    assert erlang_c(servers, load) == pytest.approx(erlang_c_textbook(servers, load), rel=1e-9)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9])
def test_mm1_and_mm2_waits(rho):
    # M/M/1 with mu = 1: Wq = rho / (1 - rho); M/M/2 with mu = 1: Wq = rho^2 / (1 - rho^2)
    assert mmc_mean_wait(rho, 1.0, 1) == pytest.approx(rho / (1 - rho))
    assert mmc_mean_wait(2 * rho, 1.0, 2) == pytest.approx(rho**2 / (1 - rho**2))


def test_overloaded_pool_waits_forever_and_more_runners_wait_less():
    assert mmc_mean_wait(3.0, 1.0, 2) == math.inf
    waits = [mmc_mean_wait(3.0, 1.0, c) for c in range(4, 10)]
    assert waits == sorted(waits, reverse=True)
    assert erlang_c(3, 0.0) == 0.0


def test_batch_risk():
    assert batch_failure_probability(0.03, 10) == pytest.approx(1 - 0.97**10)
    assert batch_failure_probability(0.0, 100) == 0.0
    assert batch_failure_probability(0.1, 0) == 0.0
    risks = [batch_failure_probability(0.05, n) for n in range(1, 50)]
    assert risks == sorted(risks)


def test_escape_probability():
    assert escape_probability(0.08, 0.6) == pytest.approx(0.032)
    assert escape_probability(0.08, 0.6, suite_run_share=0.0) == pytest.approx(0.08)


@pytest.mark.parametrize(
    "call",
    [
        lambda: batch_failure_probability(1.5, 3),
        lambda: batch_failure_probability(0.1, -1),
        lambda: erlang_c(0, 1.0),
        lambda: escape_probability(0.1, 2.0),
        lambda: mmc_mean_wait(1.0, 0.0, 1),
    ],
)
def test_bad_arguments_are_input_errors(call):
    with pytest.raises(InputError):
        call()
