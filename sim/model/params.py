"""Parameters that may change during a run (docs/plans.md): a scenario plus phases that ramp in.

A phase starts on ``day`` (days after the scenario's ``start``) and takes ``ramp_days`` to take
full effect. Its progress runs linearly from 0 at the start of the ramp to 1 at its end.

- Numeric values move linearly from the value in force before the phase to the new one
  (integers are rounded to the nearest whole number).
- Switches (booleans and choices such as ``branching.strategy``) are adopted by a growing share
  of the work: each unit of work (an engineer for branching, a change for cadence and flags, a
  deployment for the deploy method, an incident for rollback) carries a fixed uniform draw ``u``
  and follows the new value once ``u < progress``. Halfway through a ramp, about half the work
  follows the new way, and the same units keep it.
- Adoption cost (the J-curve): while a phase ramps, capacity drops by ``capacity_cost`` and the
  defect rate rises by ``defect_cost`` (relative), both fading linearly as progress goes to 1.
- Waves: a phase may apply to some teams of an organisation only (``teams``, 0-based here; the
  plan file numbers teams from 1). Every look-up names the team asking; other teams keep the
  value in force before the phase and pay none of its adoption cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar, cast

from pydantic import BaseModel

from sim.model.scenario import SECTIONS, Scenario, get_value, parameter_keys, section_model

Section = TypeVar("Section", bound=BaseModel)


@dataclass(frozen=True)
class Phase:
    name: str
    day: float
    ramp_days: float = 0.0
    values: Mapping[str, Any] = field(default_factory=dict)
    capacity_cost: float = 0.0
    defect_cost: float = 0.0
    teams: frozenset[int] | None = None  # 0-based teams that adopt it; None = every team


class _Ramp(NamedTuple):
    """A phase's adoption cost: from ``t0`` to ``t1`` (hours), for ``teams`` (None = every team)."""

    t0: float
    t1: float
    capacity_cost: float
    defect_cost: float
    teams: frozenset[int] | None


_CAPACITY = attrgetter("capacity_cost")
_DEFECTS = attrgetter("defect_cost")


@dataclass(frozen=True)
class _Segment:
    t0: float
    t1: float
    new: Any
    switch: bool
    integer: bool
    teams: frozenset[int] | None


class Schedule:
    """Look up any parameter at simulation time ``t`` (hours since the model's origin)."""

    def __init__(self, scenario: Scenario, phases: Iterable[Phase] = (), origin_offset_hours: float = 0.0):
        self.scenario = scenario
        self.base: dict[str, Any] = {key: get_value(scenario, key) for key in parameter_keys()}
        self.phases = tuple(sorted(phases, key=lambda p: p.day))
        self._segments: dict[str, list[_Segment]] = {}
        self._costs: list[_Ramp] = []  # phases that cost capacity or quality while they ramp
        for phase in self.phases:
            t0 = origin_offset_hours + phase.day * 24.0
            t1 = t0 + max(phase.ramp_days, 0.0) * 24.0
            for key, value in phase.values.items():
                base = self.base[key]
                switch = isinstance(base, (bool, str))
                integer = isinstance(base, int) and not isinstance(base, bool)
                self._segments.setdefault(key, []).append(
                    _Segment(t0, t1, value, switch, integer, phase.teams)
                )
            if t1 > t0 and (phase.capacity_cost or phase.defect_cost):
                self._costs.append(_Ramp(t0, t1, phase.capacity_cost, phase.defect_cost, phase.teams))
        self.dynamic = frozenset(self._segments)
        self.has_costs = bool(self._costs)
        # a section no phase touches is the scenario's own, typed section; the others are read through views
        self._section_names: dict[type[BaseModel], str] = {section_model(name): name for name in SECTIONS}
        self._unchanged: dict[type[BaseModel], BaseModel] = {
            model: getattr(scenario, name)
            for model, name in self._section_names.items()
            if not any(key.startswith(f"{name}.") for key in self.dynamic)
        }
        if not self._segments:
            base_values = self.base

            # a plain scenario: every look-up is a dictionary read (the simulation's hot path)
            def get_base(key: str, t: float = 0.0, u: float = 0.5, team: int = 0) -> Any:
                return base_values[key]

            self.get = get_base  # type: ignore[method-assign]  # replaces the method on this instance only

    def get(self, key: str, t: float, u: float = 0.5, team: int = 0) -> Any:
        """The value of ``key`` at ``t`` for a unit of work with draw ``u`` in ``team`` (0-based)."""
        segments = self._segments.get(key)
        value = self.base[key]
        if not segments:
            return value
        for seg in segments:
            if t < seg.t0:
                break
            if seg.teams is not None and team not in seg.teams:
                continue
            progress = 1.0 if t >= seg.t1 else (t - seg.t0) / (seg.t1 - seg.t0)
            if seg.switch:
                if u < progress:
                    value = seg.new
            else:
                value = value + (seg.new - value) * progress
        if segments[0].integer:
            value = round(value)
        return value

    def view(self, section: type[Section], t: float, team: int = 0, u: float = 0.5) -> Section:
        """One section's values at ``t`` for a unit of work with draw ``u`` in ``team``, typed as the section.

        ``p.view(CI, t, team).test_suite_minutes`` is ``p.get("ci.test_suite_minutes", t, 0.5, team)``
        with the field's type and name checked: a section no phase changes is the scenario's own; one a
        phase changes is read through :meth:`get` attribute by attribute. ``u`` is the draw that decides
        switches (numbers ignore it), so one view serves one unit of work.
        """
        unchanged = self._unchanged.get(section)
        if unchanged is not None:
            return cast(Section, unchanged)
        return cast(Section, SectionAt(self, self._section_names[section], t, u, team))

    def _cost(self, t: float, team: int, cost: Callable[[_Ramp], float]) -> float:
        """The sum of one kind of adoption cost over the phases ramping at ``t`` for ``team``, each fading
        linearly from its full value at the start of the ramp to nothing at its end."""
        total = 0.0
        for ramp in self._costs:
            if ramp.t0 <= t < ramp.t1 and (ramp.teams is None or team in ramp.teams):
                total += cost(ramp) * (1.0 - (t - ramp.t0) / (ramp.t1 - ramp.t0))
        return total

    def capacity_factor(self, t: float, team: int = 0) -> float:
        """Share of normal output while phases ramp (1.0 = no adoption cost)."""
        return max(0.0, 1.0 - self._cost(t, team, _CAPACITY)) if self._costs else 1.0

    def defect_factor(self, t: float, team: int = 0) -> float:
        """Multiplier on the defect rate while phases ramp (1.0 = no adoption cost)."""
        return 1.0 + self._cost(t, team, _DEFECTS) if self._costs else 1.0


class SectionAt:
    """A section's values at one time, for one team and one unit of work, while a plan changes some of them."""

    __slots__ = ("_prefix", "_schedule", "_t", "_team", "_u")

    def __init__(self, schedule: Schedule, section: str, t: float, u: float, team: int) -> None:
        self._schedule = schedule
        self._prefix = section + "."
        self._t = t
        self._u = u
        self._team = team

    def __getattr__(self, field_name: str) -> Any:
        return self._schedule.get(self._prefix + field_name, self._t, self._u, self._team)
