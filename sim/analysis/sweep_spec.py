"""A sweep's levers, points and designs (docs/sweeps.md): what a sweep runs, in the unit cube.

Every lever maps the unit interval onto its values (see :mod:`sim.analysis.sweep`); a design
(``grid``, ``lhs``, ``sobol``), the tornado's ends and SALib's global sample are points in that cube.
A :class:`SweepSpec` is built by :mod:`sim.analysis.sweep_load` from a sweep file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sim.analysis.fingerprint import model_digest
from sim.model.scenario import (
    Scenario,
    get_value,
)

DESIGNS = ("grid", "lhs", "sobol")
METHODS = ("morris", "sobol", "none")
MAX_POINTS = 100_000
MAX_REPS = 10_000
# sweep randomness (design, SALib sample, bootstrap) is spawned far from the replications' keys,
# which are (replication, stream) with replication < MAX_REPS
SWEEP_KEY = 2**31 - 1


@dataclass(frozen=True)
class Lever:
    """One varied key: a list of ``values``, or a numeric ``low``–``high`` range."""

    key: str
    kind: str  # "float", "int", "bool" or "choice"
    values: tuple[Any, ...] = ()
    low: float | int | None = None
    high: float | int | None = None

    @property
    def ends(self) -> tuple[Any, Any]:
        """The settings a tornado compares: a range's low and high, a list's first and last entry."""
        return (self.values[0], self.values[-1]) if self.values else (self.low, self.high)

    def at(self, u: float) -> Any:
        """The lever's value at ``u`` in [0, 1]."""
        u = min(max(float(u), 0.0), 1.0)
        if self.values:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        low, high = self.low, self.high
        if low is None or high is None:
            raise ValueError(f"lever {self.key} has neither values nor a low–high range")
        if self.kind == "int":
            count = high - low + 1
            return low + min(int(u * count), count - 1)
        return float(f"{low + u * (high - low):.6g}")


@dataclass(frozen=True)
class Point:
    id: int
    part: str  # "design", "tornado", "morris" or "sobol"
    label: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep. Build with :func:`load_sweep` / :func:`load_sweep_text`."""

    name: str
    source: str
    base: Scenario
    levers: tuple[Lever, ...]
    design: str = "lhs"
    points: int = 32
    reps: int = 10
    seed: int = 1
    benchmark: str = "2023"
    sensitivity: str = "morris"
    trajectories: int = 10
    levels: int = 4
    samples: int = 32
    description: str = field(default="", compare=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(lever.key for lever in self.levers)

    def fingerprint(self) -> str:
        """A hash of everything that determines the sweep's numbers: the simulator's source, the base,
        levers, design and seeds (not the file's name or comments)."""
        doc = {
            "model": model_digest(),
            "base": self.base.model_dump(mode="json"),
            "levers": [asdict(lever) for lever in self.levers],
            **{
                k: getattr(self, k)
                for k in (
                    "design",
                    "points",
                    "reps",
                    "seed",
                    "benchmark",
                    "sensitivity",
                    "trajectories",
                    "levels",
                    "samples",
                )
            },
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def plan(self) -> list[Point]:
        """Every point the sweep runs: design, then tornado, then the global sample."""
        points: list[Point] = []
        for values in self.design_values():
            points.append(Point(len(points), "design", "", values))
        for label, values in tornado_points(self.base, self.levers):
            points.append(Point(len(points), "tornado", label, values))
        width = len(self.levers) + 1
        for row, unit in enumerate(self.global_sample()):
            label = f"trajectory {row // width + 1}" if self.sensitivity == "morris" else ""
            points.append(Point(len(points), self.sensitivity, label, self._values_at(unit)))
        return points

    def design_values(self) -> list[tuple[Any, ...]]:
        if self.design == "grid":
            return [tuple(v) for v in itertools.product(*(lever.values for lever in self.levers))]
        from scipy.stats import qmc

        d = len(self.levers)
        if self.design == "lhs":
            unit = qmc.LatinHypercube(d=d, rng=self._rng(0)).random(self.points)
        else:
            unit = qmc.Sobol(d=d, scramble=True, rng=self._rng(0)).random_base2(int(math.log2(self.points)))
        return [self._values_at(row) for row in unit]

    def global_sample(self) -> np.ndarray:
        """The SALib sample in the unit cube (no rows when ``sensitivity = "none"``)."""
        problem = self.problem()
        if self.sensitivity == "morris":
            from SALib.sample import morris

            return morris.sample(problem, self.trajectories, num_levels=self.levels, seed=self._rng(1))
        if self.sensitivity == "sobol":
            from SALib.sample import sobol

            return sobol.sample(
                problem, self.samples, calc_second_order=False, scramble=True, seed=self._rng(1)
            )
        return np.empty((0, len(self.levers)))

    def problem(self) -> dict[str, Any]:
        return {
            "num_vars": len(self.levers),
            "names": list(self.keys),
            "bounds": [[0.0, 1.0]] * len(self.levers),
        }

    def scenario_at(self, values: Sequence[Any]) -> Scenario:
        return self.base.with_values(dict(zip(self.keys, values)), source=f"{self.source}: point")

    def _values_at(self, unit: Sequence[float]) -> tuple[Any, ...]:
        return tuple(lever.at(u) for lever, u in zip(self.levers, unit))

    def _rng(self, purpose: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(SWEEP_KEY, purpose)))


def tornado_points(base: Scenario, levers: Sequence[Lever]) -> list[tuple[str, tuple[Any, ...]]]:
    """The base, then each lever at its low and its high end with the others at the base."""
    base_values = tuple(get_value(base, lever.key) for lever in levers)
    out = [("base", base_values)]
    for i, lever in enumerate(levers):
        for end, value in zip(("low", "high"), lever.ends):
            values = list(base_values)
            values[i] = value
            out.append((f"{lever.key} {end}", tuple(values)))
    return out
