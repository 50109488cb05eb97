"""Your data: score your own change, deployment and incident logs — uploaded as CSV or imported from
the saved API responses of GitHub or GitLab and an incident tool's export (docs/import.md) — under
the dorasim, Four Keys or DevLake convention (docs/conventions.md); calibrate a baseline from them;
or bring a scenario file.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pandas as pd
import streamlit as st

from dorasim_app import charts, compute, limits, state
from dorasim_app.style import METRIC_BAND_KEY, METRIC_LABELS, band_word, pretty_key
from dorasim_app.trim import friendly_warning, last_days, restore_note
from dorasim_app.uploads import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_MB,
    check_size,
    read_uploaded_ci_runs,
    read_uploaded_logs,
    read_uploaded_scenario,
)
from dorasim_app.widgets import score_cards
from sim.errors import InputError
from sim.importers import github, gitlab
from sim.importers.files import check_logs, zip_source
from sim.importers.incidents import FORMATS, link_incidents, parse_map, read_incidents
from sim.importers.report import ImportReport
from sim.metrics.conventions import CHOICES, CONVENTIONS, LABELS, score_convention
from sim.metrics.logs import EventLogs, make_logs
from sim.metrics.registry import METRICS, format_metric
from sim.metrics.teams import pooled_window
from sim.model.scenario import scenario_to_toml

KINDS = ("changes", "deployments", "incidents")
PARALLEL_REPS = 8  # calibration simulates 8 replications per parameter set
COLUMNS_HELP = {
    "changes": "`change_id`, `time_created`",
    "deployments": "`deploy_id`, `time_created`, `change_ids` (space-separated), optional `unplanned`",
    "incidents": "`incident_id`, `time_created`, `time_resolved` (empty = open), `deploy_id` (empty = not caused "
    "by a change)",
}

CI_COLUMNS_HELP = (
    "`run_id`, `commit`, `time_queued`, `time_started`, `time_finished`, `conclusion`, `attempt` "
    "(the file `import` writes)"
)


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
    st.session_state.pop("data.report", None)


def _use_as_baseline(name: str, role: str = "baseline") -> None:
    ss = st.session_state
    ss[f"choice.{role}"] = name
    ss.pop(f"pick.{role}", None)
    if role == "scenario":
        ss["overrides"] = {}
        for key in [k for k in ss if isinstance(k, str) and k.startswith("p.")]:
            del ss[key]
    ss["view"] = "compare"


def _read_ci_runs(upload: Any) -> None:
    """Keep the uploaded CI runs for calibration (their suite, flaky rate and runners), or say what is wrong."""
    if upload is None:
        st.session_state.pop("data.ci_runs", None)
        return
    try:
        st.session_state["data.ci_runs"] = read_uploaded_ci_runs(upload)
    except InputError as exc:
        st.session_state.pop("data.ci_runs", None)
        st.error(str(exc))


def upload_logs() -> None:
    st.markdown(
        "Upload the three CSV files (columns below; extra columns are ignored; timestamps in ISO 8601, "
        f"UTC unless they carry an offset). Files are read as CSV only; at most {MAX_UPLOAD_MB} MB each."
    )
    uploads = {}
    for column, kind in zip(st.columns(3), KINDS):
        with column:
            uploads[kind] = st.file_uploader(
                f"{kind}.csv",
                type=["csv"],
                key=f"upload.{kind}",
                help=f"Required columns: {COLUMNS_HELP[kind]}",
            )
            st.caption(COLUMNS_HELP[kind])
    ci_upload = st.file_uploader(
        "ci_runs.csv (optional)",
        type=["csv"],
        key="upload.ci_runs",
        help=f"CI runs, for the CI parameters of a calibration: {CI_COLUMNS_HELP}",
    )
    _read_ci_runs(ci_upload)
    st.button("No logs at hand? Use simulated baseline logs", on_click=_use_demo)
    files = [u for u in uploads.values() if u is not None]
    if len(files) == len(KINDS):
        logs, error = logs_from_uploads(uploads)
        if error or logs is None:
            st.error(error)
            st.session_state.pop("data.logs", None)
            return
        signature = tuple((u.name, u.size) for u in files)
        if st.session_state.get("data.signature") != signature:
            st.session_state.pop("data.calibration", None)
            st.session_state.pop("data.report", None)
            st.session_state["data.window"] = None
        st.session_state["data.signature"] = signature
        st.session_state["data.logs"] = logs
        st.session_state["data.source"] = ", ".join(u.name for u in files)
        st.success(
            f"Read {len(logs.changes)} changes, {len(logs.deployments)} deployments and "
            f"{len(logs.incidents)} incidents: their scores are in section 2 just below.",
            icon=":material/arrow_downward:",
        )
    elif any(uploads.values()):
        missing = [f"{k}.csv" for k, u in uploads.items() if not u]
        st.info(f"Waiting for {' and '.join(missing)}.")


# ---------------------------------------------------------------------------------------------
# Importing from GitHub, GitLab and incident tools (uploads only: the app never reads a server path)


def _payload(upload: Any) -> tuple[str, bytes]:
    name = str(getattr(upload, "name", "<upload>"))
    data = upload.getvalue()
    check_size(name, len(data), MAX_UPLOAD_BYTES)
    return name, data


def import_from_uploads(
    source: str, archive: Any, incidents: Any, incident_format: str, column_map: str, environment: str
) -> tuple[EventLogs, ImportReport]:
    """Import one provider's zipped API responses and an optional incident export, all in memory."""
    records = []
    if incidents is not None:
        incident_name, incident_data = _payload(incidents)
        records = read_incidents(incident_data, incident_name, incident_format, parse_map(column_map))
    module: Any = github if source == "github" else gitlab
    name, data = _payload(archive)
    files = zip_source(data, name, module.MARKERS, MAX_UPLOAD_BYTES)
    run = github.import_github if source == "github" else gitlab.import_gitlab
    logs, report = run(files, environment=environment or "production", extra_incidents=records)
    check_logs(logs)  # as the CLI: never logs that scoring would refuse
    report.written = {
        "changes": len(logs.changes),
        "deployments": len(logs.deployments),
        "incidents": len(logs.incidents),
    }
    return logs, report


