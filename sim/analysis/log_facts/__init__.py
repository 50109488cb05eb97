"""What a team's own logs show directly — the first half of calibration (:mod:`sim.analysis.calibrate`).

:func:`read_facts` turns three event logs (docs/logs.md) into :class:`LogFacts`: the scored window,
the observed DORA metrics, and direct estimates of the scenario parameters the logs can show,
each with a note saying how it was read. Everything here is arithmetic on the logs; nothing
simulates. One module per concern: the shared vocabulary (``facts``), the window and working hours
(``window``), work (``work``), the release train (``release``), escapes (``escapes``), restores
(``restores``), and the reader that runs them (``reader``). How each estimate maps onto the model (:mod:`sim.model.delivery`):

Window
    ``score``'s default window runs from the first to the last deployment or incident; here the
    window covers the days of every change, deployment and incident (resolution times never widen
    it), and then starts where the logs hold every change made: not before
    the release that the train would have run before the first logged one (a regular train
    that ran then would be in the log), and not where the daily change counts are thinner than
    a complete day's (earlier days ~ Poisson(rate x P(lead time > days before the start)), P by
    Kaplan–Meier from the certainly complete days). Among the starts left, a Monday giving a
    usual export length (a quarter first) wins; a window ending before a quiet weekend is
    extended over it the same way.
Working hours
    Logs are in UTC; the 8-hour span holding most changes is taken as the team's 09:00–17:00 and
    every time-of-day pattern is read in that local time.
Work
    changes per working day (hotfix changes excluded; weekend changes counted in, the model's
    team works on working days) → ``team.engineers`` x
    ``team.changes_per_engineer_per_day``: the team size is the effective number of authors when
    ``changes.csv`` names them (an ``author`` column), else the output at the base's rate per
    engineer; the changes seen → ``team.output_evidence``, their month-to-month spread beyond
    chance → ``team.output_spread``, the overdispersion of working days' counts → the mean size of
    the bursts changes come in, ``team.change_cluster``.
Release train
    planned deployments on weekends → weekly / biweekly / monthly (the model's Saturday 09:00
    windows, matched by which Saturdays shipped, when they fill at least half of them); on working
    days after 15:00 only, or one deployment a day at a steady hour → daily; otherwise continuous,
    unless releases come less than every two days on average or are too few to show a pattern →
    irregular (or when_ready, a release rate proportional to the work made since the last release,
    when Akaike's criterion prefers it), with the log-normal or exponential gap law (Akaike's
    criterion), its evidence, the days
    since the last release and a warm-up that holds the oldest change the window's releases ship
    (:mod:`sim.analysis.release_gaps`). Deploy duration from
    hotfix deployments (change created → deployed), from back-to-back deployments and from the
    delay after a scheduled window opens → ``release.deploy`` and its duration. Batch sizes piling
    up at one maximum → ``release.max_batch_size``.
Restores
    an unplanned deployment with no changes at an incident's resolution = an automated rollback;
    with changes = a hand hotfix; none = a feature-flag flip. Incidents that begin the second a
    deployment ends = checklist errors (manual deploys); the rest fire after the deployment →
    ``operations.fire_delay_hours``. Detection time from rollback and flag restores.
Lead time split
    a change first shipped at release k was not ready at the previous release that had room
    (else it would have shipped) and was ready by release k: its time before release lies in an
    interval. A log-normal fitted to those intervals gives the median time before release; the
    rest of the lead time is waiting for the release (and deploying). Behind a full release
    train (a cap that every deployment hits) changes ship in the order they became ready, so
    being overtaken by a later-created change bounds a change's time before release from below.
    Under a day before release → trunk, else long-lived branches; for a team releasing when ready
    also the branch lifetime (trunk: mean review time) that gives that median.
"""

from sim.analysis.log_facts.facts import Estimate, LogFacts
from sim.analysis.log_facts.reader import read_facts
from sim.analysis.log_facts.release import _interval_lognormal_median, window_days
from sim.analysis.log_facts.restores import _coverage_for
from sim.analysis.log_facts.work import change_cluster, effective_authors, output_spread

__all__ = [
    "Estimate",
    "LogFacts",
    "_coverage_for",
    "_interval_lognormal_median",
    "change_cluster",
    "effective_authors",
    "output_spread",
    "read_facts",
    "window_days",
]
