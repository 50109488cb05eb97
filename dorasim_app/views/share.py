"""Share: a link that reproduces the current view, the same run on the command line, and the scenario as TOML."""

from __future__ import annotations

import shlex
from urllib.parse import urlencode, urlsplit, urlunsplit

import pandas as pd
import streamlit as st

from dorasim_app import state
from dorasim_app.style import pretty_key
from sim.model.scenario import get_value, scenario_to_toml


def link_base(url: str | None) -> str:
    """The app's address ending in ``/`` (``http://host:8501/``), whatever path or query the page has."""
    parts = urlsplit(url or "http://127.0.0.1:8501/")
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def share_link() -> str:
    """A link that opens the results last shown (Compare, Plan, Forecast…), never this Share page."""
    link = state.current_link()
    link.view = st.session_state.get("results_view", state.DEFAULT_VIEW)
    return f"{link_base(st.context.url)}?{urlencode(state.query_from_state(link))}"


def _path(name: str, tuned: bool = False) -> str:
    """How the command line names a scenario: a shipped file by its path, anything else by the file to save."""
    if tuned:
        return f"{state.resolve(name).name}_tuned.toml"
    return f"scenarios/{name}.toml" if name in state.scenario_files() else f"{state.resolve(name).name}.toml"


def cli_command() -> str:
    """The view's own run on the command line: Compare's comparison, Forecast's forecast or Plan's plan."""
    ss = st.session_state
    settings = state.run_settings()
    view = ss.get("results_view", state.DEFAULT_VIEW)
    tuned = bool(ss["overrides"])
    scenario = _path(ss["choice.scenario"], tuned)
    seeds = ["--seed", str(settings["seed"])]
    if view == "plan" and ss.get("choice.plan") in state.plan_files():
        parts = ["python", "-m", "sim", "plan", f"scenarios/{ss['choice.plan']}.toml", *seeds]
        if "plan.reps" in ss:
            parts += ["--reps", str(ss["plan.reps"])]
    elif view == "forecast" and "forecast.changes" in ss:
        parts = [
            "python",
            "-m",
            "sim",
            "forecast",
            scenario,
            "--changes",
            str(ss["forecast.changes"]),
            "--start",
            f"{ss['forecast.start']:%Y-%m-%d}",
            "--target",
            f"{ss['forecast.target']:%Y-%m-%d}",
            "--reps",
            str(ss["forecast.reps"]),
            *seeds,
        ]
    else:
        parts = [
            "python",
            "-m",
            "sim",
            "compare",
            _path(ss["choice.baseline"]),
            scenario,
            "--reps",
            str(settings["reps"]),
            *seeds,
            "--days",
            str(settings["days"]),
        ]
    if state.benchmark() != "2023" and view != "forecast":
        parts += ["--benchmark", state.benchmark()]
    return shlex.join(parts)


def render() -> None:
    ss = st.session_state
    view = ss.get("results_view", state.DEFAULT_VIEW)
    carried = "the work, its dates and the plan" if view == "forecast" else "the run settings"
    st.header("Share")
    st.caption(
        f"The link opens the results you last looked at, with both scenarios, {carried} and every value you "
        f"tuned."
    )
    custom = [
        ss[f"choice.{r}"] for r in ("baseline", "scenario") if ss[f"choice.{r}"].startswith(state.CUSTOM_MARK)
    ]
    st.subheader("Link")
    st.code(share_link(), language=None, wrap_lines=True)
    st.caption(f"Opens *{state.VIEWS[view]}*.")
    if custom:
        st.warning(
            f"{', '.join(custom)} came from an upload or a calibration and is not in the link: share "
            f"{'its' if len(custom) == 1 else 'their'} TOML file below instead."
        )
    st.subheader("Same run on the command line")
    st.code(cli_command(), language="bash", wrap_lines=True)
    names = [f"`{_path(n)}`" for n in custom] + (
        [f"`{_path(ss['choice.scenario'], True)}`"] if ss["overrides"] else []
    )
    if names and view != "plan":
        st.caption(f"Save {' and '.join(names)} from below next to where you run it.")

    scenario = state.tuned_scenario()
    source = state.resolve(ss["choice.scenario"])
    overrides = ss["overrides"]
    st.subheader("Scenario file")
    if overrides:
        rows = [
            {"setting": pretty_key(k), "key": k, "file": str(get_value(source, k)), "now": str(v)}
            for k, v in overrides.items()
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.caption(f"No values tuned: this is {ss['choice.scenario']} as in its file.")
    comments = {key: f"tuned in the app (file: {get_value(source, key)!r})" for key in overrides}
    toml = scenario_to_toml(scenario, comments=comments)
    file_name = _path(ss["choice.scenario"], bool(overrides)).removeprefix("scenarios/")
    st.download_button(
        f"Download {ss['choice.scenario']}{' as tuned' if overrides else ''} (TOML)",
        toml,
        file_name=file_name,
        mime="application/toml",
        type="primary",
        key="share.download",
    )
    if ss["choice.baseline"] in custom and ss["choice.baseline"] != ss["choice.scenario"]:
        baseline = state.resolve(ss["choice.baseline"])
        st.download_button(
            f"Download the baseline {ss['choice.baseline']} (TOML)",
            scenario_to_toml(baseline),
            file_name=_path(ss["choice.baseline"]),
            mime="application/toml",
            key="share.baseline",
        )
    with st.expander("Preview"):
        st.code(toml, language="toml")
