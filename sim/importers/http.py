"""Fetching a provider's REST API live with ``httpx``, under one security policy (docs/import.md, "Live mode").

The server is named by the user (``--api-url``) but what it answers is not trusted:

- **the token stays with its origin**: the API URL must be ``https`` (or ``http`` to a loopback
  address), checked before any request; the token header is sent only to that URL's origin (scheme,
  host, port). A ``next`` link or a redirect to another origin is refused with one line — nothing
  is sent there. The token itself must be printable ASCII without spaces and is never printed,
  logged or written (messages that might quote it are scrubbed);
- **every request is bounded**: a cap on the bytes of one response after decompression
  (``max_bytes``), on the requests of one import (``max_requests``) and on the pages of one list
  (``max_pages``); a per-request timeout and an overall deadline (``deadline`` seconds for the whole
  import). Going over any cap stops the import with one line saying which cap and how to raise it:
  results are never silently truncated;
- **rate limits** (a 429, or a 403 with ``x-ratelimit-remaining: 0`` or ``retry-after``): the wait
  (``retry-after`` seconds, or until ``x-ratelimit-reset``/``ratelimit-reset``) is clamped to
  [1 s, 1 h] — a negative, NaN, infinite or unparsable value waits 60 s — at most ``RATE_RETRIES``
  times for one request and ``max_wait`` seconds in all;
- 5xx answers and dropped connections are retried three times with a short backoff;
  401/403/404 become one line naming the URL (never the token).

Every JSON body fetched is kept under the relative path the offline readers expect, so a live
import can be saved and re-read with ``--from``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from sim.errors import InputError
from sim.importers.files import expect_list, parse_json

PER_PAGE = 100
RETRIES = 3  # for 5xx answers and dropped connections
RATE_RETRIES = 10  # rate-limit answers to one request
REDIRECTS = 5
MIN_WAIT, MAX_WAIT_ONE, DEFAULT_WAIT = 1.0, 3600.0, 60.0
MB = 1024 * 1024
MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True)
class Limits:
    """The caps of one live import (each can be raised on the command line)."""

    max_bytes: int = 64 * MB  # one response, after decompression
    max_requests: int = 10_000  # one import
    max_pages: int = 1_000  # one list endpoint
    timeout: float = 30.0  # one request: connect, and between two reads
    request_deadline: float = 300.0  # one request, its whole body included
    deadline: float = 3600.0  # the whole import, rate-limit waits included
    max_wait: float = 900.0  # rate-limit waits in all


# ---------------------------------------------------------------------------------------------
# What may be contacted, and with what


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL; a one-line error when it cannot be parsed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{url}: not a valid URL ({exc})") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    return scheme, host, port if port is not None else {"https": 443, "http": 80}.get(scheme, -1)


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(url: str, option: str = "--api-url") -> str:
    """The API base URL, if it may be sent a token: https, or http to a loopback address."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InputError(f"{option} {url!r}: a URL may not hold spaces or control characters")
    scheme, host, _ = origin(url)
    parts = urlsplit(url)
    if scheme not in ("https", "http"):
        raise InputError(
            f"{option} {url}: only https:// URLs are accepted (http:// only to a loopback address)"
        )
    if not host:
        raise InputError(f"{option} {url}: the URL names no host")
    if scheme == "http" and not _loopback(host):
        raise InputError(
            f"{option} {url}: plain http would send the token unencrypted; use https:// "
            f"(http:// is accepted only to a loopback address)"
        )
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"{option}: the URL may not carry a user name or password; give the token with --token-env"
        )
    if parts.query or parts.fragment:
        raise InputError(f"{option} {url}: the API base URL may not carry a query or a fragment")
    return url.rstrip("/")


