"""dorasim — the app. Run with ``streamlit run app.py``.

Only UI lives here and in ``dorasim_app/``: widgets → scenario → ``sim`` → charts.
"""

from __future__ import annotations

import importlib

import streamlit as st

from dorasim_app import state
from dorasim_app.style import CSS
from sim.errors import InputError
from sim.metrics.bands import BENCHMARKS

st.set_page_config(page_title="dorasim — engineering transformation simulator", page_icon="🚀", layout="wide")
st.markdown(CSS, unsafe_allow_html=True)

problems = state.init_session()

with st.sidebar:
    st.title("dorasim")
    st.caption("Simulate how changes travel from engineers to production, and score it with the DORA metrics.")
    st.radio("View", list(state.VIEWS), format_func=state.VIEWS.get, key="view")
    st.selectbox("DORA benchmark", BENCHMARKS, key="benchmark",
                 help="Which published band table to score against (2023 is the default).")
    st.divider()
    st.caption("Numbers are medians over replications of a discrete-event model; every assumption and its "
               "source is listed at the end of *Learn*.")

st.title("dorasim — why process beats heroics")
st.markdown("An engineering-transformation simulator: change how your team branches, tests, releases and "
            "restores, and watch deployment frequency, lead time, change failure rate and time to restore move.")
for line in problems:
    st.warning(f"Ignored part of the link: {line}")

view = importlib.import_module(f"dorasim_app.views.{st.session_state['view']}")
try:
    view.render()
except InputError as exc:
    st.error(str(exc))

state.sync_query_params()
