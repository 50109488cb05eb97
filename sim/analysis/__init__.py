"""What people do with the model: replicate and summarise, plan, sweep, calibrate.

- ``runner``: replications of a scenario and the ``run`` summary (percentiles, bands, stages);
- ``parallel``: the process pool every analysis shares (output never depends on the workers);
- ``plan``: 90-day transformation plans scored week by week;
- ``sweep``, ``sweep_table``, ``executors``: lever sweeps, their resumable table, and where
  points run (local processes or Dask);
- ``calibrate``, ``log_facts``: fitting a scenario to a team's own logs;
- ``fingerprint``: what decides the numbers (for resuming sweeps and checking Dask workers).
"""
