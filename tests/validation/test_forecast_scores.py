"""Forecast scoring rules against closed forms: CRPS of a point mass and of a uniform, pinball, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.analysis.backtest_scores import crps, empirical_quantile, pinball, score_case, summarize_scores


@pytest.mark.parametrize(("point", "outcome"), [(5.0, 5.0), (5.0, 12.0), (30.0, 2.0)])
def test_crps_of_a_point_mass_is_the_absolute_error(point, outcome):
    assert crps([point] * 7, outcome) == pytest.approx(abs(point - outcome))


@pytest.mark.parametrize(
    ("low", "high", "outcome"), [(0.0, 1.0, 0.3), (10.0, 40.0, 25.0), (10.0, 40.0, 39.0)]
)
def test_crps_of_a_uniform_matches_its_closed_form(low, high, outcome):
    # CRPS(U(a, b), y) = (b - a) [u³ + (1 - u)³] / 3 with u = (y - a) / (b - a), for y inside [a, b]
    width = high - low
    u = (outcome - low) / width
    exact = width * (u**3 + (1 - u) ** 3) / 3
    grid = low + width * (np.arange(20_000) + 0.5) / 20_000  # a fine, even ensemble of the uniform
    assert crps(grid, outcome) == pytest.approx(exact, rel=1e-3)


def test_crps_of_a_uniform_outside_its_support_adds_the_distance():
    # for y above b: CRPS = y - (a + b) / 2 - (b - a) / 6  (mean absolute error minus half the spread)
    grid = (np.arange(10_000) + 0.5) / 10_000
    assert crps(grid, 3.0) == pytest.approx(3.0 - 0.5 - 1 / 6, rel=1e-3)


@given(st.lists(st.floats(0, 1000), min_size=1, max_size=40), st.floats(0, 1000))
def test_crps_is_between_zero_and_the_mean_absolute_error(samples, outcome):
    value = crps(samples, outcome)
    mean_abs = float(np.mean(np.abs(np.asarray(samples) - outcome)))
    assert -1e-9 <= value <= mean_abs + 1e-9


def test_the_fair_crps_of_small_ensembles_is_unbiased_and_the_plain_one_is_not():
    # ensembles of 5 drawn from U(0, 30), outcome 12: the fair score averages to the uniform's closed form,
    # the plain one overstates it by E|X - X'| / (2n) = (30 / 3) / 10 = 1
    rng = np.random.default_rng(3)
    u = 12.0 / 30.0
    exact = 30.0 * (u**3 + (1 - u) ** 3) / 3
    draws = rng.uniform(0.0, 30.0, (20_000, 5))
    fair = np.mean([crps(d, 12.0, fair=True) for d in draws])
    plain = np.mean([crps(d, 12.0) for d in draws])
    assert fair == pytest.approx(exact, abs=0.05)
    assert plain - exact == pytest.approx(1.0, abs=0.05)


@given(st.lists(st.floats(0, 1000), min_size=2, max_size=40), st.floats(0, 1000))
def test_the_fair_crps_is_between_zero_and_the_plain_one(samples, outcome):
    # the fair score is the mean over distinct pairs of (|x_i - y| + |x_j - y| - |x_i - x_j|) / 2 >= 0
    assert -1e-6 <= crps(samples, outcome, fair=True) <= crps(samples, outcome) + 1e-6


def test_crps_does_not_depend_on_the_ensemble_order():
    samples = [9.0, 1.0, 4.0, 4.0, 30.0]
    assert crps(samples, 6.0) == pytest.approx(crps(sorted(samples), 6.0))


def test_pinball_loss_weighs_each_side_by_its_quantile():
    assert pinball(0.9, 10.0, 20.0) == pytest.approx(9.0)  # under-forecast: q (y - x)
    assert pinball(0.9, 10.0, 0.0) == pytest.approx(1.0)  # over-forecast: (1 - q)(x - y)
    assert pinball(0.5, 10.0, 14.0) == pytest.approx(2.0)  # the median's loss is half the absolute error


def test_empirical_quantile_is_the_first_value_reaching_the_share():
    values = list(range(1, 21))  # 1..20
    assert empirical_quantile(values, 0.05) == 1
    assert empirical_quantile(values, 0.85) == 17
    assert empirical_quantile(values, 0.95) == 19


def test_a_case_is_covered_when_the_outcome_falls_in_the_interval_ends_included():
    samples = list(range(101))
    inside = score_case(samples, 95.0, cap=200)
    assert inside["in_p5_p95"] and not inside["le_p85"]
    below = score_case(samples, 2.0, cap=200)
    assert not below["in_p5_p95"] and below["le_p85"]


def test_unfinished_replications_are_scored_at_the_cap():
    finished = score_case([10.0, None, None, 20.0], 30.0, cap=100.0)
    assert finished["p95"] == 100.0
    assert finished["unfinished_share"] == 0.5
    assert finished["crps"] == pytest.approx(crps([10.0, 100.0, 100.0, 20.0], 30.0, fair=True))
    assert finished["crps_ensemble"] == pytest.approx(crps([10.0, 100.0, 100.0, 20.0], 30.0))


def test_summary_shares_and_means():
    cases = [score_case([1.0, 2.0, 3.0], y, cap=10.0) for y in (2.0, 9.0)]
    summary = summarize_scores(cases)
    assert summary["cases"] == 2
    assert summary["coverage_p5_p95"] == 0.5
    assert summary["mean_crps"] == pytest.approx((cases[0]["crps"] + cases[1]["crps"]) / 2)
    assert summarize_scores([])["mean_crps"] is None
