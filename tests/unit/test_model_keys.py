"""Scenario keys are linked to their use: the stages read typed sections (``scenario.ci.runners``,
``params.view(CI, t, team).flaky_rate``); every key they read exists, every key is read, and every key a
stage works out once per run is declared on its field (``decides``), so a plan that changes it is not
ignored."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sim.analysis.plan_file import STATIC_KEYS
from sim.model.scenario import (
    SECTIONS,
    fixed_keys,
    keys_deciding,
    parameter_info,
    parameter_keys,
    section_model,
)
from sim.model.sections import STAGES

FLOW = Path(__file__).resolve().parents[2] / "sim" / "model" / "flow"

# per stage: (module, the functions of its once-per-run path)
FIXED_PATHS = {
    "work": ("work.py", {"_fixed_defect_odds_and_flags"}),
    "branches": (
        "branches.py",
        {"_all_trunk_and_fixed", "_form_trunk_units", "_trunk_conflicts", "_conflict"},
    ),
    "ci": ("ci.py", {"settings_at", "skip_probability"}),
    "cadence": ("release.py", {"__init__"}),
    "release": ("release.py", {"_fixed_settings"}),
}


SECTION_OF_CLASS = {section_model(name).__name__: name for name in SECTIONS}


def _section_of(node: ast.expr, names: dict[str, str]) -> str | None:
    """The section an expression stands for: ``<...>.scenario.<section>``, ``<...>.view(Class, ...)``, or a
    name bound to one of those; ``"*"`` for the scenario itself."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        if node.attr == "scenario":
            return "*"
        if _section_of(node.value, names) == "*":
            return node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "view"
        and node.args
        and isinstance(node.args[0], ast.Name)
    ):
        return SECTION_OF_CLASS.get(node.args[0].id)
    return None


def _keys_read(tree: ast.AST) -> set[str]:
    """The scenario keys a piece of code reads: ``.get("section.key", ...)``, and fields of typed sections
    (``scenario.ci.runners``, ``params.view(CI, t).flaky_rate``, or a name bound to either)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            section = _section_of(node.value, names)
            if section is not None:
                names[node.targets[0].id] = section
    keys: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
        elif isinstance(node, ast.Attribute):
            section = _section_of(node.value, names)
            if section not in (None, "*"):
                keys.add(f"{section}.{node.attr}")
    return keys


def _functions(module: str, names: set[str]) -> list[ast.FunctionDef]:
    tree = ast.parse((FLOW / module).read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name in names]


def test_every_key_the_model_looks_up_exists_and_every_key_is_looked_up() -> None:
    known = set(parameter_keys())
    read: set[str] = set()
    for path in sorted(FLOW.glob("*.py")):
        keys = _keys_read(ast.parse(path.read_text(encoding="utf-8")))
        unknown = {key for key in keys if "." in key} - known
        assert not unknown, f"{path.name} looks up keys no scenario has: {sorted(unknown)}"
        read |= keys
    unused = known - set(fixed_keys()) - read  # the fixed ones size the model in sim/model/delivery.py
    assert not unused, f"no stage reads {sorted(unused)}"


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_works_out_once_only_what_its_fields_declare(stage: str) -> None:
    module, names = FIXED_PATHS[stage]
    functions = _functions(module, names)
    assert {f.name for f in functions} == names, f"{module} no longer has {sorted(names)}"
    read = set().union(*(_keys_read(f) for f in functions))
    if stage == "cadence":
        read &= {"release.cadence"}
    assert read, f"the {stage} stage's once-per-run path reads no key"
    missing = read - keys_deciding(stage)
    assert not missing, f"{sorted(missing)} must say decides=({stage!r},) on their fields"


def test_the_plan_refuses_what_the_fields_call_fixed() -> None:
    assert fixed_keys() == STATIC_KEYS
    assert {"ci.runners", "org.teams", "simulation.warmup_days"} <= set(STATIC_KEYS)
    for key, why in STATIC_KEYS.items():
        assert why and parameter_info(key)["fixed"] == why
        assert not parameter_info(key).get("decides")


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(KeyError, match="is not one of the stages"):
        keys_deciding("deploy")
