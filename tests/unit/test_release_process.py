"""Irregular releases, the release train's state and per-replication parameter draws (sim.model.release_process),
and fitting them to a window's releases (sim.analysis.release_gaps)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis.release_gaps import NS_PER_DAY, fit_gaps, looks_irregular, release_gaps
from sim.model.delivery import simulate
from sim.model.release_process import (
    draw_parameters,
    irregular_opens,
    output_month_factors,
    residual_gap_hours,
)
from sim.model.scenario import Scenario

IRREGULAR = Scenario().with_values(
    {"release.cadence": "irregular", "release.gap_days": 10.0, "release.gap_spread": 0.6}, source="test"
)


def test_an_unconditional_gap_is_the_log_normal_quantile():
    mu, sigma = math.log(240.0), 0.6
    assert residual_gap_hours(mu, sigma, 0.0, 0.5) == pytest.approx(240.0)
    assert residual_gap_hours(mu, sigma, 0.0, 0.9) == pytest.approx(
        stats.lognorm(sigma, scale=240.0).ppf(0.9)
    )


@pytest.mark.parametrize("waited", [24.0, 240.0, 2400.0])
def test_the_running_gap_is_drawn_from_gaps_longer_than_the_wait(waited):
    mu, sigma = math.log(240.0), 0.6
    law = stats.lognorm(sigma, scale=240.0)
    for u in (0.0, 0.3, 0.5, 0.9):
        gap = residual_gap_hours(mu, sigma, waited, u)
        assert gap > waited
        if u > 0 and law.sf(waited) > 1e-6:
            # quantile u of the law conditioned on gap > waited
            assert gap == pytest.approx(law.ppf(law.cdf(waited) + u * law.sf(waited)), rel=1e-6)


def test_irregular_windows_have_the_gap_law_asked_for():
    generator = np.random.default_rng(5)
    opens = irregular_opens(IRREGULAR, generator, total_hours=24 * 20_000, window_start_hours=0.0)
    gaps = np.diff(opens) / 24.0
    assert np.median(gaps) == pytest.approx(10.0, rel=0.05)
    assert np.std(np.log(gaps)) == pytest.approx(0.6, rel=0.05)


def test_a_recorded_state_places_the_last_release_and_delays_the_next():
    state = IRREGULAR.with_values(
        {"release.state_day": 50, "release.days_since_release": 30.0}, source="test"
    )
    for seed in range(20):
        opens = irregular_opens(
            state, np.random.default_rng(seed), total_hours=24 * 200, window_start_hours=24 * 28
        )
        anchor = 24 * (28 + 50 - 30)
        assert anchor in opens
        after = [t for t in opens if t > anchor]
        assert after[0] > 24 * (28 + 50)  # no release between the last one and the state day


def test_no_evidence_draws_nothing_and_evidence_narrows_with_data():
    assert draw_parameters(IRREGULAR, np.random.default_rng(1)) is IRREGULAR

    def medians(n: int) -> np.ndarray:
        scenario = IRREGULAR.with_values({"release.gap_evidence": n}, source="test")
        generator = np.random.default_rng(2)
        return np.array([draw_parameters(scenario, generator).release.gap_days for _ in range(400)])

    few, many = medians(2), medians(200)
    assert np.std(np.log(few)) > 3 * np.std(np.log(many))
    assert np.median(many) == pytest.approx(10.0, rel=0.05)


def test_output_draws_are_centred_and_vary_month_to_month():
    scenario = Scenario().with_values(
        {"team.output_evidence": 10_000, "team.output_spread": 0.5}, source="test"
    )
    generator = np.random.default_rng(3)
    rates = np.array(
        [draw_parameters(scenario, generator).team.changes_per_engineer_per_day for _ in range(2000)]
    )
    assert np.mean(rates) == pytest.approx(scenario.team.changes_per_engineer_per_day, rel=0.01)
    assert np.std(rates) / np.mean(rates) < 0.02  # 10,000 changes pin the mean down
    factors = output_month_factors(scenario, np.random.default_rng(4), 30 * 3000)
    assert len(factors) == 3001
    assert np.mean(factors) == pytest.approx(1.0, rel=0.05)
    assert np.std(factors) == pytest.approx(0.5, rel=0.1)
    assert output_month_factors(Scenario(), np.random.default_rng(4), 90) is None


def test_a_varying_output_makes_the_monthly_counts_overdispersed():
    steady = Scenario().with_values({"days": 900, "team.engineers": 2}, source="test")
    varying = steady.with_values({"team.output_spread": 0.6}, source="test")

    def monthly_cv(scenario: Scenario) -> float:
        created = np.asarray(simulate(scenario, 3, 0).created) / 24.0
        counts = np.bincount((created // 30).astype(int))[1:-1]
        return float(np.std(counts) / np.mean(counts))

    assert monthly_cv(varying) > 2 * monthly_cv(steady)


def test_a_simulated_irregular_team_deploys_at_the_renewal_rate():
    # plenty of work and one deployment a window: deployments per day -> 1 / E[gap] = 1 / (median e^(σ²/2))
    scenario = IRREGULAR.with_values(
        {
            "days": 1500,
            "release.deploy": "automated",
            "release.window_hours": 0.25,
            "quality.defect_rate": 0.0,
            "team.engineers": 4,
        },
        source="test",
    )
    counts = []
    for k in range(3):
        records = simulate(scenario, 7, k)
        start = np.asarray(records.deployments.start)
        counts.append(np.sum((start >= records.window_start) & (start < records.window_end)))
    rate = np.mean(counts) / 1500
    assert rate == pytest.approx(1 / (10.0 * math.exp(0.6**2 / 2)), rel=0.1)


def test_same_day_fix_up_releases_join_the_release_before():
    times = np.array([0, 10, 10.2, 25]) * NS_PER_DAY
    gaps, waited = release_gaps(times, int(30 * NS_PER_DAY))
    assert gaps.tolist() == pytest.approx([10.0, 14.8])
    assert waited == pytest.approx(5.0)


def test_the_gap_fit_recovers_a_log_normal_and_heeds_the_wait():
    sample = stats.lognorm(0.7, scale=20.0).rvs(size=400, random_state=np.random.default_rng(4))
    fit = fit_gaps(sample, 0.0, 3000)
    assert fit.gap_days == pytest.approx(20.0, rel=0.1)
    assert fit.gap_spread == pytest.approx(0.7, rel=0.1)
    few = np.array([10.0, 12.0, 11.0])
    assert fit_gaps(few, 90.0, 180).gap_days > fit_gaps(few, 2.0, 180).gap_days  # a long wait is evidence


def test_thin_data_fall_back_to_the_memoryless_clock_at_the_jeffreys_rate():
    lone = fit_gaps(np.empty(0), 40.0, 180)
    assert lone.law == "exponential" and lone.evidence == 1
    assert lone.gap_days / math.log(2) == pytest.approx(120.0)  # mean gap 180 / (1 + ½)
    one = fit_gaps(np.array([30.0]), 0.0, 180)  # one gap: no spread can be read
    assert one.law == "exponential" and one.gaps == 1 and one.evidence == 2
    assert one.gap_days / math.log(2) == pytest.approx(72.0)  # 180 / (2 + ½)


def test_akaike_chooses_the_law_the_gaps_came_from():
    generator = np.random.default_rng(5)
    narrow = stats.lognorm(0.4, scale=20.0).rvs(size=40, random_state=generator)
    assert fit_gaps(narrow, 5.0, float(narrow.sum()) + 5.0).law == "lognormal"
    memoryless = stats.expon(scale=20.0).rvs(size=40, random_state=generator)
    fit = fit_gaps(memoryless, 5.0, float(memoryless.sum()) + 5.0)
    assert fit.law == "exponential" and "Akaike" in fit.note
    assert fit.gap_days / math.log(2) == pytest.approx(20.0, rel=0.3)


def test_the_exponential_clock_is_memoryless():
    mu = math.log(240.0)
    assert residual_gap_hours(mu, 0.0, 0.0, 0.5, "exponential") == pytest.approx(240.0)  # the median
    for u in (0.1, 0.5, 0.9):
        fresh = residual_gap_hours(mu, 0.0, 0.0, u, "exponential")
        assert residual_gap_hours(mu, 0.0, 1000.0, u, "exponential") == pytest.approx(1000.0 + fresh)


def test_exponential_draws_follow_the_gamma_posterior_of_the_rate():
    scenario = IRREGULAR.with_values(
        {"release.gap_law": "exponential", "release.gap_evidence": 3}, source="test"
    )
    generator = np.random.default_rng(6)
    rates = np.array([1.0 / draw_parameters(scenario, generator).release.gap_days for _ in range(4000)])
    # Gamma(3 + ½) relative to its mean: mean 1 / gap_days, coefficient of variation 1 / sqrt(3.5)
    assert np.mean(rates) * 10.0 == pytest.approx(1.0, rel=0.05)
    assert np.std(rates) / np.mean(rates) == pytest.approx(1 / math.sqrt(3.5), rel=0.1)


def test_what_counts_as_irregular():
    assert looks_irregular(3, 180, None)  # too few to show a pattern
    assert looks_irregular(20, 180, "continuous")  # one release every nine days
    assert not looks_irregular(150, 180, "continuous")  # releases most days
    assert not looks_irregular(40, 180, "daily") and not looks_irregular(20, 180, "weekly")


def test_a_when_ready_team_releases_at_the_rayleigh_rate_of_its_growing_backlog():
    # trunk, fast CI, automated deploys: waiting work grows at r changes a day from each release, so the
    # release hazard h·r·t gives Rayleigh gaps with median sqrt(2 ln 2 / (h r))
    scenario = Scenario().with_values(
        {
            "release.cadence": "when_ready",
            "release.pending_hazard": 0.004,
            "days": 1500,
            "team.engineers": 2,
            "branching.strategy": "trunk",
            "branching.branch_lifetime_days": 0.01,
            "ci.test_suite_minutes": 5.0,
            "ci.flaky_rate": 0.0,
            "release.deploy": "automated",
            "quality.defect_rate": 0.0,
            "release.window_hours": 0.25,
        },
        source="test",
    )
    gaps = []
    for k in range(3):
        records = simulate(scenario, 11, k)
        start = np.sort(np.asarray(records.deployments.start))
        gaps.extend(np.diff(start[start >= records.window_start]) / 24.0)
        rate = len(records.created) / (records.window_end / 24.0)
    expected = math.sqrt(2 * math.log(2) / (0.004 * rate))
    assert np.median(gaps) == pytest.approx(expected, rel=0.15)


def test_the_when_ready_fit_is_releases_over_waiting_change_days():
    from sim.analysis.release_gaps import pending_fit

    day = NS_PER_DAY
    created = np.array([0, 1, 2, 3, 7]) * day
    fit = pending_fit(created, np.array([5 * day]), 0, 10 * day)
    # work made since the last release: 5 + 4 + 3 + 2 change-days before the release, 3 after it; one release
    assert fit.waiting_change_days == pytest.approx(17.0)
    assert fit.per_day == pytest.approx(1 / 17)
    assert fit.log_likelihood == pytest.approx(math.log(4 / 17) - 1)  # four changes waited at the release


@pytest.mark.parametrize(("before", "after"), [("irregular", "weekly"), ("weekly", "when_ready")])
def test_a_plan_moves_a_team_between_release_processes(before, after):
    from sim.model.params import Phase

    scenario = Scenario().with_values(
        {
            "release.cadence": before,
            "release.gap_days": 30.0,
            "release.pending_hazard": 0.01,
            "days": 240,
            "team.engineers": 3,
            "release.deploy": "automated",
            "quality.defect_rate": 0.0,
        },
        source="test",
    )
    phase = Phase(day=60, name="switch", values={"release.cadence": after}, ramp_days=0)
    records = simulate(scenario, 5, 0, (phase,))
    start = np.asarray(records.deployments.start)
    late = start[start >= records.window_start + 24 * 70]
    assert len(late) >= 4  # the new process ships after the switch
    created = np.asarray(records.created)
    first = np.asarray(records.first_deploy_end)
    early = created < records.window_start + 24 * 150
    assert np.isfinite(first[early]).mean() > 0.9  # nothing is stranded by the switch
    if after == "weekly":  # once the changes queued for the old process have shipped: Saturdays only
        days = (start[start >= records.window_start + 24 * 150] // 24).astype(int)
        origin_weekday = records.origin.weekday()
        assert all((origin_weekday + d) % 7 == 5 for d in days)  # Saturday windows only


def test_bursts_keep_the_output_and_the_estimator_reads_their_size_back():
    from sim.analysis.log_facts import change_cluster

    steady = Scenario().with_values(
        {"days": 400, "team.engineers": 4, "simulation.warmup_days": 0, "quality.defect_rate": 0.0},
        source="test",
    )
    bursty = steady.with_values({"team.change_cluster": 4.0}, source="test")
    a, b = simulate(steady, 2, 0), simulate(bursty, 2, 0)
    assert len(b.created) == pytest.approx(len(a.created), rel=0.1)
    origin = int(pd.Timestamp(b.origin, tz="UTC").value)
    ns = origin + (np.asarray(b.created) * 3600e9).astype(np.int64)
    start = origin
    estimate = change_cluster(ns, start, start + 400 * 86_400 * 10**9)
    assert estimate == pytest.approx(4.0, rel=0.25)
    ns = origin + (np.asarray(a.created) * 3600e9).astype(np.int64)
    assert change_cluster(ns, start, start + 400 * 86_400 * 10**9) == pytest.approx(1.0, abs=0.3)