def link_uploaded_incidents(
    logs: EventLogs, incidents: Any, incident_format: str, column_map: str
) -> tuple[EventLogs, ImportReport]:
    """Replace the loaded logs' incidents by an incident export, linked to their deployments."""
    report = ImportReport(incident_format)
    name, data = _payload(incidents)
    records = read_incidents(data, name, incident_format, parse_map(column_map))
    rows = link_incidents(records, logs.deployments, report)
    linked = make_logs(logs.changes.iloc[:0], logs.deployments.iloc[:0], rows).incidents
    check_logs(EventLogs(logs.changes, logs.deployments, linked))
    report.written = {
        "changes": len(logs.changes),
        "deployments": len(logs.deployments),
        "incidents": len(linked),
    }
    return EventLogs(logs.changes, logs.deployments, linked), report


def _loaded(logs: EventLogs, report: ImportReport, source: str) -> None:
    ss = st.session_state
    ss["data.logs"], ss["data.report"], ss["data.source"] = logs, report.to_dict(), source
    ss["data.window"] = None
    ss.pop("data.calibration", None)
    ss.pop("data.signature", None)


def import_section() -> None:
    st.markdown(
        "Upload the API responses saved by `python -m sim import github|gitlab --repo … --out DIR` "
        "(the `raw` folder, zipped) or saved by hand in the same layout (docs/import.md), and optionally a "
        "PagerDuty, Opsgenie or CSV incident export. Files are read in memory, at most "
        f"{MAX_UPLOAD_MB} MB each."
    )
    left, right = st.columns(2)
    with left:
        source = st.radio(
            "Source",
            ["github", "gitlab"],
            format_func={"github": "GitHub", "gitlab": "GitLab"}.get,
            horizontal=True,
            key="import.source",
        )
        archive = st.file_uploader("Saved API responses (.zip)", type=["zip"], key="import.archive")
        environment = st.text_input("Production environment", "production", key="import.environment")
    with right:
        incidents = st.file_uploader(
            "Incident export (optional)", type=["json", "csv"], key="import.incidents"
        )
        incident_format = st.selectbox("Incident export format", FORMATS, key="import.format")
        column_map = st.text_input(
            "Column map (CSV) or fields (JSON)",
            key="import.map",
            placeholder="created=Opened,resolved=Closed,deploy=Service Deploy",
        )
    first, second = st.columns(2)
    if first.button("Import", type="primary", disabled=archive is None, key="import.run"):
        try:
            logs, report = import_from_uploads(
                source, archive, incidents, incident_format, column_map, environment
            )
        except InputError as exc:
            st.error(str(exc))
        else:
            _loaded(logs, report, f"{archive.name} ({source})" if archive is not None else source)
            st.success(
                f"Imported {len(logs.changes)} changes, {len(logs.deployments)} deployments and "
                f"{len(logs.incidents)} incidents: their scores are in section 2 just below.",
                icon=":material/arrow_downward:",
            )
    current = st.session_state.get("data.logs")
    if (
        second.button(
            "Link the incident export to the logs above",
            disabled=incidents is None or current is None,
            key="import.link",
        )
        and incidents is not None
        and current is not None
    ):
        try:
            logs, report = link_uploaded_incidents(current, incidents, incident_format, column_map)
        except InputError as exc:
            st.error(str(exc))
        else:
            _loaded(logs, report, f"{st.session_state.get('data.source', 'your logs')} + {incidents.name}")


