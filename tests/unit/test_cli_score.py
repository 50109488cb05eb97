"""``python -m sim score`` end to end, in a subprocess as users and scripts run it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sim.cli.tables import band_text
from sim.metrics.registry import format_metric

CHANGES = (
    "change_id,time_created\nC1,2024-01-01T00:00:00Z\nC2,2024-01-01T06:00:00Z\nC3,2024-01-02T00:00:00Z\n"
)
DEPLOYMENTS = (
    "deploy_id,time_created,change_ids,unplanned\n"
    "D1,2024-01-01T10:00:00Z,C1 C2,false\n"  # lead times 10 h and 4 h
    "D2,2024-01-02T10:00:00Z,X9,true\n"  # unknown change id: one warning
)
INCIDENTS = (
    "incident_id,time_created,time_resolved,deploy_id\nI1,2024-01-01T11:00:00Z,2024-01-01T13:00:00Z,D1\n"
)


BAD_INPUTS = {
    # case: (extra arguments, files to replace (None = delete), the message on stderr)
    "missing file": ((), {"changes": None}, "changes.csv: no such file"),
    "bad timestamp": (
        (),
        {"incidents": "incident_id,time_created,time_resolved,deploy_id\nI1,tuesday,,\n"},
        "incidents.csv line 2: time_created 'tuesday' is not an ISO 8601 timestamp",
    ),
    "bad benchmark": (("--benchmark", "2020"), {}, "--benchmark: '2020' is not a known benchmark"),
    "start without end": (("--start", "2024-01-01"), {}, "--start needs --end too"),
    "end before start": (("--start", "2024-01-05", "--end", "2024-01-01"), {}, "must be after --start"),
    "bad start": (("--start", "first of may", "--end", "2024-01-01"), {}, "--start: 'first of may' is not"),
}
GOOD_RUNS = {
    "json": ("--json", "--start", "2024-01-01", "--end", "2024-01-03"),
    "table": ("--benchmark", "2021"),
}


def _files(directory, replace):
    paths = {}
    for name, text in (("changes", CHANGES), ("deployments", DEPLOYMENTS), ("incidents", INCIDENTS)):
        paths[name] = directory / f"{name}.csv"
        text = replace.get(name, text)
        if text is not None:
            paths[name].write_text(text)
    return paths


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every case's finished process; started together because each one imports pandas."""
    cases = {name: (extra, {}) for name, extra in GOOD_RUNS.items()}
    cases |= {name: (extra, replace) for name, (extra, replace, _) in BAD_INPUTS.items()}
    started = {}
    for name, (extra, replace) in cases.items():
        files = _files(tmp_path_factory.mktemp("score"), replace)
        args = [sys.executable, "-m", "sim", "score"]
        for kind in ("changes", "deployments", "incidents"):
            args += [f"--{kind}", str(files[kind])]
        started[name] = subprocess.Popen(
            [*args, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    done = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


def test_json_is_the_only_output_and_has_exactly_the_documented_keys(runs):
    done = runs["json"]
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result = json.loads(done.stdout)
    assert set(result) == {"window_days", "metrics", "bands", "counts", "warnings"}
    assert set(result["metrics"]) == {
        "deployment_frequency_per_day",
        "lead_time_hours",
        "change_failure_rate",
        "time_to_restore_hours",
        "rework_rate",
    }
    assert set(result["bands"]) == {
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "time_to_restore",
        "overall",
    }
    assert set(result["counts"]) == {"changes", "deployments", "incidents", "undeployed_changes"}
    assert result["window_days"] == 2
    assert result["metrics"]["deployment_frequency_per_day"] == 1.0
    assert result["metrics"]["lead_time_hours"] == 7.0
    assert result["metrics"]["time_to_restore_hours"] == 2.0
    assert len(result["warnings"]) == 1
    assert done.stdout == json.dumps(result, indent=2) + "\n"


def test_table_output_names_metrics_and_warnings(runs):
    done = runs["table"]
    assert done.returncode == 0, done.stderr
    for text in ("Change lead time", "7.0 h", "50.0 %", "Overall", "warning", "X9"):
        assert text in done.stdout


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_and_no_traceback(runs, case):
    done = runs[case]
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert BAD_INPUTS[case][2] in done.stderr


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("deployment_frequency_per_day", 2.14, "2.1 / day"),
        ("deployment_frequency_per_day", 1.0, "1.0 / day"),
        ("deployment_frequency_per_day", 1 / 6.5, "1 every 6.5 days"),
        ("deployment_frequency_per_day", 0.0, "0 / day"),
        ("lead_time_hours", 0.25, "15 min"),
        ("lead_time_hours", 3.21, "3.2 h"),
        ("lead_time_hours", 47.9, "47.9 h"),
        ("lead_time_hours", 108.0, "4.5 days"),
        ("time_to_restore_hours", 1.0, "1.0 h"),
        ("change_failure_rate", 0.12, "12.0 %"),
        ("rework_rate", 0.0, "0.0 %"),
        ("lead_time_hours", None, "—"),
        ("change_failure_rate", float("nan"), "—"),
    ],
)
def test_metric_values_read_like_people_write_them(key, value, text):
    assert format_metric(key, value) == text


def test_band_text_is_the_band_word_or_a_dash():
    assert str(band_text("elite")) == "elite"
    assert str(band_text(None)) == "—"
