"""The throughput Monte Carlo beside the model on Forecast, and "how well dorasim forecasts this team" on
Your data (a backtest of the uploaded logs), through ``streamlit.testing.v1.AppTest``."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dorasim_app import charts, limits
from dorasim_app.views.data import BACKTEST_HEADING, backtest_table, backtest_verdict
from dorasim_app.views.forecast import wider_sentence, width_days
from sim.metrics.logs import EventLogs, logs_to_csv_bytes
from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TINY = {"reps": "2", "days": "28", "forecast.reps": "5"}


def open_app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({**TINY, **params})
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def simulated(days: int) -> dict[str, bytes]:
    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml", {"days": days})
    logs = to_logs(simulate(scenario, 1, 0))
    return logs_to_csv_bytes(EventLogs(logs.changes, logs.deployments, logs.incidents))


def upload(at: AppTest, files: dict[str, bytes]) -> AppTest:
    for kind in ("changes", "deployments", "incidents"):
        at.file_uploader(key=f"upload.{kind}").set_value((f"{kind}.csv", files[f"{kind}.csv"], "text/csv"))
    return at.run()


def text_of(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


# ----------------------------------------------------------------------------------------------
# Forecast: the model beside the throughput Monte Carlo


def test_without_logs_forecast_says_the_monte_carlo_needs_them():
    at = open_app(view="forecast")
    assert_clean(at)
    lines = [c.value for c in at.caption if "throughput Monte Carlo" in c.value]
    assert len(lines) == 1 and "needs a team's logs" in lines[0]
    assert not any(
        w.value.startswith("*baseline*") for w in at.warning
    )  # a shipped baseline has no fit caveat


def test_a_calibrated_baseline_forecasts_beside_the_monte_carlo_of_its_logs():
    at = upload(open_app(view="data"), simulated(56))
    at.button(key="data.calibrate").click().run()
    assert_clean(at)
    window = at.session_state["data.calibration"].report["window"]
    at.button(key="data.use-calibrated").click().run()
    at.session_state["view"] = "forecast"
    at.run()
    assert_clean(at)
    # the work starts where the logs end: the model starts from the state they end in
    assert str(at.session_state["forecast.start"]) == window["end"]
    table = next(d.value for d in at.dataframe if "forecast" in d.value.columns)
    assert list(table["forecast"])[1] == "throughput Monte Carlo"
    assert [c for c in table.columns if c.startswith("p")] == ["p5", "p10", "p50", "p85", "p95"]
    text = text_of(at)
    assert f"{window['start']} to {window['end']}" in text  # the Monte Carlo resamples the calibration window
    assert "range is wider" in text or "as wide" in text
    # one chart draws both curves: the model's and the Monte Carlo's chance of being live by each day
    specs = [e.proto.spec for e in at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart")]
    names = [
        {
            row.get("scenario")
            for layer in json.loads(spec).get("layer", [])
            for row in layer.get("data", {}).get("values", [])
        }
        for spec in specs
    ]
    assert any({"throughput Monte Carlo", table["forecast"].iloc[0]} <= found for found in names), names
    # another start: one button brings the work back to where the logs end
    at.date_input(key="forecast.start").set_value(
        dt.date.fromisoformat(window["end"]) - dt.timedelta(days=7)
    ).run()
    assert str(at.session_state["forecast.start"]) != window["end"]
    at.button(key="forecast.from-logs-end").click().run()
    assert_clean(at)
    assert str(at.session_state["forecast.start"]) == window["end"]
    # a link cannot carry a calibrated baseline (its logs stay in the session): the link leaves it out
    link = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert link["view"] == "forecast" and "baseline" not in link


def test_the_fit_caveat_travels_to_forecast_in_one_line():
    # a calibrated scenario brought as a file: its [calibration] section says the data were thin
    text = (
        'extends = "baseline.toml"\nname = "thin team"\n[calibration]\nwindow = "2026-01-05 to 2026-02-02"\n'
        'deployments = 2\noutside_bar = "lead_time_hours"\n'
    )
    at = open_app(view="data")
    at.file_uploader(key="upload.scenario").set_value(("thin.toml", text.encode(), "application/toml")).run()
    at.button(key="data.scenario-base").click().run()
    at.session_state["view"] = "forecast"
    at.run()
    assert_clean(at)
    caveats = [w.value for w in at.warning if "read its numbers as rough" in w.value]
    assert len(caveats) == 1 and "\n" not in caveats[0]
    assert "only 2 deployment(s) in its window" in caveats[0] and "lead_time_hours outside" in caveats[0]
    # no logs came with the file: the Monte Carlo says in one line what it needs
    assert sum("needs a team's logs" in c.value for c in at.caption) == 1


def forecast_result(p5: int | None, p95: int | None, name: str) -> dict:
    return {"scenario": name, "days_p5": p5, "days_p95": p95, "days_p50": None if p5 is None else p5 + 3}


@pytest.mark.parametrize(
    ("model", "anchor", "words"),
    [
        ((10, 20), (5, 40), "Monte Carlo's range is wider"),
        ((5, 60), (10, 30), "model's range is wider"),
        ((5, 25), (10, 30), "as wide"),
        ((5, 25), (10, None), "Monte Carlo's range is wider"),
        ((5, None), (10, 30), "model's range is wider"),
    ],
)
def test_the_wider_range_is_named(model, anchor, words):
    sentence = wider_sentence(forecast_result(*model, "m"), forecast_result(*anchor, "a"))
    assert words in sentence
    assert width_days(forecast_result(*model, "m")) == (None if model[1] is None else model[1] - model[0])


# ----------------------------------------------------------------------------------------------
# Your data: how well dorasim forecasts this team


def summary(model_crps: float, anchor_crps: float, coverage: float, cases: int = 8) -> dict:
    row = {
        "cases": cases,
        "coverage_p5_p95": coverage,
        "coverage_p85": coverage,
        "mean_crps": model_crps,
        "median_width_p5_p95": 10.0,
    }
    return {
        "model": row,
        "throughput": {**row, "mean_crps": anchor_crps, "coverage_p5_p95": 0.5},
        "crps_ratio_model_to_throughput": model_crps / anchor_crps,
    }


@pytest.mark.parametrize(
    ("model", "anchor", "coverage", "words"),
    [
        (4.0, 16.0, 0.875, "dorasim forecasts this team better"),
        (4.0, 16.0, 0.5, "closer on average but overconfident"),
        (10.0, 10.5, 0.9, "about as well as"),
        (20.0, 10.0, 0.9, "The throughput Monte Carlo forecasts this team better"),
    ],
)
def test_the_verdict_follows_crps_and_coverage(model, anchor, coverage, words):
    verdict = backtest_verdict(summary(model, anchor, coverage))
    assert words in verdict
    assert "hint" not in verdict
    assert "hint" in backtest_verdict(summary(model, anchor, coverage, cases=3))


def test_the_table_gives_coverage_and_crps_per_method():
    table = backtest_table(summary(4.0, 16.0, 0.875))
    assert list(table["method"]) == list(charts.BACKTEST_METHODS.values())
    assert list(table["actual inside p5–p95"]) == ["88% (7 of 8)", "50% (4 of 8)"]
    assert list(table["mean CRPS (days)"]) == ["4.0", "16.0"]


def test_too_little_history_is_one_info_and_no_button():
    at = upload(open_app(view="data"), simulated(28))
    assert_clean(at)
    assert BACKTEST_HEADING in [h.value for h in at.subheader]
    infos = [i.value for i in at.info if "Not enough history" in i.value]
    assert len(infos) == 1 and "180 days" in infos[0]
    assert not [b for b in at.button if b.key == "data.backtest-run"]


def backtest_frame(at: AppTest):
    return next((d.value for d in at.dataframe if "mean CRPS (days)" in d.value.columns), None)


def test_a_backtest_of_the_uploaded_logs_scores_both_methods(monkeypatch):
    monkeypatch.setattr(limits, "MAX_BACKTEST_CUTS", 1)  # one cut keeps the test short
    at = upload(open_app(view="data"), simulated(300))
    assert_clean(at)
    assert any("1 cut date" in c.value for c in at.caption)
    at.button(key="data.backtest-run").click().run()
    assert_clean(at)
    result = at.session_state["data.backtest"]["result"]
    assert len({c["cut"] for c in result["cases"]}) == 1
    table = backtest_frame(at)
    assert table is not None
    assert {"actual inside p5–p95", "actual by p85", "mean CRPS (days)"} <= set(table.columns)
    assert any(
        word in text_of(at) for word in ("better than", "as well as", "overconfident", "alone could be")
    )
    # new logs: the old backtest is not shown for them
    upload(at, simulated(28))
    assert backtest_frame(at) is None


def test_the_backtest_reports_each_cut_to_the_progress_bar():
    from dorasim_app import compute
    from sim.analysis.backtest import DEFAULT_WINDOW_DAYS

    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml", {"days": 300})
    frames = to_logs(simulate(scenario, 1, 0))
    logs = EventLogs(frames.changes, frames.deployments, frames.incidents)
    cut = scenario.start + dt.timedelta(days=DEFAULT_WINDOW_DAYS + 10)
    ticks: list[tuple[int, int]] = []
    result = compute.run_backtest(
        logs,
        [cut, cut + dt.timedelta(days=30)],
        1,
        "simulated",
        callback=lambda done, total: ticks.append((done, total)),
    )
    assert ticks[-1] == (2, 2) and [d for d, _ in ticks] == sorted(d for d, _ in ticks)
    assert {case["cut"] for case in result["cases"]} == {
        cut.isoformat(),
        (cut + dt.timedelta(days=30)).isoformat(),
    }


def test_the_backtest_chart_marks_hits_and_misses():
    cases = [
        {
            "cut": "2026-05-01",
            "n": 20,
            "actual_days": 12,
            "model": {"p5": 8, "p50": 11, "p95": 15, "in_p5_p95": True},
            "throughput": {"p5": 2, "p50": 6, "p95": 10, "in_p5_p95": False},
        },
        {"cut": "2026-08-01", "n": 20, "not_judged": "only 3 changes were created after the cut (N = 20)"},
    ]
    rows = charts.backtest_rows(cases)
    assert list(rows["inside"]) == ["inside p5–p95", "missed"]
    spec = charts.backtest_chart(cases).to_dict()  # validates against the Vega-Lite schema
    assert len(spec["layer"]) == 3


def test_the_monte_carlo_keeps_its_colour_in_the_ship_curve():
    from sim.report.specs import SERIES_COLOURS, ship_curve

    curve = [{"date": "2026-03-02", "share": 0.5}]
    spec = charts.with_monte_carlo_colour(
        ship_curve({"team": curve, "throughput Monte Carlo": curve}), "throughput Monte Carlo"
    )
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale["range"] == [SERIES_COLOURS[0], charts.MONTE_CARLO_COLOUR]


def test_cut_dates_are_capped_for_the_hosted_app_as_the_command_line_caps_them(tmp_path):
    import subprocess
    import sys

    from dorasim_app import compute
    from sim.errors import InputError

    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml", {"days": 900})
    logs = to_logs(simulate(scenario, 1, 0))
    cuts, possible = compute.backtest_cuts(EventLogs(logs.changes, logs.deployments, logs.incidents))
    assert possible > limits.MAX_BACKTEST_CUTS == len(cuts)
    assert cuts == sorted(cuts) and (cuts[-1] - cuts[0]).days == 90 * (len(cuts) - 1)  # the latest ones
    with pytest.raises(InputError, match="at most 6"):
        limits.check_logs_for_backtest(logs, limits.MAX_BACKTEST_CUTS + 1)
    # the command the section prints picks the same cut dates
    for name, data in logs_to_csv_bytes(EventLogs(logs.changes, logs.deployments, logs.incidents)).items():
        (tmp_path / name).write_bytes(data)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "backtest",
            "--changes",
            str(tmp_path / "changes.csv"),
            "--deployments",
            str(tmp_path / "deployments.csv"),
            "--incidents",
            str(tmp_path / "incidents.csv"),
            "--max-cuts",
            str(limits.MAX_BACKTEST_CUTS),
            "--method",
            "throughput",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert sorted({case["cut"] for case in json.loads(out.stdout)["cases"]}) == [c.isoformat() for c in cuts]
