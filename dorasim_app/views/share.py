"""Share: a link that reproduces the current view, the same run on the command line, and the scenario as TOML."""

from __future__ import annotations

import shlex
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from dorasim_app import state
from dorasim_app.style import pretty_key
from sim.model.scenario import get_value, scenario_to_toml


def share_link() -> str:
    query = urlencode(state.query_from_state(state.current_link()))
    base = st.context.url or "http://127.0.0.1:8501/"
    return f"{base}?{query}"


def cli_command() -> str:
    ss = st.session_state
    settings = state.run_settings()
    name = ss["choice.scenario"]
    path = f"scenarios/{name}.toml" if name in state.scenario_files() else f"{state.resolve(name).name}.toml"
    parts = ["python", "-m", "sim", "run", path, "--reps", str(settings["reps"]), "--seed", str(settings["seed"]),
             "--days", str(settings["days"])]
    for key, value in ss["overrides"].items():
        parts += ["--set", f"{key}={state.encode_value(value)}"]
    if state.benchmark() != "2023":
        parts += ["--benchmark", state.benchmark()]
    return shlex.join(parts)


def render() -> None:
    st.header("Share what you see")
    st.caption("The link carries the view, both scenarios, the run settings and every value you tuned.")
    ss = st.session_state
    custom = [ss[f"choice.{r}"] for r in ("baseline", "scenario") if ss[f"choice.{r}"].startswith(state.CUSTOM_MARK)]
    st.subheader("Link")
    st.code(share_link(), language=None, wrap_lines=True)
    if custom:
        st.warning(f"{', '.join(custom)} came from an upload or a calibration and is not in the link: share its "
                   f"TOML file below instead.")
    st.subheader("Same run on the command line")
    st.code(cli_command(), language="bash", wrap_lines=True)

    scenario = state.tuned_scenario()
    source = state.resolve(ss["choice.scenario"])
    overrides = ss["overrides"]
    st.subheader("Scenario file")
    if overrides:
        rows = [{"setting": pretty_key(k), "key": k, "file": str(get_value(source, k)), "now": str(v)}
                for k, v in overrides.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.caption(f"No values tuned: this is {ss['choice.scenario']} as shipped.")
    comments = {key: f"tuned in the app (file: {get_value(source, key)!r})" for key in overrides}
    toml = scenario_to_toml(scenario, comments=comments)
    st.download_button("Download the current scenario (TOML)", toml, file_name=f"{scenario.name}.toml",
                       mime="application/toml", type="primary", key="share.download")
    with st.expander("Preview"):
        st.code(toml, language="toml")
