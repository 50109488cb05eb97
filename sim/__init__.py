"""dorasim — an engineering-transformation simulator scored with the DORA metrics.

The flow, one subpackage per step (``docs/architecture.md`` draws it):

- :mod:`sim.model` — a scenario (``model.scenario``) drives the SimPy delivery model
  (``model.delivery``), which writes typed records that become event logs (``model.records``);
- :mod:`sim.metrics` — the log contract (``metrics.logs``), the DORA scorer (``metrics.scoring``),
  the bands (``metrics.bands``) and the one registry of metric facts (``metrics.registry``);
- :mod:`sim.importers` — a team's own history as logs: git, GitHub, GitLab, incident tools;
- :mod:`sim.analysis` — replications and their summaries (``analysis.runner``), stability, plans,
  sweeps, calibration and the process pool they share;
- :mod:`sim.cli` — ``python -m sim``: one module per command and the tables they print;
- :mod:`sim.bench` — throughput measured against a bare SimPy queue.

``sim`` never imports Streamlit; the app (``app.py``, ``dorasim_app``) is built on top of it.
"""

__version__ = "0.2.0"
