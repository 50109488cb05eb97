"""Scenario keys are linked to their use: every key the model looks up exists, and every key a stage
works out once per run is declared on its field (``decides``), so a plan that changes it is not ignored."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sim.analysis.plan import STATIC_KEYS
from sim.model.scenario import fixed_keys, keys_deciding, parameter_info, parameter_keys
from sim.model.sections import STAGES

FLOW = Path(__file__).resolve().parents[2] / "sim" / "model" / "flow"

# per stage: (module, the functions of its once-per-run path)
FIXED_PATHS = {
    "work": ("work.py", {"_fixed_defect_odds_and_flags"}),
    "branches": ("branches.py", {"_all_trunk_and_fixed", "_form_trunk_units", "_trunk_conflicts", "_conflict"}),
    "ci": ("ci.py", {"settings_at", "skip_probability"}),
    "cadence": ("release.py", {"__init__"}),
    "release": ("release.py", {"_fixed_settings"}),
}


def _keys_read(tree: ast.AST) -> set[str]:
    """The string keys passed as the first argument of ``.get(...)`` calls."""
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)}


def _functions(module: str, names: set[str]) -> list[ast.FunctionDef]:
    tree = ast.parse((FLOW / module).read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name in names]


def test_every_key_the_model_looks_up_exists() -> None:
    known = set(parameter_keys())
    for path in sorted(FLOW.glob("*.py")):
        unknown = {key for key in _keys_read(ast.parse(path.read_text(encoding="utf-8"))) if "." in key} - known
        assert not unknown, f"{path.name} looks up keys no scenario has: {sorted(unknown)}"


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