def check_token(token: str, variable: str) -> str:
    """A token that can travel in an HTTP header: printable ASCII, no spaces; the error never shows it."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InputError(
            f"--token-env {variable}: the token is {len(token)} characters; at most "
            f"{MAX_TOKEN_CHARS} are accepted"
        )
    for position, ch in enumerate(token):
        if not ("\x21" <= ch <= "\x7e"):
            kind = (
                "a space or line break"
                if ch.isspace()
                else ("a non-ASCII character" if ord(ch) > 0x7E else "a control character")
            )
            raise InputError(
                f"--token-env {variable}: the token holds {kind} at position {position + 1}; "
                f"a token is printable ASCII without spaces (the token is not shown)"
            )
    return token


def token_from_env(variable: str | None) -> str:
    if not variable:
        raise InputError("--token-env: name the environment variable that holds the API token")
    token = os.environ.get(variable, "").strip()
    if not token:
        raise InputError(f"--token-env {variable}: the environment variable is not set or empty")
    return check_token(token, variable)


def clamp_wait(value: float | None) -> float:
    """A rate-limit wait in [MIN_WAIT, MAX_WAIT_ONE]; NaN, infinite or missing waits DEFAULT_WAIT."""
    if value is None or not math.isfinite(value):
        return DEFAULT_WAIT
    return min(max(value, MIN_WAIT), MAX_WAIT_ONE)


def _number(text: str | None) -> float | None:
    if text is None or len(text) > 40:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------
# The client


class Client:
    """A paginating, rate-limit-aware JSON client for one API base URL and the token of its origin.

    ``auth`` is the header that carries the token; it is added only to requests to the origin of
    ``base_url``. ``sleep`` and ``clock`` (epoch seconds, for rate-limit resets) and ``monotonic``
    (for deadlines) can be replaced in tests.
    """

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        auth: dict[str, str] | None = None,
        limits: Limits | None = None,
        max_wait: float | None = None,
        max_pages: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        transport: Any = None,
    ):
        try:
            import httpx  # an optional dependency: only live imports need it
        except ModuleNotFoundError:
            raise InputError(
                "live imports need httpx: pip install 'dorasim[import]' "
                "(or save the API responses and use --from DIR)"
            ) from None
        limits = limits or Limits()
        if max_wait is not None:
            limits = replace(limits, max_wait=max_wait)
        if max_pages is not None:
            limits = replace(limits, max_pages=max_pages)
        self.httpx, self.limits = httpx, limits
        self.base_url = check_api_url(base_url)
        self.origin = origin(self.base_url)
        self.auth = dict(auth or {})
        self.secrets = [v for v in self.auth.values() if v]
        # proxies and certificates from the environment are honoured (HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE);
        # redirects are never followed by httpx itself, only by _send after the origin check
        self.client = httpx.Client(
            headers=headers, timeout=limits.timeout, follow_redirects=False, transport=transport
        )
        self.sleep, self.clock, self.monotonic = sleep, clock, monotonic
        self.started = monotonic()
        self.waited = 0.0
        self.requests = 0
        self._reset_at: float | None = None

    def close(self) -> None:
        self.client.close()

    # -- messages never carry the token

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def _error(self, text: str) -> InputError:
        return InputError(self._scrub(text))

    # -- deadlines and waits

    def _left(self, url: str) -> float:
        left = self.limits.deadline - (self.monotonic() - self.started)
        if left <= 0:
            raise self._error(
                f"{url}: the import ran past its deadline of {self.limits.deadline:g} s "
                f"(raise it with --deadline)"
            )
        return left

    def _wait(self, seconds: float, url: str) -> None:
        seconds = clamp_wait(seconds)
        if self.waited + seconds > self.limits.max_wait or seconds >= self._left(url):
            at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(min(self.clock() + seconds, 4e9)))
            raise self._error(
                f"{url}: rate limited; the limit resets at {at} — run again then "
                f"(or allow a longer wait with --max-wait)"
            )
        self.waited += seconds
        self.sleep(seconds)

    def _limit_wait(self, response: Any) -> float | None:
        headers = response.headers
        if "retry-after" in headers:
            seconds = _number(headers["retry-after"])
            if seconds is None:  # an HTTP date (RFC 9110) rather than seconds
                try:
                    seconds = parsedate_to_datetime(headers["retry-after"][:64]).timestamp() - self.clock()
                except (TypeError, ValueError, IndexError, OverflowError):
                    return None
            return seconds
        reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
        if reset is not None:
            value = _number(reset)
            return None if value is None else value - self.clock() + 1.0
        return None

    # -- one request

    def _check_target(self, url: str, why: str) -> None:
        if origin(url) != self.origin:
            scheme, host, port = origin(url)
            raise self._error(
                f"{url}: the server's {why} points to another origin ({scheme}://{host}:{port}, not "
                f"{self.origin[0]}://{self.origin[1]}:{self.origin[2]}); refused so that the token "
                f"is not sent there"
            )

    @contextmanager
    def _stream(self, url: str, params: dict[str, Any] | None) -> Iterator[Any]:
        httpx = self.httpx
        left = self._left(url)
        timeout = httpx.Timeout(min(self.limits.timeout, self.limits.request_deadline, left))
        with self.client.stream("GET", url, params=params, headers=self.auth, timeout=timeout) as response:
            yield response

    def _read_body(self, response: Any, url: str, began: float) -> bytes:
        cap = self.limits.max_bytes
        declared = _number(response.headers.get("content-length"))
        too_big = (
            f"{url}: the response is larger than {cap / MB:g} MB (after decompression); "
            f"raise the cap with --max-response-mb"
        )
        if declared is not None and declared > cap and "content-encoding" not in response.headers:
            raise self._error(too_big)
        chunks, total = [], 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > cap:
                raise self._error(too_big)
            chunks.append(chunk)
            self._left(url)
            if self.monotonic() - began > self.limits.request_deadline:
                raise self._error(f"{url}: the response took longer than {self.limits.request_deadline:g} s")
        return b"".join(chunks)

    def _send(self, url: str, params: dict[str, Any] | None) -> tuple[int, Any, bytes]:
        """One request without retries: (status, response, body); redirects within the origin followed."""
        for _ in range(REDIRECTS + 1):
            self._check_target(url, "link")
            if self.requests >= self.limits.max_requests:
                raise self._error(
                    f"{url}: the import needs more than {self.limits.max_requests} requests "
                    f"(raise the cap with --max-requests)"
                )
            self.requests += 1
            began = self.monotonic()
            with self._stream(url, params) as response:
                status = response.status_code
                if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                    target = urljoin(url, response.headers["location"])
                    self._check_target(target, f"redirect ({status})")
                    url, params = target, None
                    continue
                body = self._read_body(response, url, began) if status < 300 else b""
                return status, response, body
        raise self._error(f"{url}: more than {REDIRECTS} redirects")

    def get(self, url: str, params: dict[str, Any] | None = None) -> tuple[Any, Any]:
        """One GET: (parsed JSON, response), after waiting out rate limits and retrying 5xx."""
        if self._reset_at is not None:
            wait, self._reset_at = self._reset_at - self.clock(), None
            if wait > 0:
                self._wait(wait, url)
        failures = limited_times = 0
        while True:
            try:
                status, response, body = self._send(url, params)
            except (self.httpx.TimeoutException, self.httpx.TransportError) as exc:
                failures += 1
                if failures > RETRIES:
                    raise self._error(f"{url}: cannot reach the API ({type(exc).__name__})") from None
                self.sleep(min(2.0**failures, 10.0))
                self._left(url)
                continue
            except self.httpx.HTTPError as exc:
                raise self._error(f"{url}: the request failed ({type(exc).__name__})") from None
            limited = status == 429 or (
                status == 403
                and (
                    response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers
                )
            )
            if limited:
                limited_times += 1
                if limited_times > RATE_RETRIES:
                    raise self._error(
                        f"{url}: still rate limited after {RATE_RETRIES} waits; run again later"
                    )
                self._wait(clamp_wait(self._limit_wait(response)), url)
                continue
            if status >= 500:
                failures += 1
                if failures > RETRIES:
                    raise self._error(
                        f"{url}: the API answered {status} {response.reason_phrase} {RETRIES + 1} times"
                    )
                self.sleep(min(2.0**failures, 10.0))
                self._left(url)
                continue
            self._check_status(status, response, url)
            remaining = response.headers.get("x-ratelimit-remaining") or response.headers.get(
                "ratelimit-remaining"
            )
            if remaining == "0":
                reset_wait = self._limit_wait(response)
                self._reset_at = self.clock() + clamp_wait(reset_wait) if reset_wait is not None else None
            return parse_json(body, url), response

    def _check_status(self, status: int, response: Any, url: str) -> None:
        if status in (401, 403):
            raise self._error(
                f"{url}: the API refused the token ({status} {response.reason_phrase}); "
                f"check the token and its access to the repository"
            )
        if status == 404:
            raise self._error(f"{url}: not found (404); check the repository name and the token's access")
        if status >= 300:
            raise self._error(f"{url}: the API answered {status} {response.reason_phrase}")

    def get_all(
        self, path: str, params: dict[str, Any] | None = None, what: str = "items", key: str | None = None
    ) -> list[Any]:
        """Every item of a paginated list endpoint, following ``rel="next"`` links within the origin.

        ``key``: the list is that field of an object (GitHub Actions answers ``{"workflow_runs": [...]}``).

        A list longer than ``max_pages`` pages stops the import with one line (never a silent cut).
        """
        url: str | None = f"{self.base_url}/{path.lstrip('/')}"
        query: dict[str, Any] | None = {"per_page": PER_PAGE, **(params or {})}
        items: list[Any] = []
        pages = 0
        seen: set[str] = set()
        while url is not None:
            if pages >= self.limits.max_pages:
                raise self._error(
                    f"{url}: the list has more than {self.limits.max_pages} pages "
                    f"(raise the cap with --max-pages)"
                )
            body, response = self.get(url, query)
            pages += 1
            if key is not None and isinstance(body, dict):
                body = body.get(key)
            items.extend(expect_list(body, url, what))
            seen.add(str(response.url))
            following = response.links.get("next", {}).get("url")
            if following is not None:
                following = urljoin(str(response.url), following)
                self._check_target(following, "next link")
                if following in seen:
                    raise self._error(
                        f"{following}: the server's next link points back to a page already read"
                    )
            url, query = following, None  # the next link carries the query
        return items


def dump(items: Any, name: str = "the response") -> bytes:
    try:
        return json.dumps(items, indent=1).encode("utf-8")
    except (RecursionError, ValueError):
        raise InputError(f"{name}: nested too deeply to be saved") from None
