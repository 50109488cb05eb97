"""Incident exports (PagerDuty, Opsgenie, any CSV) and how incidents are linked to deployments:
by an explicit id, by a root-cause change, else by the last deployment before the incident opened."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.errors import InputError
from sim.importers.incidents import IncidentRecord, link_incidents, parse_map, read_incidents
from sim.importers.report import ImportReport

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def deployments(service: bool = False) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "deploy_id": ["101", "104", "105", "900"],
            "time_created": [
                utc("2024-03-01T10:05"),
                utc("2024-03-04T12:10"),
                utc("2024-03-06T08:30"),
                utc("2024-03-05T00:00"),
            ],
            "change_ids": ["a1 a2", "b1", "c1", "z1"],
        }
    )
    if service:
        frame["service"] = ["shop", "shop", "shop", "search"]
    return frame


def read(name: str, fmt: str, mapping: str | None = None) -> list[IncidentRecord]:
    path = DATA / "incidents" / name
    return read_incidents(path.read_bytes(), str(path), fmt, parse_map(mapping))


def test_pagerduty_api_json():
    records = read("pagerduty.json", "pagerduty")
    assert [r.incident_id for r in records] == ["Q1AAA", "Q1BBB", "Q1CCC", "Q1DDD"]
    assert records[0].created == utc("2024-03-01T11:00") and records[0].resolved == utc("2024-03-01T12:00")
    assert records[3].resolved is None  # triggered: still open
    assert records[0].service == "shop"


def test_pagerduty_csv_export_reads_the_same():
    json_records = read("pagerduty.json", "pagerduty")
    csv_records = read("pagerduty.csv", "pagerduty")
    assert [(r.incident_id, r.created, r.resolved, r.service) for r in csv_records] == [
        (r.incident_id, r.created, r.resolved, r.service) for r in json_records
    ]


def test_opsgenie_alerts_close_time_and_explicit_ids():
    records = read("opsgenie.json", "opsgenie")
    first, second, third = records
    assert first.incident_id == "70413a06-38d6-4c85-92b8-5ebc900d42e2"
    assert first.resolved == utc("2024-03-04T13:30")  # createdAt + report.closeTime (ms)
    assert first.deploy == "101"  # from the deploy:101 tag
    assert second.resolved == utc("2024-03-05T02:00")  # closed without a report: updatedAt
    assert second.deploy == "999" and second.service == "shop"
    assert third.resolved is None


def test_rows_without_an_id_column_are_named_by_their_line():
    records = read_incidents(b"Opened\n2024-01-01\n2024-01-02\n", "x.csv", "csv", {"created": "Opened"})
    assert [r.incident_id for r in records] == ["line-2", "line-3"]


def test_generic_csv_with_a_column_map():
    records = read(
        "generic.csv", "csv", "id=Ticket,created=Opened,resolved=Closed,deploy=Service Deploy,service=Service"
    )
    assert [r.incident_id for r in records] == ["INC-1", "INC-2", "INC-3"]
    assert records[1].created == utc("2024-03-04T12:00")  # +01:00 converted
    assert records[0].created == utc("2024-03-01T11:00")  # no offset: UTC
    assert records[1].deploy == "104" and records[0].deploy is None


def test_linking_explicit_id_then_root_cause_then_the_last_deployment_strictly_before():
    records = [
        IncidentRecord("by-id", utc("2024-03-06T09:00"), None, deploy="101"),
        IncidentRecord("by-cause", utc("2024-03-06T09:00"), None, root_cause="b1"),
        IncidentRecord("tie", utc("2024-03-06T08:30"), None),  # at 105's instant: strictly before → 104
        IncidentRecord("early", utc("2024-02-01"), None),
        IncidentRecord("unknown-id", utc("2024-03-02"), None, deploy="999"),
    ]
    report = ImportReport("test")
    rows = {r["incident_id"]: r for r in link_incidents(records, deployments(), report)}
    assert rows["by-id"]["deploy_id"] == "101"
    assert rows["by-cause"]["deploy_id"] == "104"
    assert (
        rows["tie"]["deploy_id"] == "900"
    )  # 900 (Mar 5) is the last before Mar 6 08:30 when services are unknown
    assert rows["early"]["deploy_id"] == ""
    assert rows["unknown-id"]["deploy_id"] == "101"
    assert report.links["incidents"]["by_rule"] == 2 and report.links["incidents"]["unlinked"] == 1
    assert "last deployment created strictly before" in report.links["incidents"]["rule"]


def test_the_rule_uses_the_incident_service_when_deployments_name_services():
    records = [
        IncidentRecord("tie", utc("2024-03-06T08:30"), None, service="shop"),
        IncidentRecord("search", utc("2024-03-06T09:00"), None, service="search"),
    ]
    rows = {
        r["incident_id"]: r for r in link_incidents(records, deployments(service=True), ImportReport("t"))
    }
    assert rows["tie"]["deploy_id"] == "104"  # the last *shop* deployment strictly before
    assert rows["search"]["deploy_id"] == "900"


def test_with_github_import_on_the_command_line(tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "import",
                "github",
                "--from",
                str(DATA / "github"),
                "--out",
                str(out),
                "--incidents",
                str(DATA / "incidents" / "pagerduty.json"),
                "--incident-format",
                "pagerduty",
            ]
        )
        == 0
    )
    incidents = pd.read_csv(out / "incidents.csv", dtype=str, keep_default_na=False).set_index("incident_id")
    assert incidents.loc["Q1AAA", "deploy_id"] == "101"
    assert incidents.loc["Q1CCC", "deploy_id"] == "104"  # opened at 105's finish: not caused by it
    assert incidents.loc["Q1BBB", "deploy_id"] == ""


@pytest.mark.parametrize(
    "data, fmt, mapping, message",
    [
        (b"{garbage", "pagerduty", None, "not valid JSON (line 1, column 2"),
        (b'{"incidents": {"id": 1}}', "pagerduty", None, "expected a JSON array of PagerDuty incidents"),
        (b'{"incidents": [{"id": "A"}]}', "pagerduty", None, "incident 0: created_at is empty"),
        (
            b'{"data": [{"id": "A", "createdAt": "soon"}]}',
            "opsgenie",
            None,
            "createdAt 'soon' is not an ISO 8601",
        ),
        (b"a,b\n1,2\n", "csv", None, "no column 'time_created'"),
        (
            b"incident_id,time_created\nA,2024-01-01\nA,2024-01-02\n",
            "csv",
            None,
            "incident id 'A' appears twice",
        ),
        (
            b"incident_id,time_created,time_resolved\nA,2024-01-02,2024-01-01\n",
            "csv",
            None,
            "resolved before it was created",
        ),
        (
            b"incident_id,time_created\nA,2024-01-01,extra\n",
            "csv",
            None,
            "line 2: 3 fields, the header has 2",
        ),
        (b"\xff\xfe", "csv", None, "not UTF-8 text"),
    ],
)
def test_hostile_exports_are_one_line(data, fmt, mapping, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        read_incidents(data, "export", fmt, parse_map(mapping))


@pytest.mark.parametrize(
    "text, message",
    [
        ("created", "expected KEY=COLUMN pairs"),
        ("when=Opened", "unknown key 'when'"),
        ("created=", "expected KEY=COLUMN"),
    ],
)
def test_bad_maps(text, message):
    """A map key must be one of the documented keys, with a column after the ``=``."""
    with pytest.raises(InputError, match=message):
        parse_map(text)


def test_incident_file_errors_on_the_command_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1,")
    code = main(
        [
            "import",
            "github",
            "--from",
            str(DATA / "github"),
            "--out",
            str(tmp_path / "o"),
            "--incidents",
            str(bad),
            "--incident-format",
            "opsgenie",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "bad.json: not valid JSON" in err and err.count("\n") == 1


def test_a_huge_incident_file_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    import sim.importers.files as files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1024)
    huge = tmp_path / "huge.json"
    huge.write_text('{"incidents": [' + ", ".join(['{"id": "x"}'] * 200) + "]}")
    code = main(
        [
            "import",
            "github",
            "--from",
            str(DATA / "github"),
            "--out",
            str(tmp_path / "o"),
            "--incidents",
            str(huge),
            "--incident-format",
            "pagerduty",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "huge.json: the file is 0.0 MB; the limit is 0 MB" in err and err.count("\n") == 1
