"""Scenario files: validation errors (one line, exit 2), ``extends`` and ``--set``."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import InputError
from sim.model.scenario import (
    Scenario,
    get_value,
    load_scenario,
    load_scenario_text,
    parameter_info,
    parameter_keys,
    parse_override,
    scenario_to_toml,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "scenarios"
BASELINE = ROOT / "scenarios" / "baseline.toml"

# id: (command-line arguments after "run", words the one-line message must contain)
BAD_INPUTS = {
    "unknown key": (
        [DATA / "unknown_key.toml"],
        ["unknown_key.toml", "ci.runers", "unknown key", "ci.runners"],
    ),
    "wrong type": ([DATA / "wrong_type.toml"], ["wrong_type.toml", "team.engineers", "eight", "integer"]),
    "out of range": ([DATA / "out_of_range.toml"], ["out_of_range.toml", "quality.defect_rate", "1.5", "1"]),
    "unknown enum": (
        [DATA / "unknown_enum.toml"],
        ["unknown_enum.toml", "release.cadence", "hourly", "continuous", "monthly"],
    ),
    "bad TOML": ([DATA / "bad_syntax.toml"], ["bad_syntax.toml", "TOML", "line 5"]),
    "missing extends": (
        [DATA / "missing_extends.toml"],
        ["missing_extends.toml", "extends", "no_such_parent.toml", "not found"],
    ),
    "circular extends": ([DATA / "circular_a.toml"], ["circular_a.toml", "extends", "circular"]),
    "missing file": ([DATA / "no_such_scenario.toml"], ["no_such_scenario.toml", "not found"]),
    "--set unknown key": (
        [BASELINE, "--set", "ci.runers=3"],
        ["--set", "ci.runers", "unknown key", "ci.runners"],
    ),
    "--set wrong type": ([BASELINE, "--set", "ci.runners=many"], ["--set", "ci.runners", "many", "integer"]),
    "--set out of range": ([BASELINE, "--set", "ci.runners=0"], ["--set", "ci.runners", "0", "1"]),
    "--set unknown enum": (
        [BASELINE, "--set", "release.deploy=magic"],
        ["--set", "release.deploy", "magic", "manual"],
    ),
    "--set without =": ([BASELINE, "--set", "ci.runners"], ["--set", "ci.runners", "KEY=VALUE"]),
}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``python -m sim ARGV`` in this process: ``sim.__main__`` is exactly ``SystemExit(main())``."""
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_naming_what_where_and_why(capsys, name):
    args, words = BAD_INPUTS[name]
    code, out, err = run_cli(["run", *args, "--reps", "1", "--days", "7"], capsys)
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], f"{word!r} missing from: {lines[0]}"


def test_bad_input_through_a_real_process_is_one_line_and_no_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(DATA / "unknown_enum.toml"), "--reps", "1", "--days", "7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "release.cadence = 'hourly'" in result.stderr


def test_unknown_key_suggests_the_close_match(capsys):
    _, _, err = run_cli(["run", DATA / "unknown_key.toml", "--reps", "1", "--days", "7"], capsys)
    assert "did you mean 'ci.runners'" in err


@pytest.mark.parametrize(
    ("args", "value"),
    [
        ([DATA / "unknown_key.toml"], "4"),  # the file sets `runers = 4`
        ([BASELINE, "--set", "ci.runers=3"], "3"),
    ],
)
def test_unknown_key_message_names_its_value(capsys, args, value):
    _, _, err = run_cli(["run", *args, "--reps", "1", "--days", "7"], capsys)
    assert value in err


# ------------------------------------------------------------------------------------------------
# The same rules through the library (what the app calls)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"ci.runners": 0}, ["ci.runners", "0"]),
        ({"ci.runners": 2.5}, ["ci.runners", "2.5", "integer"]),
        ({"quality.defect_rate": -0.1}, ["quality.defect_rate", "-0.1"]),
        ({"branching.strategy": "gitflow"}, ["branching.strategy", "gitflow", "trunk"]),
        ({"operations.automated_rollback": "yes"}, ["operations.automated_rollback", "yes"]),
        ({"team.enginers": 3}, ["team.enginers", "team.engineers"]),
        ({"days": 0}, ["days", "0"]),
    ],
)
def test_with_values_validates_like_a_file(values, words):
    with pytest.raises(InputError) as caught:
        Scenario().with_values(values, source="my-source")
    message = str(caught.value)
    assert "\n" not in message
    for word in ["my-source", *words]:
        assert word in message


def test_bad_toml_text_names_the_line():
    with pytest.raises(InputError, match=r"upload\.toml: .*line 3"):
        load_scenario_text('name = "x"\n[ci]\nrunners = = 2\n', "upload.toml")


