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
    st.caption("The link opens the results you last looked at, with both scenarios, the run settings and every "
               "value you tuned.")
    ss = st.session_state
    custom = [ss[f"choice.{r}"] for r in ("baseline", "scenario") if ss[f"choice.{r}"].startswith(state.CUSTOM_MARK)]
    st.subheader("Link")
    view = st.session_state.get("results_view", state.DEFAULT_VIEW)
    st.code(share_link(), language=None, wrap_lines=True)
    st.caption(f"Opens *{state.VIEWS[view]}*.")
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
