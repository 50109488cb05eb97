"""The app's pure helpers: widgets derived from the scenario fields, the link codec, charts and words."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from dorasim_app import charts, limits, state
from dorasim_app.story import describe_changes, explain
from dorasim_app.uploads import NamedBytes, read_uploaded_ci_runs, read_uploaded_logs, read_uploaded_scenario
from dorasim_app.widgets import coerce, widget_label, widget_spec
from sim.analysis.runner import run_scenario
from sim.errors import InputError
from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import get_value, load_scenario, parameter_info, parameter_keys

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {name: load_scenario(path) for name, path in state.scenario_files(ROOT / "scenarios").items()}


@pytest.mark.parametrize("key", parameter_keys())
def test_every_parameter_has_a_widget_that_holds_every_shipped_value(key):
    spec = widget_spec(key)
    info = parameter_info(key)
    for name, scenario in SHIPPED.items():
        value = get_value(scenario, key)
        if spec.kind == "select":
            assert value in spec.options, name
        elif spec.kind == "toggle":
            assert isinstance(value, bool)
        elif spec.kind == "text":
            assert isinstance(value, str)
        else:
            assert spec.min_value <= value <= spec.max_value, (name, value)
    if spec.kind in ("slider", "number"):
        assert spec.max_value <= info["limits"].get("le", spec.max_value)
        cap = limits.cap_of(key)  # the hosted app's cap, where it is below the schema's limit
        assert cap is None or spec.max_value <= cap
        if not spec.is_int:  # a slider never rounds a shipped scenario's value away
            for scenario in SHIPPED.values():
                value = get_value(scenario, key)
                assert abs(value / spec.step - round(value / spec.step)) < 1e-6, (key, value, spec.step)
    assert widget_label(key)


def test_slider_ranges_fit_the_values_people_use():
    flaky = widget_spec("ci.flaky_rate")
    assert flaky.max_value <= 0.5 < parameter_info("ci.flaky_rate")["limits"]["le"]
    assert widget_spec("branching.branch_lifetime_days").step <= 0.05  # elite's 0.15 days stays 0.15
    assert widget_spec("ci.runners", 8).max_value >= 8
    assert widget_spec("ci.runners", 300).max_value >= 300  # a link beyond the usual range widens the slider
    assert widget_spec("team.engineers").max_value < 500


def test_widget_kinds_follow_the_field_types():
    assert widget_spec("branching.feature_flags").kind == "toggle"
    assert widget_spec("release.cadence").options == (
        "continuous",
        "daily",
        "weekly",
        "biweekly",
        "monthly",
        "irregular",
        "when_ready",
    )
    assert widget_spec("team.overtime").kind == "slider"
    assert widget_spec("ci.runners").is_int
    step = widget_spec("branching.conflict_rate").step
    assert step <= 0.001 and round(0.005 / step) * step == pytest.approx(
        0.005
    )  # the default sits on the grid
    assert coerce("ci.runners", 4.0) == 4 and isinstance(coerce("ci.runners", 4.0), int)
    assert coerce("ci.test_suite_minutes", 10) == 10.0 and isinstance(
        coerce("ci.test_suite_minutes", 10), float
    )


def test_link_codec_round_trips_every_value_type():
    link = state.LinkState(
        view="plan",
        baseline="baseline",
        scenario="elite",
        plan="plan_90_days",
        benchmark="2021",
        reps=3,
        seed=11,
        days=28,
        overrides={
            "ci.runners": 5,
            "team.overtime": 1.25,
            "release.cadence": "daily",
            "branching.feature_flags": True,
        },
    )
    again, problems = state.state_from_query(state.query_from_state(link))
    assert problems == []
    assert again == link


def test_link_codec_reports_what_it_ignores():
    link, problems = state.state_from_query(
        {"reps": "0", "seed": "x", "view": "nope", "benchmark": "1999", "colour": "red", "ci.runners": "3"}
    )
    assert link.reps is None and link.seed is None and link.view == state.DEFAULT_VIEW
    assert link.overrides == {"ci.runners": 3}
    assert len(problems) == 5


def test_custom_scenarios_stay_out_of_links():
    link = state.LinkState(baseline=state.CUSTOM_MARK + "my team (calibrated)", scenario="elite")
    assert "baseline" not in state.query_from_state(link)


def test_band_regions_cover_the_axis_in_order():
    regions = charts.band_regions("lead_time_hours", 1.0, 2000.0)
    assert [r["band"] for r in regions] == ["Elite", "High", "Medium", "Low"]
    assert [r["start"] for r in regions] == [1.0, 24.0, 168.0, 730.0]
    assert regions[-1]["end"] == 2000.0
    freq = charts.band_regions("deployment_frequency_per_day", 0.01, 10.0)
    assert [r["band"] for r in freq] == ["Elite", "High", "Medium", "Low"]
    assert freq[0] == {"band": "Elite", "start": 1.0, "end": 10.0}
    assert charts.band_regions("rework_rate", 0, 1) == []
    assert charts.thresholds("change_failure_rate")[0]["label"] == "Elite: ≤ 5.0 %"


def test_charts_build_valid_specs():
    values = {"baseline": [200.0, 250.0, None], "elite": [4.0, 5.0, 0.0]}
    for key in ("lead_time_hours", "change_failure_rate", "deployment_frequency_per_day", "rework_rate"):
        spec = charts.distribution_chart(key, values).to_dict()
        assert spec["layer"]
    breakdown = {"on_branch": 100.0, "ci_queue": 2.0, "release_wait": 50.0, "deploying": 3.0}
    assert charts.waterfall_chart(breakdown, "x").to_dict()
    weeks = [{"week": w, "p10": 10.0 * w, "p50": 20.0 * w, "p90": 30.0 * w} for w in range(1, 5)]
    assert charts.fan_chart(
        {"a": weeks}, "lead_time_hours", phases=[{"week": 2.0, "label": "1", "name": "x"}]
    ).to_dict()
    probabilities = [{"week": w, "band_probabilities": {"elite": w / 4}} for w in range(1, 5)]
    assert charts.probability_chart({"a": probabilities}).to_dict()
    rows = [
        {"key": "CI runners (1 → 8)", "low": 10.0, "high": 4.0, "swing": 6.0},
        {"key": "Deploy method (manual → automated)", "low": 10.0, "high": 9.0, "swing": 1.0},
    ]
    assert charts.tornado_chart(rows, "lead_time_hours", base=9.5).to_dict()
    lines = pd.DataFrame({"n": [1, 2, 3], "risk": [0.1, 0.2, 0.3], "who": ["a"] * 3, "text": ["x"] * 3})
    assert charts.line_chart(
        lines, "n", "risk", "who", x_title="n", y_title="risk", title="t", y_format="%", tooltip_text="text"
    ).to_dict()


def test_timeline_charts_validate_and_keep_to_the_window():
    scenario = SHIPPED["small_batch"].with_values({"days": 14})
    logs = to_logs(simulate(scenario, 1, 0))
    work, deployments, incidents = charts.timeline_charts(
        logs.changes, logs.deployments, logs.incidents, logs.start, logs.end
    )
    for chart in (work, deployments, incidents):
        assert chart.to_dict()
    days = pd.to_datetime(pd.DataFrame(work.data)["time"])
    assert days.min() >= logs.start.floor("D") and days.max() < logs.end
    assert charts.display_height(alt.Chart().properties(height=100)) == 100 + charts.CHART_CHROME_PX


def test_the_explanation_names_the_lever_and_the_mechanism():
    baseline, small = SHIPPED["baseline"], SHIPPED["small_batch"]
    assert (
        describe_changes(baseline, small)
        == "release cadence weekly → daily, most changes per deployment no cap → 10 changes"
    )
    assert describe_changes(baseline, baseline) == "nothing: both use the same settings"
    a = run_scenario(baseline.with_values({"days": 28}), 2, 1, workers=1)
    b = run_scenario(small.with_values({"days": 28}), 2, 1, workers=1)
    text = explain("baseline", baseline, a, "small_batch", small, b)
    assert "release cadence weekly → daily" in text
    assert "changes instead of" in text  # batches shrank: the 1 − (1 − p)ⁿ mechanism is named
    assert "Overall:" in text


def test_upload_size_cap_is_a_one_line_error():
    big = NamedBytes(b"change_id,time_created\n" + b"x" * 2048, "changes.csv")
    small = NamedBytes(b"deploy_id,time_created,change_ids\n", "deployments.csv")
    with pytest.raises(InputError, match=r"^changes\.csv: the file is 0\.0 MB; the limit is 0 MB$"):
        read_uploaded_logs(big, small, small, limit=1024)


def test_uploaded_ci_runs_are_read_or_refused_in_one_line():
    good = NamedBytes(
        b"run_id,commit,time_queued,time_started,time_finished,conclusion,attempt,branch\n"
        b"7,abcdef1,2026-01-05T10:00:00Z,2026-01-05T10:01:00Z,2026-01-05T10:21:00Z,success,1,main\n",
        "ci_runs.csv",
    )
    runs = read_uploaded_ci_runs(good)
    assert runs["branch"].tolist() == ["main"]
    assert runs["conclusion"].tolist() == ["success"]
    bad = NamedBytes(b"run_id,commit\n7,abcdef1\n", "ci_runs.csv")
    with pytest.raises(InputError, match=r"^ci_runs\.csv: no column 'time_queued' for queued"):
        read_uploaded_ci_runs(bad)


def test_uploaded_scenario_resolves_extends_against_the_shipped_files():
    upload = NamedBytes(b'extends = "baseline.toml"\nname = "t"\n[ci]\nrunners = 3\n', "t.toml")
    scenario = read_uploaded_scenario(upload, ROOT / "scenarios")
    assert scenario.ci.runners == 3 and scenario.release.cadence == SHIPPED["baseline"].release.cadence
    with pytest.raises(InputError, match="not UTF-8"):
        read_uploaded_scenario(NamedBytes(b"\xff\xfe", "t.toml"), ROOT / "scenarios")


def test_words_say_stayed_when_the_numbers_read_the_same():
    from dorasim_app.story import movement

    assert movement("lead_time_hours", 242.0, 242.4) == "stayed at 10.1 days"
    assert movement("change_failure_rate", 0.538, 0.5381) == "stayed at 53.8 %"
    assert movement("lead_time_hours", 240.0, 243.0).startswith("stayed about the same")
    assert movement("lead_time_hours", 240.0, 12.0) == "fell from 10.0 days to 12.0 h"


def test_card_deltas_say_no_change_and_colour_better_or_worse():
    from dorasim_app.widgets import card_delta

    assert card_delta("deployment_frequency_per_day", 0.3001, 0.3) == ("no change", "off", "off")
    text, colour, _ = card_delta("lead_time_hours", 4.0, 240.0)
    assert text.startswith("-") and colour == "green"  # shorter lead time: better, arrow down
    text, colour, _ = card_delta("time_to_restore_hours", 20.0, 19.0)
    assert text.startswith("+") and colour == "red"
    assert card_delta("change_failure_rate", 0.45, 0.37)[0] == "+8.0 pts"  # percentage points, not %


def test_heroics_shows_its_extra_output_and_its_cost_in_hours():
    from dorasim_app.story import effort, explain

    baseline, heroics = SHIPPED["baseline"], SHIPPED["heroics"]
    a = run_scenario(baseline.with_values({"days": 28}), 2, 1, workers=1)
    b = run_scenario(heroics.with_values({"days": 28}), 2, 1, workers=1)
    text = effort("baseline", baseline, a, "heroics", heroics, b)
    assert "60 a week per engineer (baseline: 40)" in text
    assert f"+{8 * 20:.0f} team hours every week of overtime" in text
    assert "changes shipped a week (+" in text
    why = explain("baseline", baseline, a, "heroics", heroics, b)
    assert "Working 60 hours a week instead of 40 ships" in why
    assert "from 10.1 days to 10.1 days" not in why and " stayed from " not in why


def test_share_links_have_a_slash_before_the_query():
    from dorasim_app.views.share import link_base

    assert link_base("http://127.0.0.1:8501") == "http://127.0.0.1:8501/"
    assert link_base("http://127.0.0.1:8501/?view=share") == "http://127.0.0.1:8501/"
    assert link_base("https://host/apps/dorasim/") == "https://host/apps/dorasim/"
    assert link_base(None) == "http://127.0.0.1:8501/"


def test_distribution_ticks_use_scenario_colours_not_band_colours():
    spec = charts.distribution_chart(
        "lead_time_hours", {"baseline": [240.0, 250.0], "elite": [4.0, 5.0]}
    ).to_dict()
    assert spec["resolve"]["scale"]["color"] == "independent"
    ticks = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "tick")
    assert ticks["encoding"]["color"]["scale"]["range"] == list(charts.SCENARIO_COLOURS)


# ----------------------------------------------------------------------------------------------
# What the workshop reads off deployments


def test_fit_change_risk_recovers_the_risk_of_simulated_releases():
    import numpy as np

    from dorasim_app.lessons import fit_change_risk

    rng = np.random.default_rng(7)
    for p in (0.01, 0.05, 0.2):
        sizes = rng.integers(1, 60, 4000)
        failed = rng.random(4000) < 1 - (1 - p) ** sizes
        assert abs(fit_change_risk(sizes, failed) - p) < 0.25 * p
    assert fit_change_risk([], []) is None
    assert fit_change_risk([3, 5], [False, False]) == 0.0
    assert fit_change_risk([3, 5], [True, True]) == 1.0


def test_deployment_outcomes_and_size_groups():
    import pandas as pd

    from dorasim_app.lessons import deployment_outcomes, release_facts, size_groups

    deployments = pd.DataFrame(
        {
            "deploy_id": ["D1", "D2", "D3", "D4"],
            "change_ids": ["a b c", "d", "", "e f g h i"],
            "unplanned": [False, True, False, False],
        }
    )
    incidents = pd.DataFrame({"deploy_id": ["D1", None, "D4"]})
    out = deployment_outcomes(deployments, incidents)
    assert out["size"].tolist() == [3, 1, 0, 5]
    assert out["failed"].tolist() == [True, False, False, True]
    assert out["hotfix"].tolist() == [False, True, False, False]
    groups = size_groups(out)
    assert groups["bin"].tolist() == ["1", "2–3", "4–7"]  # a deployment of no change is in no group
    assert groups["count"].tolist() == [1, 1, 1]
    facts = release_facts(out, weeks=2.0)
    assert facts["hotfixes_per_week"] == 0.5
    assert facts["size"] == (3 + 0 + 5) / 3
    assert facts["failed"] == 2 / 3


def test_the_output_sentence_names_only_what_differs():
    from dorasim_app.story import output_sentence
    from sim.model.catalog import shipped_path
    from sim.model.scenario import load_scenario

    base = load_scenario(shipped_path("baseline"))
    one = base.with_values({"team.engineers": 1}, source="test")
    longer = base.with_values({"team.overtime": 1.5}, source="test")
    summary = {"shipped_per_week": 2.0}
    # a calibrated one-engineer team against a team of eight: people, not hours, and no absurd percentage
    text = output_sentence(one, summary, base, {"shipped_per_week": 300.0})
    assert text.startswith("8 engineers instead of 1 ship 150 times as many changes a week")
    assert "hours" not in text
    assert output_sentence(base, summary, longer, {"shipped_per_week": 2.5}).startswith(
        "Working 60 hours a week instead of 40 ships 25% more changes a week — the process"
    )
    assert output_sentence(base, summary, base, summary) is None


def test_last_days_keeps_the_recent_window_and_the_changes_it_ships():
    import pandas as pd

    from dorasim_app.trim import last_days
    from sim.metrics.logs import EventLogs

    t = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    changes = pd.DataFrame(
        {
            "change_id": ["old", "shipped_late", "new"],
            "time_created": [t("2020-01-01"), t("2020-02-01"), t("2023-12-20")],
        }
    )
    deployments = pd.DataFrame(
        {
            "deploy_id": ["D1", "D2"],
            "time_created": [t("2020-01-02"), t("2024-01-01")],
            "change_ids": ["old", "shipped_late new"],
            "unplanned": [False, False],
        }
    )
    incidents = pd.DataFrame(
        {
            "incident_id": ["I1"],
            "time_created": [t("2020-01-03")],
            "time_resolved": [t("2022-07-01")],
            "deploy_id": ["D1"],
        }
    )
    recent = last_days(EventLogs(changes, deployments, incidents), 730)
    assert recent.deployments["deploy_id"].tolist() == ["D2"]
    assert recent.incidents.empty
    assert sorted(recent.changes["change_id"]) == ["new", "shipped_late"]


def test_warnings_in_the_apps_words_and_a_note_on_a_long_restore():
    import pandas as pd

    from dorasim_app.trim import friendly_warning, restore_note

    text = friendly_warning(
        "lead_time_hours: simulated p50 9118 vs observed 212.5 is outside the calibration bar"
    )
    assert "lead_time_hours" not in text and "379.9 days" in text and "8.9 days" in text
    assert "--start" not in friendly_warning("window inferred (9 days); set it with --start/--end")
    t = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    incidents = pd.DataFrame(
        {
            "incident_id": ["I1"],
            "time_created": [t("2020-01-03")],
            "time_resolved": [t("2022-07-01")],
            "deploy_id": ["D1"],
        }
    )
    note = restore_note(incidents)
    assert note.startswith("Time to restore rests on 1 resolved incident;") and "the longest took" in note
