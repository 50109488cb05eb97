"""dorasim — the app. Run with ``streamlit run app.py`` and open http://127.0.0.1:8501.

Only UI lives here and in ``dorasim_app/``: widgets → scenario → ``sim`` → charts.
"""

from __future__ import annotations

import importlib

import streamlit as st


def main() -> None:
    st.set_page_config(
        page_title="dorasim — engineering transformation simulator", page_icon="🚀", layout="wide"
    )
    starting = st.empty()
    starting.caption("Starting the simulator…")  # a fresh server imports the numeric stack on its first page

    from dorasim_app import compute, state
    from dorasim_app.style import CSS
    from sim.errors import InputError
    from sim.metrics.bands import BENCHMARKS

    starting.empty()
    st.markdown(CSS, unsafe_allow_html=True)

    problems = state.init_session()

    with st.sidebar:
        st.title("dorasim")
        st.caption(
            "Why process beats heroics: simulate how changes travel from engineers to production, scored "
            "with the DORA metrics."
        )
        st.radio("View", list(state.VIEWS), format_func=state.VIEWS.get, key="view")
        st.selectbox(
            "DORA benchmark",
            BENCHMARKS,
            key="benchmark",
            help="Which published band table to score against (2023 is the default).",
        )

    for line in problems:
        st.warning(f"Ignored part of the link: {line}")

    view = importlib.import_module(f"dorasim_app.views.{st.session_state['view']}")
    try:
        view.render()
    except InputError as exc:
        st.error(str(exc))

    with st.sidebar:
        st.caption(
            "Numbers are medians over replications of a discrete-event model; every assumption and its source "
            "is listed under *Assumptions* at the foot of the *Workshop*."
        )
    if st.session_state.get("shown_view") != st.session_state["view"]:
        st.session_state["shown_view"] = st.session_state["view"]
        scroll_to_top()  # a view opens at its top, not at the scroll position the previous view was left at
    state.remember_view()
    state.sync_query_params()
    compute.start_warmup()  # after the first page is drawn, so warming never slows it down


SCROLL_TO_TOP = """<script>
const main = window.parent.document.querySelector('[data-testid="stMain"]');
if (main) { main.scrollTo(0, 0); }
</script>"""


def scroll_to_top() -> None:
    import streamlit.components.v1 as components

    with st.sidebar:  # a zero-height frame at the sidebar's foot leaves no gap in the view
        components.html(SCROLL_TO_TOP, height=0)


# Streamlit runs this script as ``__main__``. A worker process of the app's pool re-imports it as
# ``__mp_main__`` (multiprocessing prepares each child from the host's main module, which Streamlit
# points at this script): there it must neither draw nor simulate, or each worker would start a pool
# of its own.
if __name__ == "__main__":
    main()
