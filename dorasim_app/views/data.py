"""Your data: score your own change, deployment and incident logs; calibrate a baseline from them;
or bring a scenario file.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pandas as pd
import streamlit as st

from dorasim_app import compute, limits, state
from dorasim_app.style import METRIC_BAND_KEY, METRIC_LABELS, band_word, pretty_key
from dorasim_app.uploads import MAX_UPLOAD_MB, read_uploaded_logs, read_uploaded_scenario
from dorasim_app.widgets import score_cards
from sim.errors import InputError
from sim.metrics.logs import EventLogs
from sim.metrics.registry import format_metric
from sim.metrics.scoring import score
from sim.model.scenario import scenario_to_toml

KINDS = ("changes", "deployments", "incidents")
PARALLEL_REPS = 8  # calibration simulates 8 replications per parameter set
COLUMNS_HELP = {
    "changes": "`change_id`, `time_created`",
    "deployments": "`deploy_id`, `time_created`, `change_ids` (space-separated), optional `unplanned`",
    "incidents": "`incident_id`, `time_created`, `time_resolved` (empty = open), `deploy_id` (empty = not caused "
                 "by a change)",
}


def calibration_available() -> bool:
    return importlib.util.find_spec("sim.analysis.calibrate") is not None


def logs_from_uploads(uploads: dict[str, Any]) -> tuple[EventLogs | None, str | None]:
    """Validated logs, or the one-line message the CLI would print."""
    try:
        return read_uploaded_logs(uploads["changes"], uploads["deployments"], uploads["incidents"]), None
    except InputError as exc:
        return None, str(exc)


def _use_demo() -> None:
    scenario = state.baseline_scenario()
    window = compute.one_replication(scenario, state.run_settings()["seed"], 0)
    st.session_state["data.logs"] = compute.event_logs(window)
    st.session_state["data.window"] = (window["start"], window["end"])
    st.session_state["data.source"] = f"simulated logs of {scenario.name} (replication 0)"
    st.session_state.pop("data.calibration", None)
    st.session_state.pop("data.signature", None)


def _use_as_baseline(name: str, role: str = "baseline") -> None:
    ss = st.session_state
    ss[f"choice.{role}"] = name
    ss.pop(f"pick.{role}", None)
    if role == "scenario":
        ss["overrides"] = {}
        for key in [k for k in ss if isinstance(k, str) and k.startswith("p.")]:
            del ss[key]
    ss["view"] = "compare"


def upload_logs() -> None:
    st.subheader("1. Score your logs")
    st.markdown("Upload the three CSV files (columns below; extra columns are ignored; timestamps in ISO 8601, "
                f"UTC unless they carry an offset). Files are read as CSV only; at most {MAX_UPLOAD_MB} MB each.")
    uploads = {}
    for column, kind in zip(st.columns(3), KINDS):
        with column:
            uploads[kind] = st.file_uploader(f"{kind}.csv", type=["csv"], key=f"upload.{kind}",
                                             help=f"Required columns: {COLUMNS_HELP[kind]}")
            st.caption(COLUMNS_HELP[kind])
    st.button("No logs at hand? Use simulated baseline logs", on_click=_use_demo)
    if all(uploads.values()):
        logs, error = logs_from_uploads(uploads)
        if error:
            st.error(error)
            st.session_state.pop("data.logs", None)
            return
        signature = tuple((u.name, u.size) for u in uploads.values())
        if st.session_state.get("data.signature") != signature:
            st.session_state.pop("data.calibration", None)
        st.session_state["data.signature"] = signature
        st.session_state["data.logs"] = logs
        st.session_state["data.window"] = None
        st.session_state["data.source"] = ", ".join(u.name for u in uploads.values())
    elif any(uploads.values()):
        missing = [f"{k}.csv" for k, u in uploads.items() if not u]
        st.info(f"Waiting for {' and '.join(missing)}.")


def show_score() -> EventLogs | None:
    logs = st.session_state.get("data.logs")
    if logs is None:
        return None
    start, end = st.session_state.get("data.window") or (None, None)
    result = score(logs.changes, logs.deployments, logs.incidents, start=start, end=end, benchmark=state.benchmark())
    counts = result["counts"]
    st.markdown(f"**{st.session_state.get('data.source', 'your logs')}** — {result['window_days']} days, "
                f"{counts['deployments']} deployments, {counts['changes']} changes "
                f"({counts['undeployed_changes']} not deployed), {counts['incidents']} incidents.")
    score_cards(result)
    for warning in result["warnings"]:
        st.warning(warning)
    return logs


def calibrate_section(logs: EventLogs) -> None:
    st.subheader("2. Calibrate a baseline from them")
    if not calibration_available():
        st.info("Calibration is not available in this version of dorasim.")
        return
    base = state.resolve(st.session_state["choice.baseline"])
    st.markdown(f"Fit the model's parameters to your logs, starting from *{base.name}* for what logs cannot show. "
                f"The result becomes a scenario you can compare and plan with.")
    if st.button("Calibrate", type="primary", key="data.calibrate"):
        calibrate = importlib.import_module("sim.analysis.calibrate").calibrate
        bar = st.progress(0.0, text="Calibrating…")

        def tick(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Calibrating: {done} of at most {total} replications")

        try:
            limits.check_logs_for_calibration(logs)
            result = calibrate(logs, base=base, workers=compute.workers_for(PARALLEL_REPS), callback=tick,
                               benchmark=state.benchmark())
        except InputError as exc:
            st.error(str(exc))
            return
        finally:
            bar.empty()
        st.session_state["data.calibration"] = result
    result = st.session_state.get("data.calibration")
    if result is None:
        return
    report_view(result.report)
    for warning in result.warnings:
        st.warning(warning)
    label = "your team" if result.scenario.name == "calibrated" else result.scenario.name
    name = state.add_custom_scenario(f"{label} (calibrated)", result.scenario)
    left, right = st.columns(2)
    left.button("Use as baseline in Compare and Plan", type="primary", on_click=_use_as_baseline, args=(name,),
                key="data.use-calibrated")
    right.download_button("Download the calibrated scenario (TOML)", result.toml,
                          file_name=f"{result.scenario.name}.toml", mime="application/toml", key="data.download-toml")


def report_view(report: dict[str, Any]) -> None:
    """Observed against simulated metrics, then where every non-default parameter came from."""
    window, fit = report["window"], report["fit"]
    st.markdown(f"**Observed** ({window['start']} to {window['end']}, {window['days']} days) against the "
                f"**calibrated model** (median of {report['reps']} replications).")
    rows = []
    for key, row in report["metrics"].items():
        within = row.get("within_bar")
        rows.append({
            "metric": METRIC_LABELS.get(key, key),
            "observed": format_metric(key, row["observed"]),
            "observed band": band_word(row["observed_band"]) if key in METRIC_BAND_KEY else "—",
            "simulated (median)": format_metric(key, row["simulated_p50"]),
            "simulated p10–p90": f"{format_metric(key, row['simulated_p10'])} – {format_metric(key, row['simulated_p90'])}",
            "simulated band": band_word(row["simulated_band"]) if key in METRIC_BAND_KEY else "—",
            "close enough?": "—" if within is None else ("yes" if within else "no"),
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    params = [{"setting": pretty_key(key), "key": key, "value": str(item["value"]), "from": item["origin"],
               "how": item["note"]}
              for key, item in report["parameters"].items() if item["origin"] != "default"]
    if params:
        st.markdown("**Read from your logs or fitted** (everything else keeps the baseline's value):")
        st.dataframe(pd.DataFrame(params), hide_index=True, width="stretch")
    fitted = ", ".join(pretty_key(k) for k in fit.get("parameters", [])) or "nothing"
    st.caption(f"Fitted {fitted} in {fit.get('evaluations', 0)} simulated parameter sets.")
    for note in report.get("missing", []):
        st.info(note)


def upload_scenario() -> None:
    st.subheader("3. Or bring a scenario file")
    st.markdown("A TOML scenario as in `scenarios/` (it may `extends = \"baseline.toml\"`). It is validated like "
                "the command line validates it.")
    upload = st.file_uploader("scenario.toml", type=["toml"], key="upload.scenario")
    if upload is None:
        return
    try:
        scenario = read_uploaded_scenario(upload, state.SCENARIO_DIR)
    except InputError as exc:
        st.error(str(exc))
        return
    name = state.add_custom_scenario(f"{scenario.name} (uploaded)", scenario)
    st.success(f"{upload.name}: a valid scenario, listed as “{name}”.")
    left, right, third = st.columns(3)
    left.button("Use as baseline", on_click=_use_as_baseline, args=(name, "baseline"), key="data.scenario-base")
    right.button("Use as the scenario to tune", on_click=_use_as_baseline, args=(name, "scenario"),
                 key="data.scenario-tune")
    third.download_button("Download it back, every key written out", scenario_to_toml(scenario),
                          file_name=f"{scenario.name}.toml", key="data.scenario-download")


def render() -> None:
    st.header("Your data")
    st.caption("Score your own team's logs with the same function the simulator uses, turn them into a baseline, "
               "and compare or plan from where you really are.")
    upload_logs()
    logs = show_score()
    if logs is not None:
        calibrate_section(logs)
    upload_scenario()
