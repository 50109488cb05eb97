"""The app through ``streamlit.testing.v1.AppTest``: every view renders, widgets move the numbers,
uploads fail with the CLI's one-line messages, and links round-trip.

Runs are tiny: the link sets 2 replications of 28 days (plans keep their own 90 days at 2 replications).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dorasim_app import state
from sim.errors import InputError
from sim.metrics.logs import EventLogs, logs_to_csv_bytes, read_logs
from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import load_scenario, load_scenario_text

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TINY = {"reps": "2", "days": "28"}
SCENARIOS = sorted(state.scenario_files())
PLANS = sorted(state.plan_files())


def open_app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({**TINY, **params})
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def link_of(at: AppTest) -> dict[str, str]:
    """The URL query string the app wrote (AppTest may hold a value as a string or a list of them)."""
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.fixture(scope="module")
def simulated_csvs() -> dict[str, bytes]:
    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml", {"days": 28})
    logs = to_logs(simulate(scenario, 1, 0))
    return logs_to_csv_bytes(EventLogs(logs.changes, logs.deployments, logs.incidents))


# ----------------------------------------------------------------------------------------------
# Every view


@pytest.mark.parametrize("view", list(state.VIEWS))
def test_every_view_renders(view):
    at = open_app(view=view)
    assert_clean(at)
    assert at.session_state["view"] == view
    assert at.title[0].value.startswith("dorasim")


def test_compare_is_the_landing_view_with_cards_and_band_words():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(TINY)
    at.run()
    assert_clean(at)
    assert at.session_state["view"] == "compare"
    labels = [m.label for m in at.metric]
    assert labels == [
        "Deploy frequency",
        "Lead time",
        "Change failure rate",
        "Time to restore",
        "Rework rate",
    ]
    text = markdown_text(at)
    # baseline is Low overall and elite is Elite; the band is written in words inside its colour
    assert ":red-badge[Low]" in text
    assert ":green-badge[Elite]" in text
    assert all(m.delta for m in at.metric), "every card compares with the baseline"
    assert "What changed" in at.info[0].value
    assert len(at.get("arrow_vega_lite_chart")) + len(at.get("vega_lite_chart")) >= 7


def test_changing_a_slider_and_submitting_changes_the_metrics():
    at = open_app(scenario="small_batch")
    before = metric_values(at)
    slider = at.slider(key="p.quality.defect_rate")
    assert slider.value == pytest.approx(
        load_scenario(ROOT / "scenarios" / "small_batch.toml").quality.defect_rate
    )
    slider.set_value(0.5)
    at.button(key="compare-run").click().run()
    assert_clean(at)
    after = metric_values(at)
    assert after["Change failure rate"] != before["Change failure rate"]
    assert link_of(at)["quality.defect_rate"] == "0.5"
    # the baseline did not move: its caption under the card is unchanged
    assert at.session_state["overrides"] == {"quality.defect_rate": 0.5}


def test_dragging_without_submitting_does_not_rerun_the_model():
    at = open_app(scenario="small_batch")
    before = metric_values(at)
    at.slider(key="p.quality.defect_rate").set_value(0.5)
    at.run()
    assert metric_values(at) == before
    assert at.session_state["overrides"] == {}


def test_reset_restores_the_file_values():
    at = open_app(scenario="small_batch", **{"ci.runners": "6"})
    assert at.slider(key="p.ci.runners").value == 6
    reset = next(b for b in at.button if b.label.startswith("Reset"))
    reset.click().run()
    assert at.slider(key="p.ci.runners").value == 2
    assert "ci.runners" not in link_of(at)


def test_an_invalid_value_is_a_one_line_error_and_the_last_results_stay():
    at = open_app(scenario="baseline")
    before = metric_values(at)
    at.slider(key="p.ci.test_suite_minutes").set_value(0.0)  # the widget allows 0, the model needs > 0
    at.button(key="compare-run").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "tuned values: ci.test_suite_minutes = 0.0: input should be greater than 0"
    ]
    assert metric_values(at) == before
    assert at.session_state["overrides"] == {}


def test_a_malformed_record_of_releases_is_a_one_line_error():
    at = open_app(scenario="baseline")
    at.text_input(key="p.release.recorded_releases").set_value("80, 41.5")
    at.button(key="compare-run").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "\n" not in at.error[0].value
    assert at.error[0].value.startswith("tuned values: release.recorded_releases = '80, 41.5'")


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_shipped_scenario_can_be_picked(name):
    at = open_app(scenario="baseline", baseline="elite")
    at.selectbox(key="pick.scenario").set_value(name).run()
    assert_clean(at)
    assert at.session_state["choice.scenario"] == name
    assert link_of(at)["scenario"] == name
    shipped = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    assert at.selectbox(key="p.release.cadence").value == shipped.release.cadence
    assert len(at.metric) == 5
    at.selectbox(key="pick.baseline").set_value(name).run()
    assert_clean(at)


@pytest.mark.parametrize("name", PLANS)
def test_each_shipped_plan_can_be_picked(name):
    at = open_app(view="plan")
    at.selectbox(key="pick.plan").set_value(name).run()
    assert_clean(at)
    assert at.session_state["choice.plan"] == name
    assert "probability of Elite" in markdown_text(at)
    assert link_of(at)["plan"] == name


def test_a_plan_edit_with_a_typo_is_an_error_and_a_good_edit_is_used():
    at = open_app(view="plan")
    name = at.session_state["choice.plan"]
    text = at.text_area(key=f"plan.text.{name}")
    good = text.value
    text.set_value(good.replace("ramp_days", "ramp_dayz", 1))
    at.button(key="plan.apply").click().run()
    assert not at.exception
    assert at.error and "ramp_dayz" in at.error[0].value
    at.text_area(key=f"plan.text.{name}").set_value(
        good.replace('name = "fast trusted CI"', 'name = "faster CI"')
    )
    at.button(key="plan.apply").click().run()
    assert_clean(at)
    assert any("faster CI" in str(row) for row in at.dataframe[0].value.to_dict("records"))


def test_events_view_offers_the_three_csvs():
    at = open_app(view="events")
    assert_clean(at)
    labels = sorted(b.label for b in at.get("download_button"))
    assert labels == ["Download changes.csv", "Download deployments.csv", "Download incidents.csv"]
    assert len(at.dataframe) == 3


def test_levers_view_runs_a_small_tornado():
    at = open_app(view="levers")
    assert_clean(at)
    assert "moves it most" in markdown_text(at)
    at.multiselect(key="levers.keys").set_value(["ci.runners", "release.deploy"]).run()
    assert_clean(at)
    assert len(at.get("arrow_vega_lite_chart")) + len(at.get("vega_lite_chart")) >= 5
    summary = markdown_text(at).split("moves it most")[0]
    assert "Deploy method" in summary or "CI runners" in summary  # only the chosen levers are ranked
    assert "Engineers" not in markdown_text(at)


def test_learn_view_ends_with_the_assumptions_table():
    at = open_app(view="learn")
    assert_clean(at)
    table, constants = at.dataframe[-2].value, at.dataframe[-1].value
    assert {"parameter", "value", "unit", "source", "citation"} <= set(table.columns)
    assert set(table["source"]) <= {"measured", "published", "assumed"}
    assert "published" in set(table["source"])
    # then the model's fixed constants, each with its unit and source
    assert {"name", "value", "unit", "source", "meaning"} <= set(constants.columns)
    assert "MIN_CAPACITY_FACTOR" in set(constants["name"]) and set(constants["source"]) <= {
        "published",
        "assumed",
    }


# ----------------------------------------------------------------------------------------------
# Uploads


def upload_logs(at: AppTest, files: dict[str, bytes]) -> AppTest:
    for kind in ("changes", "deployments", "incidents"):
        at.file_uploader(key=f"upload.{kind}").set_value((f"{kind}.csv", files[f"{kind}.csv"], "text/csv"))
    return at.run()


def test_good_logs_are_scored_with_bands(simulated_csvs):
    at = upload_logs(open_app(view="data"), simulated_csvs)
    assert_clean(at)
    assert len(at.metric) == 5
    assert ":red-badge[" in markdown_text(at) or ":orange-badge[" in markdown_text(at)


def test_an_upload_is_announced_by_the_uploader_and_a_long_history_offers_its_last_730_days():
    files = {
        "changes.csv": b"change_id,time_created\nC1,2022-01-03T09:00:00Z\nC2,2024-12-02T09:00:00Z\n",
        "deployments.csv": b"deploy_id,time_created,change_ids\nD1,2022-01-04T09:00:00Z,C1\nD2,2024-12-03T09:00:00Z,C2\n",
        "incidents.csv": b"incident_id,time_created,time_resolved,deploy_id\nI1,2022-01-04T10:00:00Z,2024-07-01T10:00:00Z,D1\n",
    }
    at = upload_logs(open_app(view="data"), files)
    assert_clean(at)
    assert any("their scores are in section 2 just below" in s.value for s in at.success)
    headings = [h.value for h in at.subheader]
    assert headings[:5] == [
        "1. Your logs",
        "2. Their scores",
        "3. Calibrate a baseline from them",
        "4. How well dorasim forecasts this team",
        "5. Or bring a scenario file",
    ]
    # one incident resolved two and a half years later: the card's restore time gets a note
    assert any(
        "rests on 1 resolved incident" in c.value and "the longest took" in c.value for c in at.caption
    )
    # no command-line options in the app's warnings
    assert not any("--start" in w.value for w in at.warning)
    # logs longer than the hosted app calibrates: the last 730 days are offered, the whole history is not
    assert at.button(key="data.calibrate").disabled
    assert at.button(key="data.calibrate-recent").label == "Calibrate from the last 730 days"


@pytest.mark.parametrize("broken", ["missing column", "bad timestamp", "resolved before created"])
def test_a_bad_upload_shows_the_clis_one_line_error(simulated_csvs, broken, tmp_path):
    files = dict(simulated_csvs)
    if broken == "missing column":
        files["changes.csv"] = files["changes.csv"].replace(b"time_created", b"created_at", 1)
    elif broken == "bad timestamp":
        lines = files["deployments.csv"].decode().splitlines()
        fields = lines[1].split(",")
        fields[1] = "next tuesday"
        lines[1] = ",".join(fields)
        files["deployments.csv"] = ("\n".join(lines) + "\n").encode()
    else:
        files["incidents.csv"] = (
            b"incident_id,time_created,time_resolved,deploy_id\n"
            b"I1,2026-01-05T10:00:00Z,2026-01-05T09:00:00Z,\n"
        )
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(InputError) as cli:
        read_logs(tmp_path / "changes.csv", tmp_path / "deployments.csv", tmp_path / "incidents.csv")
    at = upload_logs(open_app(view="data"), files)
    assert not at.exception
    assert [e.value for e in at.error] == [str(cli.value).replace(str(tmp_path) + "/", "")]
    assert "\n" not in at.error[0].value
    # the app keeps working: the good files score
    upload_logs(at, simulated_csvs)
    assert_clean(at)


def test_ci_runs_are_an_optional_fourth_upload_checked_like_the_cli(simulated_csvs):
    at = upload_logs(open_app(view="data"), simulated_csvs)
    bad = b"run_id,commit,time_queued\n7,not-a-sha,2026-01-05T10:00:00Z\n"
    at.file_uploader(key="upload.ci_runs").set_value(("ci_runs.csv", bad, "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "ci_runs.csv line 2: commit 'not-a-sha' is not a commit SHA (hexadecimal digits)"
    ]
    good = (
        b"run_id,commit,time_queued,time_started,time_finished,conclusion,attempt\n"
        b"7,abcdef1,2026-01-05T10:00:00Z,2026-01-05T10:01:00Z,2026-01-05T10:21:00Z,success,1\n"
    )
    at.file_uploader(key="upload.ci_runs").set_value(("ci_runs.csv", good, "text/csv")).run()
    assert_clean(at)
    assert len(at.session_state["data.ci_runs"]) == 1


def test_a_scenario_toml_with_a_typo_shows_the_error():
    text = "[ci]\nrunnners = 4\n"
    with pytest.raises(InputError) as cli:
        load_scenario_text(text, "team.toml", ROOT / "scenarios")
    at = open_app(view="data")
    at.file_uploader(key="upload.scenario").set_value(("team.toml", text.encode(), "application/toml")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [str(cli.value)]
    assert "did you mean 'ci.runners'" in at.error[0].value


def test_an_uploaded_scenario_becomes_the_baseline():
    text = 'extends = "baseline.toml"\nname = "my team"\n[ci]\nrunners = 5\n'
    at = open_app(view="data")
    at.file_uploader(key="upload.scenario").set_value(("team.toml", text.encode(), "application/toml")).run()
    assert_clean(at)
    next(b for b in at.button if b.label == "Use as baseline").click().run()
    assert_clean(at)
    assert at.session_state["view"] == "compare"
    assert at.session_state["choice.baseline"] == state.CUSTOM_MARK + "my team (uploaded)"
    assert "my team" in markdown_text(at)


def test_logs_calibrate_into_a_baseline_for_compare_and_plan():
    at = open_app(view="data")
    next(b for b in at.button if b.label.startswith("No logs at hand")).click().run()
    assert_clean(at)
    assert len(at.metric) == 5
    at.button(key="data.calibrate").click().run()
    assert_clean(at)
    observed = at.dataframe[0].value
    assert list(observed["metric"])[:4] == [
        "Deploy frequency",
        "Lead time",
        "Change failure rate",
        "Time to restore",
    ]
    at.button(key="data.use-calibrated").click().run()
    assert_clean(at)
    assert at.session_state["view"] == "compare"
    assert at.session_state["choice.baseline"] == state.CUSTOM_MARK + "your team (calibrated)"
    assert any(
        c.value.startswith(state.CUSTOM_MARK + "your team") for c in at.caption
    ) or "your team" in markdown_text(at)
    at.session_state["view"] = "plan"
    at.run()
    at.toggle(key="plan.from-baseline").set_value(True).run()
    assert_clean(at)
    assert "probability of Elite" in markdown_text(at)


def test_the_score_card_can_count_the_calibration_window(simulated_csvs):
    at = upload_logs(open_app(view="data"), simulated_csvs)
    at.button(key="data.calibrate").click().run()
    assert_clean(at)
    window = at.session_state["data.calibration"].report["window"]
    card_days = lambda: int(re.search(r"— (\d+) days", markdown_text(at)).group(1))  # noqa: E731
    assert (
        card_days() != window["days"]
    )  # uploaded logs: the card's window is the deployments' and incidents'
    assert any("calibration observes" in i.value for i in at.info)
    at.button(key="data.score-calibration-window").click().run()
    assert_clean(at)
    assert card_days() == window["days"]
    assert not any("calibration observes" in i.value for i in at.info)


# ----------------------------------------------------------------------------------------------
# Links


def test_the_query_string_round_trips():
    link = {
        "view": "compare",
        "baseline": "heroics",
        "scenario": "small_batch",
        "reps": "2",
        "seed": "7",
        "days": "28",
        "ci.runners": "5",
        "release.cadence": "weekly",
        "branching.feature_flags": "true",
        "team.overtime": "1.25",
    }
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(link)
    at.run()
    assert_clean(at)
    assert at.slider(key="p.ci.runners").value == 5
    assert at.selectbox(key="p.release.cadence").value == "weekly"
    assert at.toggle(key="p.branching.feature_flags").value is True
    assert at.slider(key="p.team.overtime").value == pytest.approx(1.25)
    assert at.session_state["settings"] == {"reps": 2, "seed": 7, "days": 28}
    assert link_of(at) == link
    # a fresh session opened on the written link shows the same thing
    again = AppTest.from_file(APP, default_timeout=120)
    again.query_params.update(link_of(at))
    again.run()
    assert metric_values(again) == metric_values(at)


def test_a_broken_link_is_ignored_with_a_warning():
    at = open_app(**{"ci.runners": "lots", "view": "nowhere", "colour": "blue"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "view='nowhere'" in warnings and "colour" in warnings and "ci.runners" in warnings
    assert len(at.metric) == 5


def test_share_view_shows_the_cli_command_and_the_toml():
    at = open_app(view="share", scenario="small_batch", **{"ci.runners": "5"})
    assert_clean(at)
    code = " ".join(c.value for c in at.code)
    # the comparison itself, with the tuned scenario as the file to download
    assert "python -m sim compare scenarios/baseline.toml small_batch_tuned.toml" in code
    assert "runners = 5  # tuned in the app" in code
    assert [b.label for b in at.get("download_button")] == ["Download small_batch as tuned (TOML)"]
    assert "small_batch_tuned.toml" in " ".join(c.value for c in at.caption)


def test_a_forecast_link_reopens_its_work_and_dates():
    at = open_app(
        view="forecast",
        scenario="elite",
        **{
            "forecast.changes": "25",
            "forecast.start": "2026-03-02",
            "forecast.target": "2026-03-20",
            "forecast.reps": "10",
        },
    )
    assert_clean(at)
    assert at.session_state["forecast.changes"] == 25
    assert str(at.session_state["forecast.start"]) == "2026-03-02"
    assert "25 changes created from Mon 02 Mar 2026" in " ".join(c.value for c in at.caption)
    link = link_of(at)
    assert link["forecast.start"] == "2026-03-02" and link["forecast.target"] == "2026-03-20"


def test_forecast_starts_on_the_coming_monday_and_says_how_the_spreads_compare():
    import datetime as dt

    from dorasim_app.views.forecast import default_start, spread_sentence

    assert default_start(dt.date(2026, 1, 5), dt.date(2026, 12, 2)) == dt.date(2026, 12, 7)  # a Wednesday
    assert default_start(dt.date(2026, 1, 5), dt.date(2026, 12, 7)) == dt.date(2026, 12, 7)  # a Monday
    assert default_start(dt.date(2027, 2, 1), dt.date(2026, 12, 2)) == dt.date(2027, 2, 1)
    assert "narrows it" in spread_sentence({"baseline": 14, "elite": 0}, "baseline")
    wider = spread_sentence({"baseline": 4, "elite (tuned)": 20}, "baseline")
    assert "narrows" not in wider and "less predictable" in wider


def test_share_view_gives_the_forecast_command_and_a_link_with_its_inputs():
    at = open_app(view="forecast", scenario="elite", reps="4", days="28")
    assert_clean(at)
    at.session_state["view"] = "share"
    at.run()
    assert_clean(at)
    code = " ".join(c.value for c in at.code)
    assert "python -m sim forecast scenarios/elite.toml --changes 40 --start" in code
    assert "forecast.changes=40" in code and "forecast.start=" in code and "forecast.target=" in code


# ----------------------------------------------------------------------------------------------
# Forecast, refinement, reports, the workshop


def test_forecast_view_answers_when_and_how_sure():
    at = open_app(view="forecast")
    assert_clean(at)
    labels = [m.label for m in at.metric]
    assert labels == ["baseline: 85 % sure by", "elite: 85 % sure by"]
    assert all(m.value[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun") for m in at.metric)
    assert "chance of being live by" in markdown_text(at)
    assert "The spread" in markdown_text(at)
    assert link_of(at)["view"] == "forecast"
    assert [b.label for b in at.get("download_button")] == ["Download the report (HTML)"]


def test_forecast_with_a_plan_and_a_bad_target():
    at = open_app(view="forecast")
    at.selectbox(key="forecast.plan").set_value("plan_90_days").run()
    assert_clean(at)
    assert len(at.metric) == 3 and at.metric[2].label.startswith("plan_90_days")
    at.date_input(key="forecast.target").set_value(
        at.session_state["forecast.start"].replace(year=2025)
    ).run()
    assert not at.exception
    assert at.error and "before the work starts" in at.error[0].value


def test_a_new_run_shows_a_first_estimate_then_all_replications(monkeypatch):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"reps": "12", "days": "28", "scenario": "small_batch", "seed": "5"})
    at.run()
    assert_clean(at)
    text = markdown_text(at)
    assert "12 replications" in text and "first estimate" not in text
    assert at.session_state["compute.ready"]


def test_report_builders_make_self_contained_html():
    from dorasim_app.views.compare import compare_report
    from dorasim_app.views.forecast import forecast_report

    baseline = load_scenario(ROOT / "scenarios" / "baseline.toml", {"days": 28})
    elite = load_scenario(ROOT / "scenarios" / "elite.toml", {"days": 28})
    from sim.analysis.runner import run_scenario

    summaries = (run_scenario(baseline, 2, 1, workers=1), run_scenario(elite, 2, 1, workers=1))
    html = compare_report(("baseline", "elite"), (baseline, elite), summaries)()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 5 and "<script" not in html
    at = open_app(view="forecast")
    # the forecast view's own results, as its button would write them
    from dorasim_app import compute

    result = compute.cached_forecast(
        elite.model_dump_json(), "[]", 10, "2026-01-05", 5, 1, "2026-02-02", "elite"
    )
    html = forecast_report([result], {"elite": elite})()
    assert "<svg" in html and "p85" in html and "2026-01-05" in html
    assert_clean(at)


def test_heroics_compare_shows_output_and_hours():
    at = open_app(baseline="baseline", scenario="heroics")
    assert_clean(at)
    text = markdown_text(at)
    assert "60 a week per engineer (baseline: 40)" in text
    assert "changes shipped a week" in text
    assert " stayed from " not in at.info[0].value


def test_workshop_runs_step_by_step():
    at = open_app(view="learn")
    assert_clean(at)
    assert "Step 1 of 6: Diagnose the baseline" in markdown_text(at)
    assert not at.success  # the chart waits for the room's prediction
    at.button(key="learn.run.diagnose").click().run()
    assert_clean(at)
    assert at.success and "waiting" in at.success[0].value
    for _ in range(5):
        at.button(key="learn.next").click().run()
        assert_clean(at)
    assert "Step 6 of 6: Process vs heroics" in markdown_text(at)
    at.button(key="learn.run.heroics").click().run()
    assert_clean(at)
    # the heading states what the chart shows: output up, and how the failure rate and lead time moved
    import re

    heading = next(m.value for m in at.markdown if "changes a week for" in m.value)
    assert re.search(r"change failure rate (rose from|fell from|stayed)", heading), heading
    assert "median lead time" in heading
    assert at.button(key="learn.next").disabled


def test_levers_flag_a_runaway_backlog_and_say_no_cap():
    # three times the baseline's people: a weekly train capped at 40 changes a deployment cannot keep up
    at = open_app(view="levers", scenario="baseline", **{"team.engineers": "24"})
    assert_clean(at)
    at.radio(key="levers.around").set_value("scenario").run()
    at.multiselect(key="levers.keys").set_value(["release.max_batch_size", "ci.runners"]).run()
    assert_clean(at)
    warning = " ".join(w.value for w in at.warning)
    assert "Runaway backlog" in warning and "Most changes per deployment (no cap → 40)" in warning
    assert (
        "moves it most" not in markdown_text(at)
        or "no cap → 40" not in markdown_text(at).split("moves it most")[0]
    )


def test_events_default_to_the_baseline_and_a_readable_span():
    at = open_app(view="events")
    assert at.radio(key="events.which").value == "baseline"
    assert at.session_state["events.span"] == "4 weeks"


def test_the_share_link_opens_the_last_results_view():
    at = open_app(view="plan")
    at.session_state["view"] = "share"
    at.run()
    assert_clean(at)
    link = at.code[0].value
    assert "/?view=plan&" in link
