"""The app's import upload and links against hostile input: one st.error line (or a warning), never a traceback."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SHA = "ab" * 20
DEPLOYMENT = {"id": 1, "environment": "production", "sha": SHA, "created_at": "2024-03-01T10:00:00Z"}
STATUS = [{"state": "success", "created_at": "2024-03-01T10:05:00Z"}]
PULL = {"number": 2, "created_at": "2024-02-28T10:00:00Z", "merged_at": "2024-02-29T10:00:00Z"}


def archive(files: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, value in files.items():
            out.writestr(f"export/{name}", value if isinstance(value, str | bytes) else json.dumps(value))
    return buffer.getvalue()


def upload(files: dict[str, object]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"view": "data", "reps": "2", "days": "28"})
    at.run()
    at.file_uploader(key="import.archive").set_value(("hostile.zip", archive(files), "application/zip"))
    at.run()
    at.button(key="import.run").click().run()
    return at


@pytest.mark.parametrize(
    "files, message",
    [
        ({"deployments.json": [{**DEPLOYMENT, "id": "../../etc"}]}, "is not a numeric id"),
        (
            {
                "deployments.json": [DEPLOYMENT],
                "deployments/1/statuses.json": STATUS,
                "pulls.json": [PULL],
                "pulls/2/commits.json": [{"sha": SHA, "commit": "text"}],
            },
            "commit must be a JSON object",
        ),
        (
            {
                "deployments.json": [{**DEPLOYMENT, "created_at": "9999-01-01T00:00:00Z"}],
                "deployments/1/statuses.json": STATUS,
            },
            "is outside the dates",
        ),
        ({"deployments.json": "[" * 50_000 + "]" * 50_000}, "nested too deeply"),
        ({"deployments.json": [1, "x", None]}, "expected a JSON object"),
        (
            {"deployments.json": [DEPLOYMENT], "issues.json": [{"number": 1, "labels": 7}]},
            "labels must be a JSON array",
        ),
    ],
)
def test_a_hostile_archive_is_one_error_line(files, message):
    at = upload(files)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and message in errors[0] and "\n" not in errors[0], errors


def test_a_link_to_a_plan_outside_the_shipped_ones_is_refused_with_a_warning():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"view": "learn", "plan": "../../etc/passwd"})
    at.run()
    assert not at.exception
    assert any("plan='../../etc/passwd': no such plan" in w.value for w in at.warning)
    assert at.session_state["choice.plan"] is None


def test_the_ignored_part_of_a_link_stays_shown_after_a_rerun():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"view": "learn", "reps": "100000"})
    at.run()
    assert any("reps='100000'" in w.value for w in at.warning)
    at.run()  # a rerun (as st.rerun() makes) keeps the warning
    assert any("reps='100000'" in w.value for w in at.warning)
