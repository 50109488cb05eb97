"""dorasim — the app. Run with ``streamlit run app.py`` and open http://127.0.0.1:8501.

Only UI lives here and in ``dorasim_app/``: widgets → scenario → ``sim`` → charts.
"""

from __future__ import annotations

import importlib

import streamlit as st

from dorasim_app import compute, state
from dorasim_app.style import CSS
from sim.errors import InputError
from sim.metrics.bands import BENCHMARKS

st.set_page_config(page_title="dorasim — engineering transformation simulator", page_icon="🚀", layout="wide")
st.markdown(CSS, unsafe_allow_html=True)
compute.start_warmup()

problems = state.init_session()

with st.sidebar:
    st.title("dorasim")
    st.caption("Why process beats heroics: simulate how changes travel from engineers to production, scored "
               "with the DORA metrics.")
    st.radio("View", list(state.VIEWS), format_func=state.VIEWS.get, key="view")
    st.selectbox("DORA benchmark", BENCHMARKS, key="benchmark",
                 help="Which published band table to score against (2023 is the default).")

for line in problems:
    st.warning(f"Ignored part of the link: {line}")

view = importlib.import_module(f"dorasim_app.views.{st.session_state['view']}")
try:
    view.render()
except InputError as exc:
    st.error(str(exc))

with st.sidebar:
    st.caption("Numbers are medians over replications of a discrete-event model; every assumption and its source "
               "is listed in *Learn*.")
state.remember_view()
state.sync_query_params()
