"""Band cut-offs of DESIGN §3, each boundary on both sides, with ``<`` / ``<=`` / ``>=`` exactly.

The tables are copied from DESIGN §3 here on purpose (not imported from ``sim.metrics.bands``), so a
typo in the code cannot agree with itself.
"""

from __future__ import annotations

import math

import pytest

from sim.errors import InputError
from sim.metrics.bands import band_of, bands_for

# (benchmark, band key, metric key, rule, [cut for elite, high, medium]) straight from DESIGN §3
TABLES = [
    ("2023", "deployment_frequency", "deployment_frequency_per_day", ">=", [1, 1 / 7, 12 / 365]),
    ("2023", "lead_time", "lead_time_hours", "<", [24, 168, 730]),
    ("2023", "change_failure_rate", "change_failure_rate", "<=", [0.05, 0.10, 0.15]),
    ("2023", "time_to_restore", "time_to_restore_hours", "<", [1, 24, 168]),
    ("2021", "deployment_frequency", "deployment_frequency_per_day", ">=", [1, 12 / 365, 2 / 365]),
    ("2021", "lead_time", "lead_time_hours", "<", [1, 168, 4380]),
    ("2021", "change_failure_rate", "change_failure_rate", "<=", [0.15, 0.20, 0.30]),
    ("2021", "time_to_restore", "time_to_restore_hours", "<", [1, 24, 168]),
]
LEVELS = ["elite", "high", "medium", "low"]


def _boundary_cases():
    for year, key, _, rule, cuts in TABLES:
        for level, cut in enumerate(cuts):
            better, worse = LEVELS[level], LEVELS[level + 1]
            if rule == ">=":  # the cut itself passes; just below does not
                cases = [(cut, better), (math.nextafter(cut, -math.inf), worse)]
            elif rule == "<":  # the cut itself fails; just below passes
                cases = [(cut, worse), (math.nextafter(cut, -math.inf), better)]
            else:  # "<=": the cut itself passes; just above fails
                cases = [(cut, better), (math.nextafter(cut, math.inf), worse)]
            for value, band in cases:
                yield pytest.param(year, key, value, band, id=f"{year}-{key}-{value!r}-{band}")


@pytest.mark.parametrize(("year", "key", "value", "band"), list(_boundary_cases()))
def test_each_boundary_on_both_sides(year, key, value, band):
    assert band_of(key, value, year) == band


@pytest.mark.parametrize(
    ("year", "key", "value", "band"),
    [
        ("2023", "deployment_frequency", 4 / 28, "high"),  # one a week, computed as a ratio
        ("2023", "deployment_frequency", 24 / 730, "medium"),  # one a month
        ("2021", "deployment_frequency", 4 / 730, "medium"),  # twice a year: the cut itself passes
        ("2023", "change_failure_rate", 1 / 20, "elite"),
        ("2023", "change_failure_rate", 3 / 20, "medium"),
        ("2021", "change_failure_rate", 6 / 20, "medium"),
        ("2023", "deployment_frequency", 0.0, "low"),
        ("2023", "lead_time", 0.0, "elite"),
        ("2023", "change_failure_rate", 1.0, "low"),
        ("2021", "time_to_restore", 1e6, "low"),
    ],
)
def test_values_computed_as_ratios_land_on_the_documented_side(year, key, value, band):
    assert band_of(key, value, year) == band


@pytest.mark.parametrize(
    "key", ["deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"]
)
def test_no_value_has_no_band(key):
    assert band_of(key, None) is None


def _metrics(df, lt, cfr, ttr):
    return {
        "deployment_frequency_per_day": df,
        "lead_time_hours": lt,
        "change_failure_rate": cfr,
        "time_to_restore_hours": ttr,
        "rework_rate": 0.9,  # never banded
    }


@pytest.mark.parametrize(
    ("metrics", "overall"),
    [
        (_metrics(2.0, 2.0, 0.01, 0.5), "elite"),
        (_metrics(2.0, 2.0, 0.01, 200.0), "low"),  # one low key makes the team low
        (_metrics(0.5, 100.0, 0.01, 0.5), "high"),
        (_metrics(0.5, 500.0, 0.08, 0.5), "medium"),
        (_metrics(0.001, 2.0, 0.01, 0.5), "low"),
    ],
)
def test_overall_is_the_lowest_key_band(metrics, overall):
    bands = bands_for(metrics)
    assert bands["overall"] == overall
    assert set(bands) == {
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "time_to_restore",
        "overall",
    }


def test_overall_is_null_when_no_key_has_a_value():
    assert bands_for(_metrics(None, None, None, None))["overall"] is None


def test_a_key_without_data_does_not_block_overall():
    # no incidents -> no restore time; overall is the lowest of the keys that have a band
    assert bands_for(_metrics(2.0, 2.0, 0.0, None))["overall"] == "elite"
    assert bands_for(_metrics(0.5, 2.0, None, None))["overall"] == "high"


def test_benchmarks_differ_where_the_tables_differ():
    metrics = _metrics(0.1, 0.5, 0.12, 0.5)
    assert bands_for(metrics, "2023")["lead_time"] == "elite"
    assert bands_for(metrics, "2021")["lead_time"] == "elite"
    assert bands_for(metrics, "2023")["change_failure_rate"] == "medium"
    assert bands_for(metrics, "2021")["change_failure_rate"] == "elite"
    assert bands_for(metrics, "2023")["deployment_frequency"] == "medium"  # 0.1 < 1/7
    assert bands_for(metrics, "2021")["deployment_frequency"] == "high"  # 0.1 >= 12/365


@pytest.mark.parametrize("year", ["2022", "latest", ""])
def test_unknown_benchmark_is_an_input_error(year):
    with pytest.raises(InputError, match="choose 2023 or 2021"):
        bands_for(_metrics(1, 1, 0, 1), year)
