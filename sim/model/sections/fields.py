"""How a scenario parameter is declared: one pydantic field carrying everything said about it.

See :mod:`sim.model.sections` for what ``fixed`` and ``decides`` mean to a plan. Also here: the choices
of the categorical keys and the citations the fields name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

CADENCES = ("continuous", "daily", "weekly", "biweekly", "monthly", "irregular", "when_ready")
STRATEGIES = ("long_lived", "trunk")
DEPLOY_METHODS = ("manual", "automated")

BRINDESCU = "Brindescu et al. 2020, 'An empirical investigation into merge conflicts and their effect on software quality', EMSE"
DIAS = "Dias et al. 2020, 'Understanding predictive factors for merge conflicts', IST"
GOOGLE_FLAKY = "Micco 2016, 'Flaky tests at Google and how we mitigate them' (Google Testing Blog): ~1.5% of test runs flaky"
DORA_2018 = "DORA / Forsgren, Humble, Kim 2018, Accelerate and the 2018 State of DevOps report"


STAGES = ("work", "branches", "ci", "cadence", "release")  # what ``decides`` may name


def param(
    label: str,
    default: Any,
    unit: str,
    source: str,
    help: str,
    cite: str = "",
    *,
    decides: tuple[str, ...] = (),
    fixed: str = "",
    **limits: Any,
) -> Any:
    """A parameter: a pydantic Field carrying its label in plain words, unit, source label and citation,
    and what a plan may do with it (``decides``, ``fixed``: see the module's docstring)."""
    unknown = set(decides) - set(STAGES)
    if unknown:
        raise ValueError(f"decides names unknown stages {sorted(unknown)}; stages are {STAGES}")
    extra: JsonDict = {"label": label, "unit": unit, "source": source, "cite": cite}
    if decides:
        extra["decides"] = list(decides)
    if fixed:
        extra["fixed"] = fixed
    return Field(default, description=help, json_schema_extra=extra, **limits)


class Section(BaseModel):
    """A section of the scenario file: strict, frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
