"""The sections of a scenario (docs/scenarios.md): every model parameter, declared once, on its field.

Each parameter carries its label in plain words, unit, source label — ``published`` (with a
citation) or ``assumed`` — help text and range, so the README, the reference tables and the app read
them from here. It also says what a plan may do with it (docs/plans.md):

- ``fixed``: why a plan phase cannot change it (the model sizes it once per run);
- ``decides``: the stages of the model that work out settings from it once per run when nothing
  changes (``work``, ``branches``, ``ci``, ``cadence``, ``release``); while a plan changes the key,
  those stages look it up at every use instead. The key lists of the stages are derived from this.

The fields are declared by the part of the flow they describe — the people (``work``), the way to a
tested merge (``changes``), release and production (``shipping``) — with the machinery that declares
them, the categorical choices and the citations in ``fields``.
"""

from sim.model.sections.changes import CI, Branching, Quality
from sim.model.sections.fields import CADENCES, DEPLOY_METHODS, STAGES, STRATEGIES, Section, param
from sim.model.sections.shipping import Operations, Release
from sim.model.sections.work import Org, Simulation, Team

__all__ = [
    "CADENCES",
    "CI",
    "DEPLOY_METHODS",
    "STAGES",
    "STRATEGIES",
    "Branching",
    "Operations",
    "Org",
    "Quality",
    "Release",
    "Section",
    "Simulation",
    "Team",
    "param",
]