def report_summary(report: dict[str, Any]) -> None:
    """What the import read, wrote and skipped, and how incidents were linked."""
    written = report.get("written", {})
    read = ", ".join(f"{n} {what}" for what, n in report.get("read", {}).items()) or "nothing"
    st.markdown(
        f"**Imported** from {report['source']}: {written.get('deployments', 0)} deployments, "
        f"{written.get('changes', 0)} changes, {written.get('incidents', 0)} incidents (read {read})."
    )
    skipped = report.get("skipped", [])
    if skipped:
        st.markdown("**Skipped**, and why:")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "what": e["what"],
                        "why": e["reason"],
                        "count": e["count"],
                        "for example": ", ".join(map(str, e["examples"][:3])),
                    }
                    for e in skipped
                ]
            ),
            hide_index=True,
            width="stretch",
            key="import.skipped",
        )
    links = report.get("incident_links", {}).get("incidents")
    if links:
        st.caption(
            f"Incidents linked by id {links['by_id']}, by root cause {links['by_root_cause']}, by rule "
            f"{links['by_rule']} ({links['rule']}); unlinked {links['unlinked']}."
        )
    for note in report.get("notes", []):
        st.info(note)


# ---------------------------------------------------------------------------------------------
# Scoring: convention and window


def _window_inputs(logs: EventLogs) -> tuple[Any, Any]:
    start, end = st.session_state.get("data.window") or (None, None)
    if not st.toggle("Choose the scoring window", key="data.window-toggle"):
        return start, end
    default_start, default_end = pooled_window(logs, start, end)
    if default_start is None:
        return start, end
    left, right = st.columns(2)
    chosen_start = left.date_input(
        "Start (UTC, first day counted)", pd.Timestamp(default_start).date(), key="data.start"
    )
    chosen_end = right.date_input(
        "End (UTC, first day not counted)", pd.Timestamp(default_end).date(), key="data.end"
    )
    if chosen_end <= chosen_start:
        raise InputError(f"window: end {chosen_end} must be after start {chosen_start}")
    return chosen_start, chosen_end


