"""Hosting: the Dockerfile's start command serves a healthy app with XSRF protection and CORS on.

No Docker engine is needed: the test runs the image's ``CMD`` on this machine (on 127.0.0.1 and a free
port instead of 0.0.0.0:8501), asks Streamlit's health endpoint through the image's ``HEALTHCHECK``
command, and checks that an upload without the session's XSRF token is refused.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from hostile import ROOT, cli_env

from dorasim_app import limits

DOCKERFILE = ROOT / "Dockerfile"
CONFIG = ROOT / ".streamlit" / "config.toml"
START_SECONDS = 60


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        if raw.strip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        lines.append(current.strip())
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def only(name: str) -> str:
    found = [args for instruction, args in instructions() if instruction == name]
    assert len(found) == 1, (name, found)
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local(command: list[str], port: int) -> list[str]:
    """The image's command on this machine: loopback only, a free port."""
    out = []
    for arg in command:
        if arg.startswith("--server.address="):
            arg = "--server.address=127.0.0.1"
        elif arg.startswith("--server.port="):
            arg = f"--server.port={port}"
        out.append(arg)
    if out[0] == "streamlit":
        out = [sys.executable, "-m", "streamlit", *out[1:]]
    return out


def get(
    url: str, headers: dict[str, str] | None = None, method: str = "GET", data: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    command = local(json.loads(only("CMD")), port)
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the start command exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if get(f"{base}/_stcore/health")[2] == b"ok":
                    break
            except OSError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(f"no health answer within {START_SECONDS} s")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_image_is_debian_slim_and_runs_as_a_user():
    assert only("FROM").startswith("python:3.11-slim")
    user = only("USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    names = [instruction for instruction, _ in instructions()]
    assert names.index("USER") > max(
        i for i, name in enumerate(names) if name == "RUN"
    )  # nothing runs as root after


def test_the_start_command_serves_a_healthy_app(server):
    status, _, body = get(f"{server}/_stcore/health")
    assert (status, body) == (200, b"ok")
    status, _, page = get(server)
    assert status == 200 and b"<html" in page.lower()


def test_the_healthcheck_command_passes_against_it(server):
    healthcheck = only("HEALTHCHECK")
    assert "/_stcore/health" in healthcheck
    command = healthcheck.split(" CMD ", 1)[1].replace(":8501/", f":{server.rsplit(':', 1)[1]}/")
    assert subprocess.run(["sh", "-c", command], timeout=30, env=cli_env()).returncode == 0
    # and it fails when nothing answers
    dead = command.replace(f":{server.rsplit(':', 1)[1]}/", f":{free_port()}/")
    assert (
        subprocess.run(["sh", "-c", dead], timeout=30, env=cli_env(), stderr=subprocess.DEVNULL).returncode
        != 0
    )


def test_an_upload_without_the_xsrf_token_is_refused(server):
    status, _, body = get(
        f"{server}/_stcore/upload_file/some-session/some-file", method="PUT", data=b"x" * 10
    )
    assert status == 403, (status, body[:200])


def test_another_site_gets_no_cross_origin_access(server):
    _, headers, _ = get(f"{server}/_stcore/health", headers={"Origin": "http://elsewhere.example"})
    assert headers.get("access-control-allow-origin", headers.get("Access-Control-Allow-Origin")) in (
        None,
        "",
    )


def test_the_settings_agree_everywhere():
    server = tomllib.loads(CONFIG.read_text())["server"]
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True
    assert server["maxUploadSize"] == limits.MAX_UPLOAD_MB
    command = json.loads(only("CMD"))
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in command if arg.startswith("--"))
    assert flags["server.enableXsrfProtection"] == "true" and flags["server.enableCORS"] == "true"
    assert int(flags["server.maxUploadSize"]) == limits.MAX_UPLOAD_MB
    assert command[:3] == ["streamlit", "run", "app.py"]
    assert shlex.split(only("EXPOSE")) == ["8501"]
