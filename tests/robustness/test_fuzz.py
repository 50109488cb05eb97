"""Hypothesis: generated command lines and CSV bytes.

Whatever is generated, the outcome is exit 0 with well-formed output, or exit 2 with exactly one line
on stderr — never another exception, never a hang (each command runs under a deadline), and logs
that read always hold timestamps inside the accepted range (no silent overflow).
"""

from __future__ import annotations

import io
import json
import math
import string

import pandas as pd
from hostile import log_args, run_main
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.metrics import timerange
from sim.metrics.logs import read_logs
from sim.metrics.scoring import score_logs

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CSV_FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

NUMBERS = st.one_of(
    st.integers(-5, 3).map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "1.5", "1e3", "0x10", "٣", "１", "nan", "inf", "-0", "+2", "1_0", "9" * 400]),
    st.text(alphabet=string.printable, max_size=12),
)
DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.just(None)).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "1677-09-21",
            "1699-12-31",
            "1700-01-01",
            "2199-12-31",
            "2200-01-01",
            "2262-04-12",
            "0000-01-01",
            "2026-02-30",
            "2026-01-05T25:00",
            "now",
            "today",
            "2026-01-05T10:00:00+99:00",
        ]
    ),
    st.text(max_size=20),
)
LIGHT_KEYS = [
    "ci.runners",
    "ci.flaky_rate",
    "release.cadence",
    "release.deploy",
    "quality.defect_rate",
    "branching.strategy",
    "operations.automated_rollback",
    "start",
    "seed",
    "name",
    "no.such.key",
    "team",
    "ci",
    "",
    "=",
    "ci.runners.extra",
]
SET_VALUES = st.one_of(
    NUMBERS, DATES, st.sampled_from(['"daily"', "true", "false", "[1, 2]", "{a = 1}", '"', "'x'"])
)
TARGETS = st.one_of(  # half of them good, so runs get through to their output too
    st.sampled_from(["baseline", "elite", "small_batch", "tests/data/scenarios/child.toml"]),
    st.sampled_from(
        [
            "nowhere.toml",
            "/dev/zero",
            "/",
            "/proc/self/status",
            "tests/data/scenarios/unknown_key.toml",
            "tests/data/scenarios/circular_a.toml",
            "scenarios/plan_90_days.toml",
            "",
            "-",
            "--json",
        ]
    ),
)
SMALL = st.one_of(st.integers(0, 4).map(str), NUMBERS)


@st.composite
def scenario_command(draw) -> list[str]:
    command = draw(st.sampled_from(["run", "compare", "plan", "events"]))
    # cheap defaults first: a generated option given later wins (argparse keeps the last)
    args = [
        command,
        draw(
            TARGETS
            if command != "plan"
            else st.sampled_from(["plan_90_days", "baseline", "/dev/zero", "nowhere.toml", "/"])
        ),
    ]
    args += ["--days", "7", "--workers", "1"] + (["--reps", "1"] if command != "events" else [])
    options = ["--seed", "--workers", "--days", "--set", "--benchmark", "--json"]
    options += ["--replication", "--out"] if command == "events" else ["--reps"]
    for option in draw(st.lists(st.sampled_from(options), max_size=4)):
        if option == "--json":
            args.append(option)
        elif option == "--set":
            args += ["--set", f"{draw(st.sampled_from(LIGHT_KEYS))}={draw(SET_VALUES)}"]
        elif option == "--benchmark":
            args += [option, draw(st.sampled_from(["2023", "2021", "2019", "", "x"]))]
        elif option == "--out":
            args += [option, draw(st.sampled_from(["/proc/nope", "/dev/full", "OUT"]))]
        elif option in ("--days", "--reps"):  # valid values stay small so every example is quick
            args += [
                option,
                draw(st.one_of(st.integers(-3, 14).map(str), NUMBERS.filter(lambda t: not t.isdigit()))),
            ]
        else:
            args += [option, draw(SMALL)]
    if command == "events" and "--out" not in args:
        args += ["--out", "OUT"]
    return args


def check(outcome, *, json_out: bool) -> None:
    event(f"exit {outcome.code}")  # --hypothesis-show-statistics: how many examples got through
    assert outcome.code in (0, 2), (outcome.code, outcome.err)
    if outcome.code == 2:
        lines = outcome.err.splitlines()
        assert len(lines) == 1 and lines[0].strip(), outcome.err
        assert "Traceback" not in outcome.err
        assert outcome.out == "" or not json_out
    elif json_out:
        json.loads(outcome.out)


@FUZZ
@given(args=scenario_command())
@example(
    args=["run", "baseline", "--days", "7", "--workers", "1", "--reps", "1", "--set", "start=1677-09-25"]
)
@example(args=["events", "baseline", "--days", "7", "--workers", "1", "--replication", "-1", "--out", "OUT"])
@example(args=["plan", "plan_90_days", "--days", "7", "--workers", "1", "--reps", "1", "--json"])
def test_generated_command_lines_exit_0_or_2_with_one_line(args, tmp_path):
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    check(run_main(*args, timeout=60), json_out="--json" in args)


@FUZZ
@given(start=DATES, end=DATES, benchmark=st.sampled_from(["2023", "2021", "1999"]))
@example(start="0001-01-01", end="9999-01-01", benchmark="2023")
def test_generated_score_windows(start, end, benchmark, small_logs):
    outcome = run_main(
        "score",
        *log_args(small_logs),
        "--start",
        start,
        "--end",
        end,
        "--benchmark",
        benchmark,
        "--json",
        timeout=60,
    )
    check(outcome, json_out=True)


# ---------------------------------------------------------------------------------------------
# CSV bytes


