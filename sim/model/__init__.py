"""The simulation: scenario → SimPy delivery model → typed records → event logs.

- ``scenario``: the validated scenario file (TOML, ``extends``, ``--set``), every parameter with its
  unit and source;
- ``catalog``: the shipped scenario, plan and sweep files, by name;
- ``params``: parameters that change during a run (plan phases ramping in);
- ``calendar``: working hours and release windows;
- ``rng``: named random streams per replication (common random numbers);
- ``constants``: the model's fixed distribution constants, each with unit and source;
- ``delivery``: the SimPy model itself (work, branches, CI, release, production);
- ``records``: what one replication produced, and how it becomes the logs of the log contract;
- ``theory``: the closed forms the mechanisms follow (batch risk, Erlang C);
- ``reference``: the parameter reference table in the README.
"""
