"""sim.files: the one reader of user-named files, and the rule for where ``extends`` may point."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from hostile import deadline

from sim.errors import InputError
from sim.files import CSV, TOML, LocalFiles, NamedFiles, check_writable, read_bytes, read_text
from sim.model.catalog import shipped
from sim.model.scenario import load_scenario, load_scenario_text

SECRET = "hunter2-do-not-show"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "private" / "secrets.toml"
    path.parent.mkdir()
    path.write_text(f'[connections.db]\npassword = "{SECRET}"\n')
    return path


def refused(call, *words: str) -> str:
    with deadline(10), pytest.raises(InputError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)
    return message


# ---------------------------------------------------------------------------------------------
# Regular files only


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("/dev/zero", "a device"),
        ("/dev/null", "a device"),
        ("/dev/urandom", "a device"),
        ("/", "a directory"),
    ],
)
def test_devices_and_folders_are_refused_before_opening(path, what):
    refused(lambda: read_bytes(path, TOML), path, f"is {what}, not a TOML file")


def test_a_fifo_is_refused_at_once_even_with_no_writer(tmp_path):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    started = time.monotonic()
    refused(lambda: read_text(fifo, CSV), "named pipe (FIFO)")
    assert time.monotonic() - started < 1


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        refused(lambda: read_bytes(path), "a socket")


def test_missing_files_and_bad_names(tmp_path):
    refused(lambda: read_bytes(tmp_path / "nope.toml", what="plan file"), "nope.toml: plan file not found")
    refused(lambda: read_bytes(tmp_path / "nope.csv", CSV), "nope.csv: no such file")
    refused(lambda: read_bytes(tmp_path / "f" / "x", TOML), "not found")
    refused(lambda: read_bytes("bad\0name"), "not a valid file name")
    refused(lambda: read_bytes(tmp_path / ("x" * 5000)), "too long")


def test_a_size_cap_per_kind_changed_by_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "a.toml"
    path.write_bytes(b"#" * 2048)
    assert len(read_bytes(path)) == 2048
    monkeypatch.setenv("DORASIM_MAX_TOML_KB", "1")
    refused(
        lambda: read_bytes(path), "a.toml: the TOML file is 2 KB; the limit is 1 KB", "DORASIM_MAX_TOML_KB"
    )
    for bad in ("0", "-1", "x", "inf", "nan"):
        monkeypatch.setenv("DORASIM_MAX_TOML_KB", bad)
        refused(lambda: read_bytes(path), "DORASIM_MAX_TOML_KB")
    monkeypatch.setenv("DORASIM_MAX_LOG_MB", "0.001")
    refused(lambda: read_bytes(path, CSV), "the limit is 1.023 KB")


def test_a_file_reporting_size_zero_is_still_capped(monkeypatch):
    """/proc files report size 0: the read stops one byte past the cap instead of trusting stat."""
    monkeypatch.setenv("DORASIM_MAX_TOML_KB", "0.01")  # 10 bytes
    refused(lambda: read_bytes("/proc/self/status"), "more than 10 bytes")


def test_text_must_be_utf8(tmp_path):
    path = tmp_path / "x.toml"
    path.write_bytes(b'name = "\xff"\n')
    refused(lambda: read_text(path), "x.toml: not UTF-8 text (bad byte at offset 8)")
    path.write_bytes("\ufeffname = 'bom'\n".encode())
    assert read_text(path) == "name = 'bom'\n"


def test_outputs_are_probed_without_truncating_or_blocking(tmp_path):
    existing = tmp_path / "keep.toml"
    existing.write_text("kept")
    check_writable(existing)
    assert existing.read_text() == "kept"
    new = tmp_path / "new.toml"
    check_writable(new)
    assert not new.exists()
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    refused(lambda: check_writable(fifo), "named pipe")
    refused(lambda: check_writable("/proc/version"), "cannot write this file")
    refused(lambda: check_writable(tmp_path / "no" / "such" / "x.toml"), "cannot write this file")


# ---------------------------------------------------------------------------------------------
# extends on the command line: paths relative to the file


def test_local_extends_follow_paths_but_not_into_devices(tmp_path, secret):
    child = tmp_path / "child.toml"
    child.write_text('extends = "../../../../../../../../dev/zero"\n')
    refused(
        lambda: load_scenario(child), "child.toml: extends = '../../../../../../../../dev/zero'", "a device"
    )
    child.write_text('extends = "private"\n')
    refused(lambda: load_scenario(child), "is a directory")


def test_a_long_extends_chain_stops(tmp_path):
    for i in range(40):
        (tmp_path / f"s{i}.toml").write_text(f'extends = "s{i + 1}.toml"\n')
    (tmp_path / "s40.toml").write_text('name = "end"\n')
    refused(lambda: load_scenario(tmp_path / "s0.toml"), "more than 32 files in the extends chain")


def test_deeply_nested_toml_is_one_line(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    refused(lambda: load_scenario(path), "deep.toml: invalid TOML")


# ---------------------------------------------------------------------------------------------
# extends in the hosted app: names only


def app_resolver(uploaded: dict[str, bytes] | None = None) -> NamedFiles:
    return NamedFiles(shipped("scenario"), uploaded or {})


def traversal_to(secret: Path) -> str:
    """A relative path from the shipped scenarios to ``secret``: what the old resolver followed."""
    return os.path.relpath(secret, next(iter(shipped("scenario").values())).parent)


def test_the_traversal_never_reads_the_file(secret):
    relative = traversal_to(secret)
    assert (next(iter(shipped("scenario").values())).parent / relative).resolve() == secret.resolve()
    before = secret.stat().st_atime_ns
    for target in (
        relative,
        str(secret),
        f"../{secret.name}",
        "/dev/zero",
        "./baseline.toml",
        "..",
        "sub/baseline.toml",
        "C:\\secrets.toml",
        "~/secrets.toml",
        "",
    ):
        text = f'extends = "{target}"\n[ci]\nrunners = 3\n'.replace("\\", "\\\\")
        message = refused(
            lambda text=text: load_scenario_text(text, "mine.toml", resolver=app_resolver()),
            "mine.toml: extends =",
        )
        assert SECRET not in message and "connections" not in message
        assert str(secret.parent) not in message.replace(target, "")
    assert secret.stat().st_atime_ns == before


def test_names_reach_shipped_scenarios_and_this_sessions_uploads():
    scenario = load_scenario_text(
        'extends = "baseline.toml"\n[ci]\nrunners = 3\n', "mine.toml", resolver=app_resolver()
    )
    assert scenario.ci.runners == 3 and scenario.release.cadence == "weekly"
    assert (
        load_scenario_text('extends = "elite"\n', "mine.toml", resolver=app_resolver()).release.deploy
        == "automated"
    )
    uploads = {"team.toml": b'extends = "baseline.toml"\n[team]\nengineers = 4\n'}
    child = load_scenario_text(
        'extends = "team.toml"\n[ci]\nrunners = 2\n', "child.toml", resolver=app_resolver(uploads)
    )
    assert (child.team.engineers, child.ci.runners) == (4, 2)
    message = refused(
        lambda: load_scenario_text('extends = "other.toml"\n', "c.toml", resolver=app_resolver(uploads)),
        "no shipped scenario or uploaded file of that name",
        "baseline.toml",
        "team.toml",
    )
    assert "/" not in message


def test_an_upload_cycle_is_caught():
    uploads = {"a.toml": b'extends = "b.toml"\n', "b.toml": b'extends = "a.toml"\n'}
    refused(
        lambda: load_scenario_text('extends = "a.toml"\n', "a.toml", resolver=app_resolver(uploads)),
        "circular",
    )


def test_local_files_anchor_text_at_the_given_folder(tmp_path):
    (tmp_path / "parent.toml").write_text("[ci]\nrunners = 7\n")
    resolver = LocalFiles(tmp_path)
    assert load_scenario_text('extends = "parent.toml"\n', "child.toml", resolver=resolver).ci.runners == 7
