"""The hosted app fed hostile uploads and links: it reads nothing it should not and shows no secret.

A visitor's scenario or plan may ``extends`` only a shipped scenario or a file uploaded in the same
session, by name. The traversal (``../../…/secrets.toml``, or an absolute path) that once resolved on
the server and echoed the file's keys and values is refused without the file being read.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import ROOT
from streamlit.testing.v1 import AppTest

from dorasim_app import limits, state

APP = str(ROOT / "app.py")
TINY = {"reps": "2", "days": "28"}
SECRET = "s3cr3t-pa55word-4ff1"


_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if (
        _OPENED is not None
        and event in ("open", "os.open")
        and args
        and isinstance(args[0], str | bytes | Path)
    ):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@contextlib.contextmanager
def files_opened() -> Iterator[list[str]]:
    """Every path this process opens meanwhile (Python's audit hook sees every open)."""
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "server" / "secrets.toml"
    path.parent.mkdir()
    path.write_text(f'[connections.db]\nhost = "db.internal"\npassword = "{SECRET}"\n')
    return path


def open_app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({**TINY, **params})
    return at.run()


def everything_shown(at: AppTest) -> str:
    parts = []
    for kind in (
        "error",
        "warning",
        "info",
        "success",
        "markdown",
        "caption",
        "text",
        "code",
        "exception",
        "title",
        "header",
        "subheader",
    ):
        for element in getattr(at, kind):
            parts.append(str(getattr(element, "value", element)))
    return "\n".join(parts)


def upload_scenario(at: AppTest, name: str, text: str) -> AppTest:
    at.file_uploader(key="upload.scenario").set_value((name, text.encode(), "application/toml"))
    return at.run()


def assert_refused_quietly(at: AppTest, *words: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert "\n" not in errors[0]
    for word in words:
        assert word in errors[0], (word, errors[0])
    shown = everything_shown(at)
    assert SECRET not in shown and "db.internal" not in shown and "connections" not in shown


def traversal(secret: Path) -> str:
    return os.path.relpath(secret, state.SCENARIO_DIR)


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_an_uploaded_scenario_cannot_extend_a_server_file(secret, how):
    target = traversal(secret) if how == "relative" else str(secret)
    assert (state.SCENARIO_DIR / target).resolve() == secret.resolve()  # it would reach the file
    at = open_app(view="data")
    with files_opened() as opened:
        upload_scenario(at, "mine.toml", f'extends = "{target}"\nname = "mine"\n[ci]\nrunners = 3\n')
    assert_refused_quietly(at, "mine.toml: extends =", "only the name of a shipped scenario")
    assert opened, "the audit hook saw the app open its own files"
    assert not [path for path in opened if "secrets" in path or path.startswith(str(secret.parent))]
    assert not any("mine" in name for name in at.session_state["custom_scenarios"])


@pytest.mark.parametrize("target", ["/dev/zero", "FIFO"])
def test_devices_and_pipes_in_an_upload_are_refused_at_once(tmp_path, target):
    if target == "FIFO":
        target = str(tmp_path / "pipe.toml")
        os.mkfifo(target)
    at = open_app(view="data")
    started = time.monotonic()
    upload_scenario(at, "mine.toml", f'extends = "{target}"\n')
    assert time.monotonic() - started < 20
    assert_refused_quietly(at, "extends")


def test_an_edited_plan_cannot_extend_a_server_file(secret):
    at = open_app(view="plan")
    name = at.session_state["choice.plan"]
    at.text_area(key=f"plan.text.{name}").set_value(
        f'extends = "{traversal(secret)}"\nname = "p"\n[[phase]]\nday = 1\nname = "x"\n'
    )
    with files_opened() as opened:
        at.button(key="plan.apply").click().run()
    assert not [path for path in opened if "secrets" in path]
    assert not at.exception
    shown = everything_shown(at)
    assert "only the name of a shipped scenario" in shown
    assert SECRET not in shown and "db.internal" not in shown
    assert name not in at.session_state.get("plan.edited", {})


def test_an_upload_may_extend_a_shipped_scenario_or_an_earlier_upload():
    at = open_app(view="data")
    upload_scenario(at, "team.toml", 'extends = "baseline.toml"\nname = "our team"\n[team]\nengineers = 5\n')
    assert not at.error and not at.exception
    upload_scenario(
        at,
        "trunk.toml",
        'extends = "team.toml"\nname = "our team on trunk"\n[branching]\nstrategy = "trunk"\n',
    )
    assert not at.error and not at.exception, [e.value for e in at.error]
    custom = at.session_state["custom_scenarios"]
    trunk = custom[state.CUSTOM_MARK + "our team on trunk (uploaded)"]
    assert (trunk.team.engineers, trunk.branching.strategy, trunk.release.cadence) == (5, "trunk", "weekly")


def test_an_upload_above_the_hosted_caps_is_refused():
    at = upload_scenario(
        open_app(view="data"), "big.toml", f"[team]\nengineers = {limits.MAX_ENGINEERS + 1}\n"
    )
    assert_refused_quietly(at, "team.engineers", f"at most {limits.MAX_ENGINEERS}")
    at = upload_scenario(open_app(view="data"), "long.toml", f"days = {limits.MAX_DAYS + 1}\n")
    assert_refused_quietly(at, "days", f"at most {limits.MAX_DAYS}")


def test_one_visitors_upload_is_not_visible_to_another():
    first = upload_scenario(open_app(view="data"), "private.toml", 'name = "private-team-7f3a"\n')
    assert any("private-team-7f3a" in name for name in first.session_state["custom_scenarios"])
    second = open_app(view="data")
    assert "custom_scenarios" not in second.session_state or not second.session_state["custom_scenarios"]
    assert "private-team-7f3a" not in everything_shown(second)
    # and the second visitor cannot extend the first one's upload by name
    upload_scenario(second, "mine.toml", 'extends = "private.toml"\n')
    assert "no shipped scenario or uploaded file of that name" in second.error[0].value


def test_a_link_cannot_lift_the_caps():
    at = open_app(view="data", reps="100000", days="100000", **{"team.engineers": "500"})
    assert not at.exception
    warnings = "\n".join(w.value for w in at.warning)
    assert "reps='100000'" in warnings and "days='100000'" in warnings and "team.engineers = 500" in warnings
    settings = at.session_state["settings"]
    assert settings["reps"] <= limits.MAX_REPS and settings["days"] <= limits.MAX_DAYS
    assert "team.engineers" not in at.session_state["overrides"]


def test_the_work_of_one_run_is_capped_whatever_key_carries_it():
    per_day = 50  # the schema allows it; with 200 engineers over 730 days that is millions of changes
    at = upload_scenario(
        open_app(view="data"),
        "busy.toml",
        f"days = 365\n[team]\nengineers = 150\nchanges_per_engineer_per_day = {per_day}\n",
    )
    assert_refused_quietly(at, "changes in one run", f"at most {limits.MAX_CHANGES_PER_RUN:,}")
    shipped_ok = list(state.scenario_files())
    assert shipped_ok  # every shipped scenario runs within the caps
    for name in shipped_ok:
        limits.check_scenario(state.load_file_scenario(name).with_values({"days": limits.MAX_DAYS}), name)
