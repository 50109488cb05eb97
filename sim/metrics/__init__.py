"""Scoring event logs with the DORA metrics, exactly as a real team's logs are scored.

- ``logs``: the CSV log contract — reading (with one-line errors) and writing;
- ``scoring``: one pure function from the three logs to the DORA metrics;
- ``bands``: the 2023 and 2021 band cut-offs;
- ``registry``: one record per metric (key, label, unit, band key, direction, formatter) that the
  command line, the reports and the app all read.

Nothing here knows about the simulator: the simulator writes logs, and they are scored like anyone's.
"""
