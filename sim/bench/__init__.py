"""``python -m sim bench``: the model's speed and memory, measured against a bare SimPy queue in the same run.

Absolute speeds vary between machines and with load; the ratio to a bare SimPy M/M/1 queue (one
``Resource``, exponential arrivals λ = 0.9 and service μ = 1) measured moments apart does not,
much. Throughputs are per second of this process's CPU time (``time.process_time``), so other work
on the machine changes them less than it would wall time; the worker speed-up is wall time by
nature.

What it measures (each a target in docs/performance.md):

- per shipped scenario, simulated changes per CPU-second of the model alone (``simulate``) and end
  to end (simulate, build the scorer's columns, score, judge stability, sum the lead-time stages:
  one replication of ``run``), over replications run one after another after a warm-up one — the
  marginal cost of a replication with one worker — and their ratios to the M/M/1 queue;
- organisation scale: the end-to-end cost per change of ``elite`` with 200 engineers in 20 teams
  and 1,000 in 100 teams, against 10 engineers in one team (the shared CI pool and experts grow
  with the organisation, so the work per change is the same);
- memory: peak resident memory a replication adds, per simulated change, for 500 engineers in 50
  teams over 365 days (in a fresh process, so the figure is not polluted by earlier work);
- the scorer's rows per second, and ``--workers 2`` against ``--workers 1``;
- optionally, sweep point-replications per second on local processes and a Dask cluster.

Modules: ``throughput`` (the M/M/1 reference, scenarios, organisation scale, workers), ``memory``,
``scoring``, ``sweep``, and ``suite`` (``run_bench``: all of them, as one dictionary).
"""
