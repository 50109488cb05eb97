"""The README stays true: its parameter table is the generated one, its commands exist."""

from pathlib import Path

from sim.cli import COMMANDS
from sim.model.reference import markdown_table
from sim.model.scenario import parameter_keys

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_parameter_table_is_the_generated_one():
    assert markdown_table() in README


def test_every_parameter_has_a_source_label():
    for key in parameter_keys():
        row = next(line for line in README.splitlines() if line.startswith(f"| `{key}` |"))
        assert any(label in row for label in ("| assumed", "| published", "| measured")), row


def test_quick_start_commands():
    assert "pip install -e '.[app]' && streamlit run app.py" in README
    assert "pip install -e '.[test]' && python -m pytest" in README


def test_every_cli_command_is_shown():
    for command in COMMANDS:
        assert f"python -m sim {command}" in README


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci
    assert "pip install -q -e '.[test]'" in ci