# ------------------------------------------------------------------------------------------------
# Happy paths: extends and --set


def test_extends_inherits_what_the_child_does_not_list():
    child = load_scenario(DATA / "child.toml")
    assert child.name == "child"
    assert child.ci.runners == 6  # the child's own value
    assert child.release.cadence == "daily"  # the child's own value
    assert child.ci.test_suite_minutes == 15.0  # inherited from parent.toml
    assert child.release.max_batch_size == 25  # inherited from parent.toml
    assert child.days == 14  # inherited identity key
    assert child.quality == Scenario().quality  # neither file lists it: defaults


def test_set_overrides_win_over_both_files_and_are_typed():
    child = load_scenario(
        DATA / "child.toml",
        [
            "ci.runners=9",
            "release.deploy=automated",
            "ci.test_suite_minutes=30",
            "branching.feature_flags=true",
            'name="tuned"',
        ],
    )
    assert child.ci.runners == 9
    assert child.release.deploy == "automated"
    assert child.ci.test_suite_minutes == 30.0 and isinstance(child.ci.test_suite_minutes, float)
    assert child.branching.feature_flags is True
    assert child.name == "tuned"
    assert child.release.max_batch_size == 25  # still inherited


def test_overrides_as_a_mapping():
    s = load_scenario(BASELINE, {"ci.runners": 5, "release.cadence": "monthly"})
    assert (s.ci.runners, s.release.cadence) == (5, "monthly")


def test_shipped_scenarios_extend_the_baseline():
    baseline = load_scenario(BASELINE)
    elite = load_scenario(ROOT / "scenarios" / "elite.toml")
    assert elite.name == "elite"
    assert elite.branching.strategy == "trunk" and elite.release.deploy == "automated"
    assert elite.team == baseline.team  # elite.toml does not touch the team
    for name in ("baseline", "trunk_based", "automated", "small_batch", "elite", "heroics"):
        assert load_scenario(ROOT / "scenarios" / f"{name}.toml").name == name


def test_cli_accepts_extends_and_set(capsys):
    code, out, err = run_cli(
        [
            "run",
            DATA / "child.toml",
            "--reps",
            "1",
            "--days",
            "7",
            "--set",
            "ci.runners=9",
            "--set",
            "name=via_set",
            "--json",
            "--workers",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["scenario"] == "via_set"
    assert document["days"] == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ci.runners=10", ("ci.runners", 10)),
        ("quality.defect_rate=0.5", ("quality.defect_rate", 0.5)),
        ("operations.automated_rollback=true", ("operations.automated_rollback", True)),
        ('release.cadence="daily"', ("release.cadence", "daily")),
        ("release.cadence=daily", ("release.cadence", "daily")),  # a bare word is a string
        (" ci.runners = 3 ", ("ci.runners", 3)),
        ("start=2026-02-02", ("start", dt.date(2026, 2, 2))),
    ],
)
def test_parse_override(text, expected):
    assert parse_override(text) == expected


# ------------------------------------------------------------------------------------------------
# Every key is documented


DESIGN_KEYS = [
    "team.engineers",
    "team.changes_per_engineer_per_day",
    "team.overtime",
    "branching.strategy",
    "branching.branch_lifetime_days",
    "branching.feature_flags",
    "ci.test_suite_minutes",
    "ci.runners",
    "ci.flaky_rate",
    "ci.skip_threshold_minutes",
    "quality.defect_rate",
    "quality.test_detection_rate",
    "release.cadence",
    "release.max_batch_size",
    "release.deploy",
    "operations.automated_rollback",
    "operations.detect_minutes",
    "operations.hotfix_hours",
]


def test_design_keys_exist():
    assert set(DESIGN_KEYS) <= set(parameter_keys())


@pytest.mark.parametrize("key", parameter_keys())
def test_every_key_has_unit_source_and_help(key):
    info = parameter_info(key)
    assert info["unit"] and info["help"]
    assert info["source"] in ("measured", "published", "assumed")
    if info["source"] == "published":
        assert info["cite"], f"{key} is labelled published but cites nothing"
    assert get_value(Scenario(), key) == info["default"]


def test_scenario_to_toml_round_trips(tmp_path):
    original = load_scenario(ROOT / "scenarios" / "heroics.toml")
    text = scenario_to_toml(original, comments={"team.overtime": "60-hour weeks"})
    assert "60-hour weeks" in text
    assert load_scenario_text(text, "written.toml") == original
    (tmp_path / "written.toml").write_text(text)
    assert load_scenario(tmp_path / "written.toml") == original