STAMPS = st.one_of(
    st.datetimes(
        min_value=pd.Timestamp("1600-01-01").to_pydatetime(),
        max_value=pd.Timestamp("3000-01-01").to_pydatetime(),
    ).map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(
        [
            "2026-01-05T10:00:00Z",
            "2026-01-05",
            "2026-01-05T10:00:00+02:00",
            "1677-09-21T00:12:43Z",
            "2262-04-11T23:47:16.854775807Z",
            "2262-04-11T23:47:16.854775808Z",
            "9999-12-31",
            "0000-01-01",
            "",
            "now",
            "1",
            "2026-13-01",
            "2026-01-05 10:00",
            "+2026-01-05",
            "2026-W02",
        ]
    ),
)
CELLS = st.one_of(
    STAMPS,
    st.text(max_size=12),
    st.sampled_from(["true", "false", "C1", "C1 C2", "D1", "I1", '"', '"a,b"', "\t", "\r", "x" * 300]),
)
COLUMNS = {
    "changes": ["change_id", "time_created"],
    "deployments": ["deploy_id", "time_created", "change_ids", "unplanned"],
    "incidents": ["incident_id", "time_created", "time_resolved", "deploy_id"],
}
VALID = {
    "changes": "change_id,time_created\nC1,2026-01-05T10:00:00Z\nC2,2026-01-06T10:00:00Z\n",
    "deployments": "deploy_id,time_created,change_ids,unplanned\nD1,2026-01-07T10:00:00Z,C1 C2,false\n",
    "incidents": "incident_id,time_created,time_resolved,deploy_id\nI1,2026-01-07T11:00:00Z,2026-01-07T12:00:00Z,D1\n",
}


@st.composite
def csv_file(draw, kind: str) -> bytes:
    columns = list(COLUMNS[kind])
    columns = draw(st.permutations(columns))
    extra = draw(st.lists(st.sampled_from(["team", "x", columns[0], "", "a b", "é"]), max_size=2))
    header = list(columns) + extra
    if draw(st.booleans()):
        header = draw(st.lists(st.sampled_from(header), min_size=1, max_size=len(header) + 1))
    rows = draw(st.lists(st.lists(CELLS, min_size=len(header), max_size=len(header)), max_size=6))
    separator = draw(st.sampled_from([",", ",", ",", "\t", ";"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\n\n"]))
    text = ending.join(separator.join(cells) for cells in [header, *rows]) + ending
    return text.encode("utf-8")


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def read_and_score(files: dict[str, bytes]) -> None:
    try:
        logs = read_logs(*(named(files[k], f"{k}.csv") for k in ("changes", "deployments", "incidents")))
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 1200
        return
    for frame, columns in (
        (logs.changes, ["time_created"]),
        (logs.deployments, ["time_created"]),
        (logs.incidents, ["time_created", "time_resolved"]),
    ):
        for column in columns:
            present = frame[column].dropna()
            assert ((present >= timerange.FIRST) & (present < timerange.END)).all(), (
                "a timestamp slipped out of range"
            )
    try:
        result = score_logs(logs)
    except InputError as exc:  # e.g. a window that ends before it starts
        assert "\n" not in str(exc)
        return
    json.dumps(result, allow_nan=False)
    for value in result["metrics"].values():
        assert value is None or math.isfinite(value)


@CSV_FUZZ
@given(kind=st.sampled_from(list(COLUMNS)), data=st.data())
def test_generated_csv_files_read_or_fail_in_one_line(kind, data):
    files = {k: v.encode() for k, v in VALID.items()}
    files[kind] = data.draw(csv_file(kind))
    read_and_score(files)


@CSV_FUZZ
@given(kind=st.sampled_from(list(COLUMNS)), raw=st.binary(max_size=300))
@example(kind="changes", raw=b"change_id,time_created\nC1,1600-01-01T00:00:00Z\n")
@example(kind="changes", raw=b"change_id\ttime_created\nC1\t2026-01-05\n")
@example(kind="changes", raw=b"\xef\xbb\xbfchange_id,time_created,change_id\n")
@example(
    kind="incidents", raw=b"incident_id,time_created,time_resolved,deploy_id\nI1,2026-01-07,2262-04-12,D1\n"
)
def test_generated_csv_bytes_read_or_fail_in_one_line(kind, raw):
    files = {k: v.encode() for k, v in VALID.items()}
    files[kind] = raw
    read_and_score(files)


def test_the_fuzzed_valid_files_do_score():
    """Control: the valid files the generators start from read and score."""
    logs = read_logs(*(named(VALID[k].encode(), f"{k}.csv") for k in ("changes", "deployments", "incidents")))
    assert score_logs(logs)["counts"]["deployments"] == 1


# ---------------------------------------------------------------------------------------------
# Names and ids from files reach the tables as text, never as markup


NAMES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@NAMES
@given(name=st.text(max_size=30))
@example(name="[/x] [bold]b :smile:")
@example(name="\x1b[31mred\x07")
def test_any_scenario_name_prints_in_the_table(name):
    outcome = run_main(
        "run", "baseline", "--days", "7", "--reps", "1", "--workers", "1", "--set", f"name={json.dumps(name)}"
    )
    check(outcome, json_out=False)


@NAMES
@given(change_id=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20))
@example(change_id="[/x]")
def test_any_id_prints_in_the_score_warnings(change_id, small_logs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ids")
    cell = '"' + change_id.replace('"', '""') + '"'
    (folder / "deployments.csv").write_text(
        "deploy_id,time_created,change_ids\nD1,2026-01-07T10:00:00Z," + cell + "\n", encoding="utf-8"
    )
    outcome = run_main("score", *log_args(small_logs, deployments=folder / "deployments.csv"))
    check(outcome, json_out=False)
