"""The stages of the delivery model, one module each, wired by :mod:`sim.model.delivery`.

- ``work``: engineers finishing changes (stage 1);
- ``branches``: merge units, review and conflicts (stage 2);
- ``ci``: the shared runner pool, suites, flaky re-runs, skips and fixes (stage 3);
- ``release``: each team's release train, cadences and batches (stage 4);
- ``deployment``: deployment durations and records (stage 5);
- ``production``: failures, incidents, flags, rollbacks, experts and hotfixes (stage 6);
- ``state``: what the stages share (clock, parameters, calendar, records);
- ``engine``: the one place that touches SimPy's internals (cheap steps, the run loop).
"""
