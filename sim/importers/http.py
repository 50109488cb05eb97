"""Fetching a provider's REST API live with ``httpx``: pagination, rate limits, one-line errors.

- Pagination follows the ``Link: <...>; rel="next"`` header (GitHub and GitLab both send it),
  100 items a page, up to ``max_pages`` pages per endpoint;
- rate limits: a 429, or a 403 with ``x-ratelimit-remaining: 0`` (GitHub's primary limit) or a
  ``retry-after`` header (secondary limits), waits ``retry-after`` seconds or until
  ``x-ratelimit-reset``/``ratelimit-reset`` (epoch seconds) and tries again — up to
  ``max_wait`` seconds in all, then stops with a one-line error saying when to retry. A
  response that leaves ``remaining`` at 0 makes the next request wait for the reset first;
- 5xx answers and dropped connections are retried three times with a short backoff;
- 401/403/404 become one line naming the URL (never the token).

Every JSON body fetched is kept under the relative path the offline readers expect, so a live
import can be saved and re-read with ``--from``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sim.errors import InputError

PER_PAGE = 100
RETRIES = 3


class Client:
    """A paginating, rate-limit-aware JSON client for one API base URL."""

    def __init__(self, base_url: str, headers: dict[str, str], *, max_wait: float = 900.0, max_pages: int = 100,
                 timeout: float = 30.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, transport: Any = None):
        try:
            import httpx  # an optional dependency: only live imports need it
        except ModuleNotFoundError:
            raise InputError("live imports need httpx: pip install 'dorasim[import]' "
                             "(or save the API responses and use --from DIR)") from None

        self.httpx = httpx
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(headers=headers, timeout=timeout, follow_redirects=True, transport=transport)
        self.max_wait, self.max_pages, self.sleep, self.clock = max_wait, max_pages, sleep, clock
        self.waited = 0.0
        self.requests = 0
        self._reset_at: float | None = None

    def close(self) -> None:
        self.client.close()

    def _wait(self, seconds: float, url: str) -> None:
        seconds = max(0.0, seconds)
        if self.waited + seconds > self.max_wait:
            at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.clock() + seconds))
            raise InputError(f"{url}: rate limited; the limit resets at {at} — run again then "
                             f"(or allow a longer wait with --max-wait)")
        self.waited += seconds
        self.sleep(seconds)

    def _limit_wait(self, response: Any) -> float | None:
        headers = response.headers
        if "retry-after" in headers:
            try:
                return float(headers["retry-after"])
            except ValueError:
                return 60.0
        reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
        if reset is not None:
            try:
                return float(reset) - self.clock() + 1.0
            except ValueError:
                return 60.0
        return None

    def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """One GET: (parsed JSON, response), after waiting out rate limits and retrying 5xx."""
        if self._reset_at is not None:
            self._wait(self._reset_at - self.clock(), url)
            self._reset_at = None
        failures = 0
        while True:
            self.requests += 1
            try:
                response = self.client.get(url, params=params)
            except self.httpx.HTTPError as exc:
                failures += 1
                if failures > RETRIES:
                    raise InputError(f"{url}: cannot reach the API ({type(exc).__name__}: {exc})") from None
                self.sleep(min(2.0 ** failures, 10.0))
                continue
            status = response.status_code
            limited = status == 429 or (status == 403 and (
                response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers))
            if limited:
                self._wait(self._limit_wait(response) or 60.0, url)
                continue
            if status >= 500:
                failures += 1
                if failures > RETRIES:
                    raise InputError(f"{url}: the API answered {status} {response.reason_phrase} {RETRIES + 1} times")
                self.sleep(min(2.0 ** failures, 10.0))
                continue
            if status in (401, 403):
                raise InputError(f"{url}: the API refused the token ({status} {response.reason_phrase}); "
                                 f"check the token and its access to the repository")
            if status == 404:
                raise InputError(f"{url}: not found (404); check the repository name and the token's access")
            if status >= 400:
                raise InputError(f"{url}: the API answered {status} {response.reason_phrase}")
            remaining = response.headers.get("x-ratelimit-remaining") or response.headers.get("ratelimit-remaining")
            if remaining == "0":
                wait = self._limit_wait(response)
                self._reset_at = self.clock() + wait if wait else None
            try:
                return response.json(), response
            except (json.JSONDecodeError, ValueError):
                raise InputError(f"{url}: the API answered with something that is not JSON") from None

    def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every item of a paginated list endpoint, following ``rel="next"`` links."""
        url: str | None = f"{self.base_url}/{path.lstrip('/')}"
        query: dict[str, Any] | None = {"per_page": PER_PAGE, **(params or {})}
        items: list[Any] = []
        for _ in range(self.max_pages):
            if url is None:
                break
            body, response = self.get(url, query)
            if not isinstance(body, list):
                raise InputError(f"{url}: expected a JSON array, the API answered a JSON {type(body).__name__}")
            items.extend(body)
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the query
        return items


def dump(items: Any) -> bytes:
    return json.dumps(items, indent=1).encode("utf-8")


def token_from_env(variable: str | None) -> str:
    import os

    if not variable:
        raise InputError("--token-env: name the environment variable that holds the API token")
    token = os.environ.get(variable, "").strip()
    if not token:
        raise InputError(f"--token-env {variable}: the environment variable is not set or empty")
    return token
