"""The simulation: scenario → SimPy delivery model → typed records → event logs.

- ``sections``: every parameter, declared once, with its unit, source, range and what a plan may do;
- ``scenario``: the validated scenario file (TOML, ``extends``, ``--set``);
- ``catalog``: the shipped scenario, plan and sweep files, by name;
- ``params``: parameters that change during a run (plan phases ramping in);
- ``calendar``: working hours and release windows;
- ``rng``: named random streams per replication (common random numbers);
- ``constants``: the model's fixed distribution constants, each with unit and source;
- ``delivery``: the SimPy model, wiring its stages (``flow``: work, branches, CI, release trains,
  deployment, production, and the one module that touches SimPy's internals, ``flow.engine``);
- ``tables``: the typed tables the model writes;
- ``records``: what one replication produced, and how it becomes the logs of the log contract;
- ``theory``: the closed forms the mechanisms follow (batch risk, Erlang C);
- ``reference``: the parameter reference table in the README.
"""
