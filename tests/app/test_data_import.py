"""Your data: importing GitHub/GitLab API responses and incident exports as uploads, the import
report, the convention picker and the scoring window (streamlit AppTest)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DATA = ROOT / "tests" / "data" / "import"


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.rglob("*.json"):
            archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def open_data() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"view": "data", "reps": "2", "days": "28"})
    return at.run()


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture()
def imported() -> AppTest:
    at = open_data()
    at.file_uploader(key="import.archive").set_value(
        ("github.zip", zipped(DATA / "github"), "application/zip")
    )
    at.file_uploader(key="import.incidents").set_value(
        ("pagerduty.json", (DATA / "incidents" / "pagerduty.json").read_bytes(), "application/json")
    )
    at.selectbox(key="import.format").set_value("pagerduty")
    at.run()
    at.button(key="import.run").click().run()
    return at


def test_github_import_shows_what_was_imported_and_skipped(imported):
    at = imported
    assert_clean(at)
    text = markdown(at)
    assert "**Imported** from github: 3 deployments, 6 changes, 7 incidents" in text
    skipped = at.dataframe[0].value
    assert "environment 'staging' is not 'production'" in set(skipped["why"])
    assert len(at.metric) == 5
    assert any("by rule" in c.value for c in at.caption)


def test_all_conventions_side_by_side(imported):
    at = imported
    at.selectbox(key="data.convention").set_value("all").run()
    assert_clean(at)
    table = at.dataframe[-1].value
    assert list(table.columns) == ["metric", "dorasim (DORA)", "Four Keys", "Apache DevLake"]
    assert table["metric"].iloc[-1] == "Overall"


def test_a_single_reference_convention_and_a_chosen_window(imported):
    at = imported
    at.selectbox(key="data.convention").set_value("devlake").run()
    at.toggle(key="data.window-toggle").set_value(True).run()
    at.date_input(key="data.start").set_value(dt.date(2024, 3, 1))
    at.date_input(key="data.end").set_value(dt.date(2024, 3, 8)).run()
    assert_clean(at)
    assert "— 7 days, 3 deployments" in markdown(at)
    assert any("Apache DevLake would label" in c.value for c in at.caption)
    at.date_input(key="data.end").set_value(dt.date(2024, 2, 1)).run()
    assert at.error and "must be after start" in at.error[0].value


def test_a_garbage_archive_is_one_line():
    at = open_data()
    at.file_uploader(key="import.archive").set_value(("github.zip", b"not a zip", "application/zip")).run()
    at.button(key="import.run").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "github.zip: not a readable zip archive" in at.error[0].value


def test_an_incident_export_links_to_loaded_logs():
    at = open_data()
    next(b for b in at.button if b.label.startswith("No logs at hand")).click().run()
    csv = b"Ticket,Opened,Closed\nINC-1,2026-01-20T10:00:00Z,2026-01-20T12:00:00Z\n"
    at.file_uploader(key="import.incidents").set_value(("incidents.csv", csv, "text/csv"))
    at.selectbox(key="import.format").set_value("csv")
    at.text_input(key="import.map").set_value("id=Ticket,created=Opened,resolved=Closed").run()
    at.button(key="import.link").click().run()
    assert_clean(at)
    assert "**Imported** from csv" in markdown(at)
    assert ", 1 incidents (read" in markdown(at) or "1 incidents" in markdown(at)
