"""Importing a team's real history into the event-log contract (docs/import.md).

Each source turns what it can read into the three logs of docs/logs.md and an import report
(what was read, what was skipped and why):

- :mod:`sim.importers.git` — git repositories (one, or several as the teams of an organisation):
  deployments from release tags or from the first-parent history of a branch, changes from
  commits, incidents from reverts (its parts: ``gitproc``, ``gitrefs``, ``versions``,
  ``gitgraph``, ``gitlogs``);
- :mod:`sim.importers.github` and :mod:`sim.importers.gitlab` — the JSON their REST APIs
  return, saved to files or fetched live (:mod:`sim.importers.http`);
- :mod:`sim.importers.incidents` — PagerDuty and Opsgenie exports, or any CSV with a column
  map, linked to deployments by id or by the last deployment before the incident opened.

The logs are scored by :mod:`sim.metrics.scoring` (or one of the conventions of
:mod:`sim.metrics.conventions`) exactly as hand-written logs are.
"""