def conventions_frame(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for m in METRICS:
        row = {"metric": m.label}
        for name in CONVENTIONS:
            value = format_metric(m.key, results[name]["metrics"].get(m.key))
            band = results[name]["bands"].get(m.band_key) if m.band_key else None
            row[LABELS[name]] = f"{value} ({band_word(band)})" if band else value
        rows.append(row)
    rows.append(
        {
            "metric": "Overall",
            **{LABELS[n]: band_word(results[n]["bands"].get("overall")) for n in CONVENTIONS},
        }
    )
    return pd.DataFrame(rows)


def show_score() -> EventLogs | None:
    logs = st.session_state.get("data.logs")
    st.subheader("2. Their scores")
    if logs is None:
        st.caption("Upload or import logs above — or use the simulated baseline logs — to score them here.")
        return None
    report = st.session_state.get("data.report")
    if report:
        report_summary(report)
    convention = st.selectbox(
        "Convention",
        CHOICES,
        key="data.convention",
        format_func=lambda c: "all three side by side" if c == "all" else LABELS[c],
        help="Score as dorasim defines each metric, or as Four Keys or Apache DevLake do "
        "(docs/conventions.md lists every difference).",
    )
    start, end = _window_inputs(logs)
    st.session_state["data.scored-window"] = pooled_window(logs, start, end)
    result = score_convention(
        logs.changes,
        logs.deployments,
        logs.incidents,
        convention=convention,
        start=start,
        end=end,
        benchmark=state.benchmark(),
    )
    first = result["dora"] if convention == "all" else result
    counts = first["counts"]
    st.markdown(
        f"**{st.session_state.get('data.source', 'your logs')}** — {first['window_days']} days, "
        f"{counts['deployments']} deployments, {counts['changes']} changes "
        f"({counts['undeployed_changes']} not deployed), {counts['incidents']} incidents."
    )
    if convention == "all":
        st.dataframe(conventions_frame(result), hide_index=True, width="stretch", key="data.conventions")
        warnings = [w for name in CONVENTIONS for w in result[name]["warnings"]]
    else:
        score_cards(result)
        details = result.get("details", {})
        label = details.get("deployment_frequency_label")
        if label:
            st.caption(
                f"{LABELS[convention]} would label the deployment frequency “{label}” "
                f"(median {details['deployment_days_per_week_median']:g} deployment days a week)."
            )
        warnings = result["warnings"]
        note = restore_note(logs.incidents, *(st.session_state.get("data.scored-window") or (None, None)))
        if note:
            st.caption(note)
    for warning in dict.fromkeys(warnings):
        st.warning(friendly_warning(warning))
    return logs


def calibrate_section(logs: EventLogs) -> None:
    st.subheader("3. Calibrate a baseline from them")
    if not calibration_available():
        st.info("Calibration is not available in this version of dorasim.")
        return
    base = state.resolve(st.session_state["choice.baseline"])
    st.markdown(
        f"Fit the model's parameters to your logs, starting from *{base.name}* for what logs cannot show. "
        f"The result becomes a scenario you can compare and plan with."
    )
    long_logs = _too_long(logs)
    recent = False
    if long_logs:
        st.info(
            f"{long_logs} The app can calibrate from the last {limits.MAX_DAYS} days of them (the command line "
            f"takes the whole history)."
        )
        recent = st.button(
            f"Calibrate from the last {limits.MAX_DAYS} days", type="primary", key="data.calibrate-recent"
        )
    if recent or st.button("Calibrate", type="primary", key="data.calibrate", disabled=bool(long_logs)):
        if recent:
            logs = last_days(logs, limits.MAX_DAYS)
        calibrate = importlib.import_module("sim.analysis.calibrate").calibrate
        bar = st.progress(0.0, text="Calibrating…")

        def tick(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Calibrating: {done} of at most {total} replications")

        try:
            limits.check_logs_for_calibration(logs)
            result = calibrate(
                logs,
                base=base,
                workers=compute.workers_for(PARALLEL_REPS),
                callback=tick,
                benchmark=state.benchmark(),
                ci_runs=st.session_state.get("data.ci_runs"),
            )
        except InputError as exc:
            st.error(str(exc))
            return
        finally:
            bar.empty()
        st.session_state["data.calibration"] = result
        st.session_state["data.calibration-logs"] = logs
    result = st.session_state.get("data.calibration")
    if result is None:
        return
    report_view(result.report)
    window_note(result.report["window"])
    for warning in result.warnings:
        st.warning(friendly_warning(warning))
    label = "your team" if result.scenario.name == "calibrated" else result.scenario.name
    name = state.add_custom_scenario(f"{label} (calibrated)", result.scenario)
    if st.session_state.get("data.calibration-logs") is not None:
        state.remember_calibration_logs(
            name,
            st.session_state["data.calibration-logs"],
            (result.report["window"]["start"], result.report["window"]["end"]),
        )
    within = [
        row.get("within_bar")
        for row in result.report["metrics"].values()
        if row.get("within_bar") is not None
    ]
    close = bool(within) and any(within)
    if not close:
        st.warning(
            "No metric came close enough to what your logs show: a baseline from this fit would not look "
            "like your team. Look at the table above — a wider window, more incidents or another "
            "starting scenario may fit better."
        )
    left, right = st.columns(2)
    left.button(
        "Use as baseline in Compare and Plan",
        type="primary" if close else "secondary",
        on_click=_use_as_baseline,
        args=(name,),
        key="data.use-calibrated",
    )
    right.download_button(
        "Download the calibrated scenario (TOML)",
        result.toml,
        file_name=f"{result.scenario.name}.toml",
        mime="application/toml",
        key="data.download-toml",
    )


def _too_long(logs: EventLogs) -> str | None:
    """Why the hosted app would refuse to calibrate from these logs as they are (None: it will not)."""
    try:
        limits.check_logs_for_calibration(logs)
    except InputError as exc:
        if "span" in str(exc):
            return str(exc).split(";")[0][:1].upper() + str(exc).split(";")[0][1:] + "."
    return None


def _score_over(start: str, end: str) -> None:
    ss = st.session_state
    ss["data.window"] = (start, end)
    ss["data.window-toggle"] = False
    ss.pop("data.start", None)
    ss.pop("data.end", None)


def window_note(window: dict[str, Any]) -> None:
    """Say so when the calibration's observed figures come from another window than the score card's."""
    scored = st.session_state.get("data.scored-window") or (None, None)
    if scored[0] is None:
        return
    scored_start, scored_end = (pd.Timestamp(t).date().isoformat() for t in scored)
    if (scored_start, scored_end) == (window["start"], window["end"]):
        return
    st.info(
        f"The score card above counts {scored_start} to {scored_end} (end exclusive); calibration observes "
        f"{window['start']} to {window['end']}, the days in which your logs hold every change made and that "
        f"end before a quiet weekend, so its observed figures can differ from the card's."
    )
    st.button(
        "Score the card over the calibration's window",
        on_click=_score_over,
        args=(window["start"], window["end"]),
        key="data.score-calibration-window",
    )


def report_view(report: dict[str, Any]) -> None:
    """Observed against simulated metrics, then where every non-default parameter came from."""
    window, fit = report["window"], report["fit"]
    st.markdown(
        f"**Observed** ({window['start']} to {window['end']}, {window['days']} days) against the "
        f"**calibrated model** (median of {report['reps']} replications)."
    )
    rows = []
    for key, row in report["metrics"].items():
        within = row.get("within_bar")
        rows.append(
            {
                "metric": METRIC_LABELS.get(key, key),
                "observed": format_metric(key, row["observed"]),
                "observed band": band_word(row["observed_band"]) if key in METRIC_BAND_KEY else "—",
                "simulated (median)": format_metric(key, row["simulated_p50"]),
                "simulated p10–p90": f"{format_metric(key, row['simulated_p10'])} – {format_metric(key, row['simulated_p90'])}",
                "simulated band": band_word(row["simulated_band"]) if key in METRIC_BAND_KEY else "—",
                "close enough?": "—" if within is None else ("yes" if within else "no"),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    params = [
        {
            "setting": pretty_key(key),
            "key": key,
            "value": str(item["value"]),
            "from": f"{item['origin']} from {item['from']}" if "from" in item else item["origin"],
            "how": item["note"],
        }
        for key, item in report["parameters"].items()
        if item["origin"] != "default"
    ]
    if params:
        st.markdown("**Read from your logs or fitted** (everything else keeps the baseline's value):")
        st.dataframe(pd.DataFrame(params), hide_index=True, width="stretch")
    fitted = ", ".join(pretty_key(k) for k in fit.get("parameters", [])) or "nothing"
    st.caption(f"Fitted {fitted} in {fit.get('evaluations', 0)} simulated parameter sets.")
    for note in report.get("missing", []):
        st.info(note)


# ---------------------------------------------------------------------------------------------
# How well dorasim forecasts this team: a backtest of the loaded logs


BACKTEST_HEADING = "4. How well dorasim forecasts this team"


def logs_signature(logs: EventLogs) -> tuple[int, ...]:
    """A fingerprint of the logs' content: a backtest shown belongs to the logs loaded now."""
    frames = (logs.changes, logs.deployments, logs.incidents)
    return tuple(int(pd.util.hash_pandas_object(frame.astype(str), index=False).sum()) for frame in frames)


def _ratio_words(ratio: float) -> str:
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def backtest_verdict(summary: dict[str, Any]) -> str:
    """One sentence: which method forecast this team's past work better, and whether dorasim's ranges held."""
    model, anchor = summary.get("model") or {}, summary.get("throughput") or {}
    ratio = summary.get("crps_ratio_model_to_throughput")
    cases = int(model.get("cases") or 0)
    if not cases or model.get("coverage_p5_p95") is None:
        return "No forecast could be judged against what happened, so there is no verdict yet."
    inside = round(model["coverage_p5_p95"] * cases)
    held = f"the real date fell inside its p5–p95 range in {inside} of {cases} cases"
    if ratio is None or not anchor.get("cases"):
        verdict = f"**dorasim alone could be judged**: {held}."
    elif ratio <= 0.9 and model["coverage_p5_p95"] >= 0.8:
        verdict = (
            f"**dorasim forecasts this team better than the throughput Monte Carlo**: its forecasts were "
            f"closer (mean CRPS {_ratio_words(ratio)} the Monte Carlo's) and {held}."
        )
    elif ratio <= 0.9:
        verdict = (
            f"**dorasim is closer on average but overconfident**: mean CRPS {_ratio_words(ratio)} the Monte "
            f"Carlo's, yet only {held} — allow more time than its dates say."
        )
    elif ratio < 1.1:
        verdict = (
            f"**dorasim forecasts this team about as well as the throughput Monte Carlo** (mean CRPS "
            f"{_ratio_words(ratio)} the Monte Carlo's); {held}."
        )
    else:
        verdict = (
            f"**The throughput Monte Carlo forecasts this team better than dorasim** (dorasim's mean CRPS is "
            f"{_ratio_words(ratio)} the Monte Carlo's; {held}): trust the Monte Carlo's dates, and see in "
            f"section 3 which metrics the calibrated model misses."
        )
    if cases < 5:
        verdict += f" Only {cases} case{'s' if cases != 1 else ''} could be judged: read this as a hint, not a verdict."
    return verdict


def backtest_table(summary: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for method, label in charts.BACKTEST_METHODS.items():
        scores = summary.get(method)
        if not scores or not scores.get("cases"):
            continue
        n = scores["cases"]
        rows.append(
            {
                "method": label,
                "cases judged": n,
                "actual inside p5–p95": f"{scores['coverage_p5_p95']:.0%} ({round(scores['coverage_p5_p95'] * n)} of {n})",
                "actual by p85": f"{scores['coverage_p85']:.0%} ({round(scores['coverage_p85'] * n)} of {n})",
                "mean CRPS (days)": f"{scores['mean_crps']:.1f}",
                "median p5–p95 width (days)": f"{scores['median_width_p5_p95']:.0f}",
            }
        )
    return pd.DataFrame(rows)


def _run_backtest(logs: EventLogs, cuts: list[Any]) -> None:
    bar = st.progress(0.0, text=f"Backtesting: 0 of {len(cuts)} cut dates…")

    def tick(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Backtesting: {done} of {total} cut dates")

    try:
        result = compute.run_backtest(
            logs,
            cuts,
            state.run_settings()["seed"],
            st.session_state.get("data.source", "your logs"),
            callback=tick,
        )
    except InputError as exc:
        st.error(str(exc))
        return
    finally:
        bar.empty()
    st.session_state["data.backtest"] = {"signature": logs_signature(logs), "result": result}


def backtest_section(logs: EventLogs) -> None:
    from sim.analysis.backtest import DEFAULT_EVERY_DAYS, DEFAULT_HORIZON_DAYS, DEFAULT_WINDOW_DAYS

    st.subheader(BACKTEST_HEADING)
    try:
        cuts, possible = compute.backtest_cuts(logs)
    except InputError as exc:
        st.info(
            f"Not enough history to judge dorasim's forecasts on these logs: "
            f"{str(exc).removeprefix('backtest: ')}. A cut date needs {DEFAULT_WINDOW_DAYS} days of releases "
            f"before it (to calibrate on) and {DEFAULT_HORIZON_DAYS} days of logs after it (to see what happened)."
        )
        return
    which = (
        f"the latest {len(cuts)} of the {possible} your history allows"
        if possible > len(cuts)
        else "all of them"
    )
    st.markdown(
        f"Go back to a date in your history, calibrate dorasim on the {DEFAULT_WINDOW_DAYS} days before it, "
        f"and ask when the first *N* changes created from that day on would be live (*N* = the changes "
        f"created in the next 30 days, and 20); the throughput Monte Carlo resamples the same "
        f"{DEFAULT_WINDOW_DAYS} days. Both are scored against what your logs show happened."
    )
    command = (
        f"python -m sim backtest --changes changes.csv --deployments deployments.csv --incidents incidents.csv "
        f"--max-cuts {limits.MAX_BACKTEST_CUTS} --seed {state.run_settings()['seed']}"
    )
    st.caption(
        f"{len(cuts)} cut date{'s' if len(cuts) != 1 else ''}, every {DEFAULT_EVERY_DAYS} days ({which}; the "
        f"hosted app runs at most {limits.MAX_BACKTEST_CUTS}, a few seconds each). On the command line, "
        f"`{command}` repeats them; without `--max-cuts` it runs every cut."
    )
    if st.button("Run the backtest", type="primary", key="data.backtest-run"):
        _run_backtest(logs, cuts)
    stored = st.session_state.get("data.backtest")
    if not stored or stored["signature"] != logs_signature(logs):
        return
    show_backtest(stored["result"])


def show_backtest(result: dict[str, Any]) -> None:
    summary, cases = result["summary"], result["cases"]
    judged = [c for c in cases if "not_judged" not in c]
    skipped = [c for c in cases if "not_judged" in c]
    if not judged:
        reasons = "; ".join(dict.fromkeys(c["not_judged"] for c in skipped)) or "no case"
        st.warning(f"No forecast could be judged on these logs: {reasons}.")
        return
    st.markdown(backtest_verdict(summary))
    st.dataframe(backtest_table(summary), hide_index=True, width="stretch", key="data.backtest-table")
    charts.show(charts.backtest_chart(judged))
    st.caption(
        "CRPS (continuous ranked probability score) is how far, in days, a forecast's whole range was from "
        "what happened — lower is better; a forecast is trusted when it is low *and* the real date falls "
        "inside p5–p95 about nine times in ten."
    )
    if skipped:
        reasons = "; ".join(dict.fromkeys(c["not_judged"] for c in skipped))
        st.caption(f"{len(skipped)} case{'s' if len(skipped) != 1 else ''} could not be judged: {reasons}.")


def upload_scenario() -> None:
    st.subheader("5. Or bring a scenario file")
    st.markdown(
        'A TOML scenario as in `scenarios/` (it may `extends = "baseline.toml"`). It is validated like '
        "the command line validates it."
    )
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
    left.button(
        "Use as baseline", on_click=_use_as_baseline, args=(name, "baseline"), key="data.scenario-base"
    )
    right.button(
        "Use as the scenario to tune",
        on_click=_use_as_baseline,
        args=(name, "scenario"),
        key="data.scenario-tune",
    )
    third.download_button(
        "Download it back, every key written out",
        scenario_to_toml(scenario),
        file_name=f"{scenario.name}.toml",
        key="data.scenario-download",
    )


def render() -> None:
    st.header("Your data")
    st.caption(
        "Score your own team's logs with the same function the simulator uses, turn them into a baseline, "
        "and compare or plan from where you really are."
    )
    st.subheader("1. Your logs")
    csv_tab, import_tab = st.tabs(
        ["Upload three CSV files", "Import from GitHub, GitLab and an incident tool"]
    )
    with csv_tab:
        upload_logs()
    with import_tab:
        import_section()
    logs = show_score()
    if logs is not None:
        calibrate_section(logs)
        backtest_section(logs)
    else:
        st.subheader("3. Calibrate a baseline from them")
        st.caption(
            "Once your logs are scored, fit the model to them here and compare or plan from where your team "
            "really is."
        )
        st.subheader(BACKTEST_HEADING)
        st.caption(
            "Once your logs are scored, see here how well dorasim would have forecast your team's past work, "
            "beside the throughput Monte Carlo."
        )
    upload_scenario()
