"""The HTML reports: self-contained (no network), charts inline, settings, spread and assumptions in them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.analysis.plan import load_plan, run_plan
from sim.analysis.runner import run_scenario
from sim.cli import main
from sim.model.scenario import load_scenario, parameter_keys
from sim.report import compare_report, plan_report, specs, write_report

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def assert_self_contained(document: str) -> None:
    assert document.startswith("<!DOCTYPE html>")
    # nothing fetched from elsewhere: no scripts, stylesheets or images by address
    assert not re.search(r'<(script|link|img)\b[^>]*(src|href)\s*=\s*"(https?:)?//', document)
    assert "<script" not in document


@pytest.fixture(scope="module")
def compared():
    scenarios = {
        name: load_scenario(SCENARIOS / f"{name}.toml", {"days": 28}) for name in ("baseline", "elite")
    }
    return [run_scenario(s, 3, 1, workers=1) for s in scenarios.values()], scenarios


def test_compare_report_has_charts_settings_spread_and_assumptions(compared):
    summaries, scenarios = compared
    document = compare_report(summaries, scenarios)
    assert_self_contained(document)
    assert document.count("<svg") == 5  # one chart per metric
    assert "p10–p90" in document
    assert "release.cadence" in document  # a setting that differs, by key
    assert all(key in document for key in parameter_keys())  # the assumptions table
    assert "published" in document and "assumed" in document


def test_an_unstable_run_is_flagged(compared):
    summaries, scenarios = compared
    unstable = [
        dict(
            summaries[0],
            stability={
                "stable": False,
                "unstable_share": 0.9,
                "undeployed_share": 0.4,
                "backlog_growth_per_week": 37.0,
            },
        ),
        summaries[1],
    ]
    document = compare_report(unstable, scenarios)
    assert "baseline is not stable" in document and "37 changes a week" in document


def test_plan_report_draws_weekly_charts_with_phase_marks():
    plan = load_plan(SCENARIOS / "plan_90_days.toml")
    result = run_plan(plan, 2, 1, workers=1)
    document = plan_report([result], {plan.name: plan.scenario})
    assert_self_contained(document)
    assert document.count("<svg") == 6  # P(elite) and five metrics
    assert "fast trusted CI" in document and "J-curve" in document


def test_log_axes_have_named_round_ticks():
    spec = specs.metric_ranges("lead_time_hours", [{"scenario": "a", "p10": 2.0, "p50": 200.0, "p90": 900.0}])
    axis = next(
        layer["encoding"]["x"]["axis"] for layer in spec["layer"] if "axis" in layer["encoding"].get("x", {})
    )
    assert axis["values"] == [1, 6, 24, 168, 730]
    assert "1 week" in axis["labelExpr"] and axis["grid"] is False


def test_cli_compare_and_plan_write_reports(tmp_path, capsys):
    out = tmp_path / "compare.html"
    assert (
        main(
            [
                "compare",
                "baseline",
                "elite",
                "--reps",
                "2",
                "--days",
                "28",
                "--workers",
                "1",
                "--report",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_text(encoding="utf-8").count("<svg") == 5
    plan_out = tmp_path / "plan.html"
    assert main(["plan", "plan_90_days", "--reps", "2", "--workers", "1", "--report", str(plan_out)]) == 0
    assert "<svg" in plan_out.read_text(encoding="utf-8")
    capsys.readouterr()


def test_write_report_refuses_a_non_html_name(tmp_path):
    from sim.errors import InputError

    with pytest.raises(InputError, match="name the file"):
        write_report(tmp_path / "r.pdf", "<!DOCTYPE html>")


@pytest.mark.parametrize(
    "command",
    [
        ["compare", "baseline", "elite"],
        ["plan", "plan_90_days"],
        ["forecast", "baseline", "--changes", "10", "--start", "2026-03-02"],
    ],
)
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/r.html", "does not exist"),
        ("r.txt", "name the file"),
        (".", "name the file"),
    ],
)
def test_a_report_path_that_cannot_work_fails_before_the_run(
    command, where, message, tmp_path, monkeypatch, capsys
):
    import sim.cli.compare
    import sim.cli.forecast
    import sim.cli.plan

    def no_run(*args, **kwargs):
        raise AssertionError("the run started although its report could not be written")

    for module, name in (
        (sim.cli.compare, "run_scenario"),
        (sim.cli.plan, "run_plan"),
        (sim.cli.forecast, "forecast"),
    ):
        monkeypatch.setattr(module, name, no_run)
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--report", where]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and where in err
