"""The live importers against a hostile server on the loopback, and hostile saved files and outputs.

Every case ends in exit 2 and one line (or is handled as docs/import.md says): no token reaches another
origin, no file appears outside --out, no request loop runs unbounded, no wait is negative, NaN or
infinite, and the token is never printed.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.errors import InputError
from sim.importers.http import MAX_WAIT_ONE, MIN_WAIT, RATE_RETRIES, Client, Limits, check_api_url, clamp_wait
from tests.unit.hostile_server import HostileServer, Seen, json_answer

TOKEN = "ghp_secretTOKEN123"
DEPLOYMENT = {"id": 1, "environment": "production", "sha": "a" * 40, "created_at": "2024-03-01T10:00:00Z"}


def run_cli(capsys: Any, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_exit_2(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1, err
    assert TOKEN not in out + err
    for fragment in fragments:
        assert fragment in err, err


def live(kind: str, url: str, out: Path, *extra: str) -> list[str]:
    repo = "octo/shop" if kind == "github" else "group/shop"
    return [
        "import",
        kind,
        "--repo",
        repo,
        "--token-env",
        "HOSTILE_TOKEN",
        "--api-url",
        url,
        "--out",
        str(out),
        *extra,
    ]


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("HOSTILE_TOKEN", TOKEN)


def empty_lists(server: HostileServer, seen: Seen) -> Any:
    return json_answer([])


# ---------------------------------------------------------------------------------------------
# 1. The token stays with its origin


@pytest.mark.parametrize("kind, header", [("github", "authorization"), ("gitlab", "private-token")])
def test_a_next_link_to_another_origin_is_refused_and_gets_no_token(tmp_path, capsys, kind, header):
    with HostileServer(empty_lists) as other:

        def route(server: HostileServer, seen: Seen) -> Any:
            return json_answer([DEPLOYMENT], headers={"Link": f'<{other.url}/steal?page=2>; rel="next"'})

        with HostileServer(route) as server:
            base = server.url if kind == "github" else f"{server.url}/api/v4"
            code, out, err = run_cli(capsys, *live(kind, base, tmp_path / "out"))
    one_line_exit_2(code, out, err, "another origin", "refused so that the token is not sent there")
    assert other.seen == []  # nothing at all went to the other origin
    assert server.saw_token(header, TOKEN) == 1


@pytest.mark.parametrize("kind, header", [("github", "authorization"), ("gitlab", "private-token")])
def test_a_redirect_to_another_origin_is_refused(tmp_path, capsys, kind, header):
    with HostileServer(empty_lists) as other:

        def route(server: HostileServer, seen: Seen) -> Any:
            return 302, {"Location": f"{other.url}/elsewhere"}, b""

        with HostileServer(route) as server:
            base = server.url if kind == "github" else f"{server.url}/api/v4"
            code, out, err = run_cli(capsys, *live(kind, base, tmp_path / "out"))
    one_line_exit_2(code, out, err, "redirect (302) points to another origin")
    assert other.seen == []


def test_a_redirect_within_the_origin_is_followed_with_the_token(tmp_path):
    def route(server: HostileServer, seen: Seen) -> Any:
        if seen.path.startswith("/moved"):
            return json_answer([{"id": 7}])
        return 301, {"Location": "/moved/here"}, b""

    with HostileServer(route) as server:
        client = Client(server.url, {}, auth={"Authorization": f"Bearer {TOKEN}"})
        assert client.get_all("list") == [{"id": 7}]
    assert server.saw_token("authorization", TOKEN) == 2


@pytest.mark.parametrize(
    "url, message",
    [
        ("file:///etc/passwd", "only https:// URLs are accepted"),
        ("ftp://127.0.0.1/x", "only https:// URLs are accepted"),
        ("http://example.com/api", "plain http would send the token unencrypted"),
        ("http://[::1", "not a valid URL"),
        ("https://user:pw@example.com", "may not carry a user name or password"),
        ("https://", "names no host"),
    ],
)
def test_api_urls_are_checked_before_any_request(tmp_path, capsys, url, message):
    code, out, err = run_cli(capsys, *live("github", url, tmp_path / "out"))
    one_line_exit_2(code, out, err, message)
    assert not (tmp_path / "out").exists()


def test_loopback_http_is_accepted():
    for url in (
        "http://127.0.0.1:8080",
        "http://localhost/api/v4",
        "http://[::1]:9000",
        "https://gitlab.example",
    ):
        assert check_api_url(url) == url


@pytest.mark.parametrize(
    "token, kind",
    [
        (f"{TOKEN}\n{TOKEN}", "a space or line break"),
        (f"{TOKEN} x", "a space or line break"),
        (f"{TOKEN}é", "a non-ASCII character"),
        (f"{TOKEN}\x01", "a control character"),
    ],
)
def test_a_token_that_cannot_travel_in_a_header_is_refused_without_being_shown(
    tmp_path, capsys, monkeypatch, token, kind
):
    monkeypatch.setenv("HOSTILE_TOKEN", token)
    with HostileServer(empty_lists) as server:
        code, out, err = run_cli(capsys, *live("github", server.url, tmp_path / "out"))
    one_line_exit_2(code, out, err, kind, "the token is not shown")
    assert server.seen == []


# ---------------------------------------------------------------------------------------------
# 2. Ids are data, not paths


@pytest.mark.parametrize(
    "kind, bad",
    [
        ("github", "../../../../x"),
        ("gitlab", "../../outside"),
        ("github", "1/../../x"),
        ("github", -5),
        ("gitlab", 1.5),
        ("github", True),
    ],
)
def test_a_server_id_that_would_be_a_path_is_refused_and_nothing_is_written_outside(
    tmp_path, capsys, kind, bad
):
    def route(server: HostileServer, seen: Seen) -> Any:
        if seen.path.split("?")[0].endswith("/deployments"):
            return json_answer([{**DEPLOYMENT, "id": bad, "status": "success"}])
        return json_answer([{"state": "success", "created_at": "2024-03-01T10:05:00Z"}])

    work = tmp_path / "work"
    work.mkdir()
    with HostileServer(route) as server:
        base = server.url if kind == "github" else f"{server.url}/api/v4"
        code, out, err = run_cli(capsys, *live(kind, base, work / "out"))
    one_line_exit_2(code, out, err, "is not a numeric id (digits only)")
    assert files_under(tmp_path) == {"work"}  # nothing written, inside --out or outside it


def test_a_saved_id_that_would_be_a_path_reads_nothing_outside_from(tmp_path, capsys):
    saved = tmp_path / "saved"
    (saved).mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "statuses.json").write_text(
        '[{"state": "success", "created_at": "2024-03-01T10:00:00Z"}]'
    )
    (saved / "deployments.json").write_text(json.dumps([{**DEPLOYMENT, "id": "../../outside"}]))
    code, out, err = run_cli(capsys, "import", "github", "--from", str(saved), "--out", str(tmp_path / "out"))
    one_line_exit_2(code, out, err, "deployments.json item 0: id", "is not a numeric id")


def test_a_saved_file_that_links_outside_from_is_refused(tmp_path, capsys):
    saved = tmp_path / "saved"
    (saved / "deployments" / "1").mkdir(parents=True)
    secret = tmp_path / "secret.json"
    secret.write_text('[{"state": "success", "created_at": "2024-03-01T10:00:00Z"}]')
    (saved / "deployments" / "1" / "statuses.json").symlink_to(secret)
    (saved / "deployments.json").write_text(json.dumps([DEPLOYMENT]))
    code, out, err = run_cli(capsys, "import", "github", "--from", str(saved), "--out", str(tmp_path / "out"))
    one_line_exit_2(code, out, err, "leads outside", "read only from inside the folder")


# ---------------------------------------------------------------------------------------------
# 3. Rate limits: waits clamped, retries bounded


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "-1"},
        {"Retry-After": "nan"},
        {"Retry-After": "inf"},
        {"Retry-After": "1e30"},
        {"Retry-After": "soon"},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"},  # a reset in the past
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1e30"},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "nan"},
    ],
)
def test_rate_limit_waits_are_clamped_and_bounded(headers):
    waits: list[float] = []

    def route(server: HostileServer, seen: Seen) -> Any:
        return json_answer(
            {"message": "API rate limit exceeded"}, 429 if "Retry-After" in headers else 403, headers
        )

    with HostileServer(route) as server:
        client = Client(server.url, {}, sleep=waits.append, limits=Limits(max_wait=1e9, deadline=1e9))
        with pytest.raises(InputError, match=r"rate limited|still rate limited"):
            client.get_all("list")
    assert 1 <= len(waits) <= RATE_RETRIES
    assert all(MIN_WAIT <= w <= MAX_WAIT_ONE for w in waits), waits
    assert len(server.seen) <= RATE_RETRIES + 1


def test_a_retry_after_date_waits_until_then():
    waits: list[float] = []
    answers = iter([json_answer({}, 429, {"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}), json_answer([])])
    with HostileServer(lambda server, seen: next(answers)) as server:
        client = Client(
            server.url, {}, sleep=waits.append, clock=lambda: 1445412480.0
        )  # 30 s before that date
        assert client.get_all("list") == []
    assert waits == [30.0]


def test_clamp_wait():
    assert clamp_wait(float("nan")) == clamp_wait(float("inf")) == clamp_wait(None) == 60.0
    assert clamp_wait(-5) == MIN_WAIT and clamp_wait(1e30) == MAX_WAIT_ONE and clamp_wait(12.5) == 12.5


def test_rate_limit_gives_up_past_max_wait_with_one_line(tmp_path, capsys):
    def route(server: HostileServer, seen: Seen) -> Any:
        return json_answer({"message": "slow down"}, 429, {"Retry-After": "3000"})

    with HostileServer(route) as server:
        code, out, err = run_cli(capsys, *live("github", server.url, tmp_path / "out", "--max-wait", "60"))
    one_line_exit_2(code, out, err, "rate limited; the limit resets at")
    assert len(server.seen) == 1


def test_server_errors_are_retried_a_bounded_number_of_times(monkeypatch):
    waits: list[float] = []
    with HostileServer(lambda server, seen: json_answer({"message": "boom"}, 503)) as server:
        client = Client(server.url, {}, sleep=waits.append)
        with pytest.raises(InputError, match=r"answered 503 .* 4 times"):
            client.get_all("list")
    assert len(server.seen) == 4


# ---------------------------------------------------------------------------------------------
# 4. Bounded work: bytes, requests, pages, time


def test_a_decompression_bomb_stops_at_the_byte_cap(tmp_path):
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", compresslevel=9)  # 64 MB from ~64 KB
    assert len(bomb) < 200_000

    def route(server: HostileServer, seen: Seen) -> Any:
        return 200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, bomb

    with HostileServer(route) as server:
        client = Client(server.url, {}, limits=Limits(max_bytes=1024 * 1024))
        with pytest.raises(
            InputError,
            match=r"larger than 1 MB \(after decompression\); raise the cap with "
            r"--max-response-mb",
        ):
            client.get_all("list")


def test_a_large_body_stops_at_the_byte_cap(tmp_path, capsys):
    body = b"[" + b"{}," * 400_000 + b"{}]"

    def route(server: HostileServer, seen: Seen) -> Any:
        return 200, {"Content-Type": "application/json"}, body

    with HostileServer(route) as server:
        code, out, err = run_cli(
            capsys, *live("github", server.url, tmp_path / "out", "--max-response-mb", "0.5")
        )
    one_line_exit_2(code, out, err, "larger than 0.5 MB")


def test_endless_next_links_stop_at_the_page_cap_with_one_line(tmp_path, capsys):
    def route(server: HostileServer, seen: Seen) -> Any:
        found = re.search(r"[?&]page=(\d+)", seen.path)
        page = int(found.group(1)) if found else 1
        return json_answer(
            [{**DEPLOYMENT, "id": page}],
            headers={"Link": f'<{server.url}/repos/octo/shop/deployments?page={page + 1}>; rel="next"'},
        )

    with HostileServer(route) as server:
        code, out, err = run_cli(capsys, *live("github", server.url, tmp_path / "out", "--max-pages", "5"))
    one_line_exit_2(code, out, err, "more than 5 pages", "--max-pages")
    assert len(server.seen) == 5


def test_a_next_link_back_to_a_page_already_read_stops(tmp_path):
    def route(server: HostileServer, seen: Seen) -> Any:
        return json_answer([{"id": 1}], headers={"Link": f'<{server.url}/list?per_page=100>; rel="next"'})

    with HostileServer(route) as server:
        client = Client(server.url, {})
        with pytest.raises(InputError, match="points back to a page already read"):
            client.get_all("list")
    assert len(server.seen) == 1


def test_the_request_cap_stops_the_import(tmp_path, capsys):
    deployments = [{**DEPLOYMENT, "id": n} for n in range(1, 30)]

    def route(server: HostileServer, seen: Seen) -> Any:
        if seen.path.split("?")[0].endswith("/deployments"):
            return json_answer(deployments)
        return json_answer([])

    with HostileServer(route) as server:
        code, out, err = run_cli(
            capsys, *live("github", server.url, tmp_path / "out", "--max-requests", "10")
        )
    one_line_exit_2(code, out, err, "more than 10 requests", "--max-requests")
    assert len(server.seen) == 10


def test_a_body_dripped_byte_by_byte_stops_at_the_deadline(tmp_path):
    def drip(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(40):  # bounded: at most 20 s
            try:
                handler.wfile.write(b" ")
                handler.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            time.sleep(0.5)

    with HostileServer(lambda server, seen: drip) as server:
        client = Client(server.url, {}, limits=Limits(deadline=2.0, timeout=1.0))
        began = time.monotonic()
        with pytest.raises(InputError, match="ran past its deadline of 2 s"):
            client.get_all("list")
    assert time.monotonic() - began < 6


def test_a_silent_server_times_out(tmp_path):
    def silent(handler: Any) -> None:
        time.sleep(3)

    with HostileServer(lambda server, seen: silent) as server:
        client = Client(server.url, {}, limits=Limits(timeout=0.5, deadline=5.0), sleep=lambda s: None)
        with pytest.raises(InputError, match=r"cannot reach the API|deadline"):
            client.get_all("list")


# ---------------------------------------------------------------------------------------------
# 5. Bodies of the wrong shape


@pytest.mark.parametrize(
    "body, message",
    [
        (b'[1, "x", null]', "item 0: expected a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"message": "hi"}', "expected a JSON array"),
        (b"<html>", "not valid JSON"),
        (b"[" + b"9" * 5000 + b"]", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_body_of_the_wrong_shape_is_one_line(tmp_path, capsys, body, message):
    def route(server: HostileServer, seen: Seen) -> Any:
        return 200, {"Content-Type": "application/json"}, body

    with HostileServer(route) as server:
        code, out, err = run_cli(capsys, *live("github", server.url, tmp_path / "out"))
    one_line_exit_2(code, out, err, message)


def test_a_refused_token_never_shows_the_token(tmp_path, capsys):
    with HostileServer(lambda server, seen: json_answer({"message": f"bad {TOKEN}"}, 401)) as server:
        code, out, err = run_cli(capsys, *live("gitlab", f"{server.url}/api/v4", tmp_path / "out"))
    one_line_exit_2(code, out, err, "refused the token (401")


# ---------------------------------------------------------------------------------------------
# 6. Hostile saved files


GOOD_PULL = {
    "number": 1,
    "created_at": "2024-03-01T00:00:00Z",
    "merged_at": "2024-03-02T00:00:00Z",
    "merge_commit_sha": "b" * 40,
    "head": {"sha": "c" * 40},
}
GOOD_COMMIT = {"sha": "d" * 40, "commit": {"author": {"date": "2024-03-01T00:00:00Z"}}, "parents": []}
GOOD_ISSUE = {
    "number": 9,
    "labels": [{"name": "Incident"}],
    "created_at": "2024-03-03T00:00:00Z",
    "closed_at": "2024-03-04T00:00:00Z",
    "body": "x",
}


def saved_github(
    folder: Path, *, pulls: Any = None, commits: Any = None, issues: Any = None, deployments: Any = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deployments.json").write_text(
        json.dumps(deployments if deployments is not None else [DEPLOYMENT])
    )
    (folder / "deployments" / "1").mkdir(parents=True, exist_ok=True)
    (folder / "deployments" / "1" / "statuses.json").write_text(
        json.dumps([{"state": "success", "created_at": "2024-03-05T00:00:00Z"}])
    )
    (folder / "pulls.json").write_text(json.dumps(pulls if pulls is not None else [GOOD_PULL]))
    (folder / "pulls" / "1").mkdir(parents=True, exist_ok=True)
    (folder / "pulls" / "1" / "commits.json").write_text(
        json.dumps(commits if commits is not None else [GOOD_COMMIT])
    )
    (folder / "issues.json").write_text(json.dumps(issues if issues is not None else [GOOD_ISSUE]))
    return folder


@pytest.mark.parametrize(
    "files, message",
    [
        (
            {"commits": [{**GOOD_COMMIT, "commit": "text"}]},
            "commit must be a JSON object, found a JSON string",
        ),
        ({"commits": [{**GOOD_COMMIT, "commit": {"author": None}}]}, "commit.author.date is empty"),
        (
            {"pulls": [{**GOOD_PULL, "merge_commit_sha": {"a": 1}}]},
            "merge_commit_sha a JSON object is not a commit SHA",
        ),
        ({"pulls": [{**GOOD_PULL, "head": {"sha": ["x"]}}]}, "head.sha a JSON array is not a commit SHA"),
        ({"pulls": [{**GOOD_PULL, "head": []}]}, "head must be a JSON object"),
        ({"issues": [{**GOOD_ISSUE, "labels": 7}]}, "labels must be a JSON array"),
        ({"issues": [{**GOOD_ISSUE, "labels": [[1]]}]}, "labels[0] must be text"),
        (
            {"pulls": [{**GOOD_PULL, "merged_at": "9999-01-01T00:00:00Z"}]},
            "is outside the dates from 1700-01-01",
        ),
        ({"issues": [{**GOOD_ISSUE, "created_at": "1600-01-01T00:00:00Z"}]}, "is outside the dates"),
        (
            {"issues": [{**GOOD_ISSUE, "closed_at": "2024-03-02T00:00:00Z"}]},
            "closed_at 2024-03-02T00:00:00+00:00 is before created_at",
        ),
        ({"issues": [GOOD_ISSUE, GOOD_ISSUE]}, "duplicate issue number '9'"),
        ({"pulls": [GOOD_PULL, GOOD_PULL]}, "duplicate pull request number '1'"),
        ({"deployments": [DEPLOYMENT, DEPLOYMENT]}, "duplicate deployment id '1'"),
        ({"pulls": [{**GOOD_PULL, "number": 10**5000}]}, "not valid JSON"),
        (
            {"pulls": [{**GOOD_PULL, "created_at": 1709251200}]},
            "must be an ISO 8601 timestamp (text), found a JSON number",
        ),
        ({"deployments": [{**DEPLOYMENT, "sha": "../../x"}]}, "is not a commit SHA"),
        (
            {"pulls": [{**GOOD_PULL, "merged_at": "2024-02-01T00:00:00Z"}]},
            "merged_at 2024-02-01T00:00:00+00:00 is before",
        ),
    ],
)
def test_hostile_saved_files_are_one_line(tmp_path, capsys, files, message):
    import sys

    sys.set_int_max_str_digits(0)  # to write the 5000-digit number
    try:
        folder = saved_github(tmp_path / "saved", **files)
    finally:
        sys.set_int_max_str_digits(4300)
    code, out, err = run_cli(
        capsys, "import", "github", "--from", str(folder), "--out", str(tmp_path / "out")
    )
    one_line_exit_2(code, out, err, message)
    assert not (tmp_path / "out").exists()


def test_an_incident_id_from_two_sources_is_one_line(tmp_path, capsys):
    folder = saved_github(tmp_path / "saved")
    export = tmp_path / "incidents.csv"
    export.write_text("incident_id,time_created,time_resolved\n9,2024-03-03T00:00:00Z,\n")
    code, out, err = run_cli(
        capsys,
        "import",
        "github",
        "--from",
        str(folder),
        "--out",
        str(tmp_path / "out"),
        "--incidents",
        str(export),
        "--incident-format",
        "csv",
    )
    one_line_exit_2(code, out, err, "incident id '9' comes from both github and csv")


@pytest.mark.parametrize(
    "fmt, text, message",
    [
        ("pagerduty", '[{"incidents": 5}]', "incidents must be a JSON array"),
        (
            "pagerduty",
            '{"incidents": [{"id": "P1", "created_at": "9999-01-01T00:00:00Z"}]}',
            "is outside the dates",
        ),
        (
            "pagerduty",
            '{"incidents": [{"id": {"a": 1}, "created_at": "2024-01-01T00:00:00Z"}]}',
            "id must be text",
        ),
        ("csv", "incident_id,time_created\n1,2300-01-01T00:00:00Z\n", "is outside the dates"),
        (
            "opsgenie",
            '{"data": [{"id": "a", "createdAt": "2024-01-01T00:00:00Z", "report": {"closeTime": 1e20}}]}',
            "report.closeTime",
        ),
        (
            "opsgenie",
            '{"data": [{"id": "a", "createdAt": "2024-01-01T00:00:00Z", "report": {"closeTime": 1e30}}]}',
            "is not a duration in milliseconds",
        ),
        (
            "opsgenie",
            '{"data": [{"id": "a", "createdAt": "2024-01-01T00:00:00Z", "report": {"closeTime": Infinity}}]}',
            "is not a duration in milliseconds",
        ),
        (
            "opsgenie",
            '{"data": [{"id": "a", "createdAt": "2024-01-01T00:00:00Z", "report": {"closeTime": -1}}]}',
            "is not a duration in milliseconds",
        ),
        (
            "opsgenie",
            '{"data": [{"id": "a", "createdAt": "2199-12-01T00:00:00Z", "report": {"closeTime": 3.0e12}}]}',
            "createdAt + report.closeTime",
        ),
    ],
)
def test_hostile_incident_exports_are_one_line(tmp_path, capsys, fmt, text, message):
    export = tmp_path / "export"
    export.write_text(text)
    code, out, err = run_cli(
        capsys,
        "import",
        "github",
        "--from",
        str(saved_github(tmp_path / "saved")),
        "--out",
        str(tmp_path / "out"),
        "--incidents",
        str(export),
        "--incident-format",
        fmt,
    )
    one_line_exit_2(code, out, err, message)


@pytest.mark.parametrize("target", ["/dev/zero", "FIFO"])
def test_incidents_from_a_device_or_fifo_are_refused_at_once(tmp_path, capsys, target):
    if target == "FIFO":
        target = str(tmp_path / "fifo")
        os.mkfifo(target)
    began = time.monotonic()
    code, out, err = run_cli(
        capsys,
        "import",
        "github",
        "--from",
        str(saved_github(tmp_path / "saved")),
        "--out",
        str(tmp_path / "out"),
        "--incidents",
        target,
        "--incident-format",
        "csv",
    )
    one_line_exit_2(code, out, err, "is a device" if target == "/dev/zero" else "is a named pipe (FIFO)")
    assert time.monotonic() - began < 5


# ---------------------------------------------------------------------------------------------
# 7. Outputs


def test_the_report_through_a_symlink_is_refused_and_the_target_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "import_report.json").symlink_to(victim)
    code, out_text, err = run_cli(
        capsys, "import", "github", "--from", str(saved_github(tmp_path / "saved")), "--out", str(out)
    )
    one_line_exit_2(code, out_text, err, "import_report.json: is a symbolic link; refused")
    assert victim.read_text() == "keep me"


def test_a_log_through_a_symlink_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.csv"
    victim.write_text("keep me")
    (out / "changes.csv").symlink_to(victim)
    code, out_text, err = run_cli(
        capsys, "import", "github", "--from", str(saved_github(tmp_path / "saved")), "--out", str(out)
    )
    one_line_exit_2(code, out_text, err, "changes.csv: is a symbolic link")
    assert victim.read_text() == "keep me"


def test_a_fifo_report_is_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / "report.html"
    os.mkfifo(fifo)
    code, out, err = run_cli(capsys, "forecast", "baseline", "--reps", "2", "--report", str(fifo))
    one_line_exit_2(code, out, err, "named pipe (FIFO)")


def test_a_symlinked_report_is_refused(tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "report.html").symlink_to(victim)
    code, out, err = run_cli(
        capsys, "forecast", "baseline", "--reps", "2", "--report", str(tmp_path / "report.html")
    )
    one_line_exit_2(code, out, err, "is a symbolic link; refused")
    assert victim.read_text() == "keep me"


def test_a_good_import_writes_logs_score_reads(tmp_path, capsys):
    out = tmp_path / "out"
    code, _text, err = run_cli(
        capsys, "import", "github", "--from", str(saved_github(tmp_path / "saved")), "--out", str(out)
    )
    assert code == 0, err
    assert (
        main(
            [
                "score",
                "--changes",
                str(out / "changes.csv"),
                "--deployments",
                str(out / "deployments.csv"),
                "--incidents",
                str(out / "incidents.csv"),
                "--json",
            ]
        )
        == 0
    )
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # no temporary file left behind


# ---------------------------------------------------------------------------------------------
# 8. Caps shared with run, and teams


def test_forecast_shares_runs_caps(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "baseline", "--reps", "100000000"])
    assert exit_info.value.code == 2 and "must be <= 10000" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "baseline", "--seed", str(10**26)])
    assert exit_info.value.code == 2


def _team_logs(folder: Path, teams: list[str]) -> list[str]:
    folder.mkdir()
    lines_c = ["change_id,time_created,team"]
    lines_d = ["deploy_id,time_created,change_ids,team"]
    for n, team in enumerate(teams):
        quoted = '"' + team.replace('"', '""') + '"'
        lines_c.append(f"c{n},2024-01-0{1 + n % 5}T00:00:00Z,{quoted}")
        lines_d.append(f"d{n},2024-01-0{2 + n % 5}T00:00:00Z,c{n},{quoted}")
    (folder / "changes.csv").write_text("\n".join(lines_c) + "\n")
    (folder / "deployments.csv").write_text("\n".join(lines_d) + "\n")
    (folder / "incidents.csv").write_text("incident_id,time_created,time_resolved,deploy_id,team\n")
    return [
        "score",
        "--changes",
        str(folder / "changes.csv"),
        "--deployments",
        str(folder / "deployments.csv"),
        "--incidents",
        str(folder / "incidents.csv"),
        "--by",
        "team",
    ]


def test_score_by_team_names_odd_teams_safely(tmp_path, capsys):
    args = _team_logs(tmp_path / "logs", ["1", "²", "9" * 5000, "\x1b[31mred\x1b[0m", "nan", "1e400"])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "\x1b[31m" not in out and "\\x1b[31mred" in out
    assert main([*args, "--json"]) == 0
    teams = [t["team"] for t in json.loads(capsys.readouterr().out)["teams"]]
    assert teams[0] == 1 and "²" in teams and "9" * 5000 in teams


def test_score_by_team_refuses_more_teams_than_the_cap(tmp_path, capsys):
    from sim.metrics.teams import MAX_TEAMS

    args = _team_logs(tmp_path / "logs", [f"t{n}" for n in range(MAX_TEAMS + 1)])
    began = time.monotonic()
    code, out, err = run_cli(capsys, *args)
    one_line_exit_2(code, out, err, f"more than {MAX_TEAMS} teams")
    assert time.monotonic() - began < 10
