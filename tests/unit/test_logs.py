"""Reading, validating and writing the three event-log CSV files (DESIGN §2)."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from sim.errors import InputError
from sim.metrics.logs import logs_to_csv_bytes, read_logs, write_logs
from sim.metrics.scoring import score_logs

VALID = {
    "changes": "change_id,time_created\n001,2024-01-01T00:00:00Z\n002,2024-01-01T06:00:00+02:00\n",
    "deployments": "deploy_id,time_created,change_ids,unplanned\nD1,2024-01-01T10:00:00Z,001 002,false\n",
    "incidents": "incident_id,time_created,time_resolved,deploy_id\nI1,2024-01-01T11:00:00Z,2024-01-01T12:00:00Z,D1\n",
}


def _write(tmp_path, **texts):
    paths = {}
    for kind in ("changes", "deployments", "incidents"):
        path = tmp_path / f"{kind}.csv"
        text = texts.get(kind, VALID[kind])
        if text is not None:
            path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        paths[kind] = path
    return paths


def _read(paths):
    return read_logs(paths["changes"], paths["deployments"], paths["incidents"])


# (case id, file, its content (None = absent), the one-line message after the file name)
BAD_INPUTS = [
    ("missing file", "changes", None, "changes.csv: no such file"),
    ("zero bytes", "deployments", "", "deployments.csv: the file is empty; expected a header line"),
    ("blank lines only", "incidents", "\n\n", "incidents.csv: the file is empty"),
    ("not utf-8", "changes", b"change_id,time_created\n\xff\xfe,x\n", "changes.csv: not UTF-8 text"),
    (
        "missing column",
        "deployments",
        "deploy_id,time_created\nD1,2024-01-01T10:00:00Z\n",
        "deployments.csv: missing required column 'change_ids' (the header has deploy_id, time_created)",
    ),
    (
        "missing time_resolved column",
        "incidents",
        "incident_id,time_created,deploy_id\n",
        "incidents.csv: missing required column 'time_resolved'",
    ),
    (
        "bad timestamp",
        "changes",
        "change_id,time_created\nC1,2024-01-01T00:00:00Z\nC2,yesterday\n",
        "changes.csv line 3: time_created 'yesterday' is not an ISO 8601 timestamp",
    ),
    (
        "impossible date",
        "deployments",
        "deploy_id,time_created,change_ids\nD1,2024-02-30T10:00:00Z,\n",
        "deployments.csv line 2: time_created '2024-02-30T10:00:00Z' is not an ISO 8601 timestamp",
    ),
    (
        "the word now",
        "changes",
        "change_id,time_created\nC1,now\n",
        "changes.csv line 2: time_created 'now' is not an ISO 8601 timestamp",
    ),
    (
        "empty time_created",
        "incidents",
        "incident_id,time_created,time_resolved,deploy_id\nI1,,,D1\n",
        "incidents.csv line 2: time_created is empty",
    ),
    (
        "bad time_resolved",
        "incidents",
        "incident_id,time_created,time_resolved,deploy_id\nI1,2024-01-01T11:00:00Z,soon,D1\n",
        "incidents.csv line 2: time_resolved 'soon' is not an ISO 8601 timestamp",
    ),
    (
        "line numbers count blank lines",
        "changes",
        "change_id,time_created\nC1,2024-01-01T00:00:00Z\n\nC2,2024-01-01T00:00:00Z\nC3,01/02/2024\n",
        "changes.csv line 5: time_created '01/02/2024' is not an ISO 8601 timestamp",
    ),
    (
        "duplicate id",
        "deployments",
        "deploy_id,time_created,change_ids\nD1,2024-01-01T10:00:00Z,\nD2,2024-01-01T11:00:00Z,\nD1,2024-01-01T12:00:00Z,\n",
        "deployments.csv line 4: duplicate deploy_id 'D1' (first on line 2)",
    ),
    (
        "empty id",
        "changes",
        "change_id,time_created\n,2024-01-01T00:00:00Z\n",
        "changes.csv line 2: change_id is empty",
    ),
    (
        "resolved before created",
        "incidents",
        "incident_id,time_created,time_resolved,deploy_id\n"
        "I1,2024-01-01T11:00:00Z,2024-01-01T12:00:00Z,D1\n"
        "I2,2024-01-01T11:00:00Z,2024-01-01T12:30:00+02:00,D1\n",
        "incidents.csv line 3: incident 'I2' has time_resolved before time_created",
    ),
    (
        "unplanned not a boolean",
        "deployments",
        "deploy_id,time_created,change_ids,unplanned\nD1,2024-01-01T10:00:00Z,,yes\n",
        "deployments.csv line 2: unplanned 'yes' is not true or false",
    ),
    (
        "ragged row",
        "changes",
        "change_id,time_created\nC1,2024-01-01T00:00:00Z,extra,fields\n",
        "changes.csv: not a readable CSV file",
    ),
]


@pytest.mark.parametrize(
    ("kind", "text", "message"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_one_line_naming_file_and_problem(tmp_path, kind, text, message):
    paths = _write(tmp_path, **{kind: text})
    with pytest.raises(InputError, match=re.escape(message)) as caught:
        _read(paths)
    assert "\n" not in str(caught.value)
    assert str(paths[kind]) in str(caught.value)


def test_a_directory_is_not_a_file(tmp_path):
    paths = _write(tmp_path)
    paths["changes"] = tmp_path
    with pytest.raises(InputError, match="is a directory"):
        _read(paths)


def test_uploaded_file_objects_are_named_by_their_name():
    upload = io.BytesIO(b"change_id,time_created\nC1,later\n")
    upload.name = "my_changes.csv"
    deployments, incidents = (io.BytesIO(VALID[k].encode()) for k in ("deployments", "incidents"))
    deployments.name, incidents.name = "d.csv", "i.csv"
    with pytest.raises(InputError, match=r"^my_changes\.csv line 2: time_created 'later'"):
        read_logs(upload, deployments, incidents)


def test_header_only_files_are_valid_with_zero_rows(tmp_path):
    logs = _read(_write(tmp_path, incidents="incident_id,time_created,time_resolved,deploy_id\n"))
    assert len(logs.incidents) == 0
    assert score_logs(logs)["counts"]["incidents"] == 0


def test_values_are_read_as_written(tmp_path):
    logs = _read(
        _write(
            tmp_path,
            changes="change_id,time_created,author\n001,2024-01-01T02:00:00+02:00,ann\nNA,2024-01-01T00:00:00\n",
            deployments="deploy_id,time_created,change_ids,unplanned\n"
            "D1,2024-01-01T10:00:00Z,001 NA,TRUE\nD2,2024-01-02T10:00:00Z,,\n",
            incidents="incident_id,time_created,time_resolved,deploy_id\nI1,2024-01-01T11:00:00Z,,\n",
        )
    )
    assert logs.changes["change_id"].tolist() == ["001", "NA"]  # never 1, never NaN
    assert (logs.changes["time_created"] == pd.Timestamp("2024-01-01T00:00:00Z")).all()  # offset and naive
    assert str(logs.changes["time_created"].dtype) == "datetime64[ns, UTC]"
    assert logs.changes["author"].tolist() == ["ann", ""]  # extra columns are kept
    assert logs.deployments["change_ids"].tolist() == ["001 NA", ""]
    assert logs.deployments["unplanned"].tolist() == [True, False]
    assert logs.incidents["time_resolved"].isna().all()
    assert logs.incidents["deploy_id"].isna().all()


def test_unplanned_column_is_optional(tmp_path):
    logs = _read(
        _write(tmp_path, deployments="deploy_id,time_created,change_ids\nD1,2024-01-01T10:00:00Z,\n")
    )
    assert logs.deployments["unplanned"].tolist() == [False]


def test_write_uses_iso_utc_with_z_and_only_the_digits_needed(tmp_path):
    logs = _read(
        _write(
            tmp_path,
            changes="change_id,time_created\nC1,2024-01-01T02:00:00+02:00\nC2,2024-01-01T00:00:00.250Z\n",
        )
    )
    files = logs_to_csv_bytes(logs)
    assert files["changes.csv"].decode() == (
        "change_id,time_created\nC1,2024-01-01T00:00:00.000Z\nC2,2024-01-01T00:00:00.250Z\n"
    )
    assert files["deployments.csv"].decode() == (
        "deploy_id,time_created,change_ids,unplanned\nD1,2024-01-01T10:00:00Z,001 002,false\n"
    )
    assert files["incidents.csv"].decode() == (
        "incident_id,time_created,time_resolved,deploy_id\nI1,2024-01-01T11:00:00Z,2024-01-01T12:00:00Z,D1\n"
    )


def test_round_trip_preserves_everything_the_scorer_uses(tmp_path, logs_from):
    logs = logs_from(
        [
            ("001", "2024-01-01T00:00:00.123456789Z"),
            ("C 2", "2024-01-01T05:00:00+05:30"),
            ("C3", "2024-01-03"),
        ],
        [
            ("D1", "2024-01-01T10:00:00Z", ["001"], False),
            ("D2", "2024-01-02T10:00:00.5Z", "001 C3", True),
            ("D3", "2024-01-04T00:00:00Z", "", False),
        ],
        [
            ("I1", "2024-01-01T11:00:00Z", "2024-01-01T12:00:00.000001Z", "D1"),
            ("I2", "2024-01-02T11:00:00Z", None, "D2"),
            ("I3", "2024-01-02T12:00:00Z", "2024-01-02T13:00:00Z", None),
        ],
    )
    paths = write_logs(logs, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == ["changes.csv", "deployments.csv", "incidents.csv"]
    again = read_logs(paths["changes"], paths["deployments"], paths["incidents"])
    for kind, frame in logs.frames().items():
        back = again.frames()[kind]
        for column in ("time_created", "time_resolved"):
            if column in frame:
                pd.testing.assert_series_equal(back[column], frame[column])
    assert again.deployments["change_ids"].tolist() == ["001", "001 C3", ""]
    assert again.deployments["unplanned"].tolist() == [False, True, False]
    assert again.incidents["deploy_id"].isna().tolist() == [False, False, True]
    assert score_logs(again) == score_logs(logs)
