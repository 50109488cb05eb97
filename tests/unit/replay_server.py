"""A loopback HTTP server replaying saved provider responses, paginated as the providers do.

``GET <prefix>/<path>`` answers the JSON array of ``<folder>/<path>.json`` (an empty array when no
file is saved), ``page_size`` items a page with a ``Link: <...>; rel="next"`` header. It checks
the auth header, and can answer rate-limit responses first (``limits``: a list of (status,
headers) answered before the real responses, in order).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ReplayServer:
    def __init__(
        self,
        folder: Path,
        prefix: str,
        auth: tuple[str, str],
        page_size: int = 2,
        limits: list[tuple[int, dict[str, str]]] | None = None,
    ):
        self.folder, self.prefix, self.auth, self.page_size = folder, prefix, auth, page_size
        self.limits = list(limits or [])
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.requests.append(self.path)
                if self.headers.get(server.auth[0]) != server.auth[1]:
                    return self._send(401, {"message": "Bad credentials"})
                if server.limits:
                    status, headers = server.limits.pop(0)
                    return self._send(status, {"message": "API rate limit exceeded"}, headers)
                url = urlsplit(self.path)
                path = unquote(url.path)
                if not path.startswith(server.prefix):
                    return self._send(404, {"message": "Not Found"})
                relative = path[len(server.prefix) :].strip("/")
                file = server.folder / f"{relative}.json"
                items = json.loads(file.read_text()) if file.is_file() else []
                page = int(parse_qs(url.query).get("page", ["1"])[0])
                size = server.page_size
                body = items[(page - 1) * size : page * size]
                headers = {"x-ratelimit-remaining": "4999", "x-ratelimit-reset": "0"}
                if page * size < len(items):
                    host = f"http://127.0.0.1:{server.port}"
                    headers["Link"] = f'<{host}{url.path}?page={page + 1}&per_page={size}>; rel="next"'
                self._send(200, body, headers)

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
