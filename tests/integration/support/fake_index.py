"""A loopback stand-in for Docker Hub's search index (the v1 search API).

The real engine's `GET /images/search?term=localhost:<port>/<query>` pings
`http://localhost:<port>/v1/_ping` and then asks `/v1/search?q=<query>&n=<limit>`
on loopback. This server answers both from planted results, so tests drive the
engine's real search path (filters applied by the engine) without internet.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class PlantedResult:
    name: str
    description: str = ""
    star_count: int = 0
    is_official: bool = False
    is_automated: bool = False

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "star_count": self.star_count,
            "is_official": self.is_official,
            "is_automated": self.is_automated,
        }


@dataclass
class FakeIndex:
    """The running server: plant results, read what it was asked, stop it."""

    results: list[PlantedResult] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)  # the Authorization header of each search
    delay_seconds: float = 0  # answer searches this late (a slow index)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def host(self) -> str:
        # "localhost": the engine trusts localhost:<port> over plain HTTP without daemon flags.
        return f"localhost:{self.port}"

    def plant(self, *results: PlantedResult) -> None:
        self.results = list(results)

    def search_count(self) -> int:
        return len(self.queries)

    def matching(self, query: str) -> list[PlantedResult]:
        # Docker Hub matches on name and description; a substring match is enough here.
        query = query.lower()
        return [r for r in self.results if query in r.name.lower() or query in r.description.lower()]

    def start(self) -> FakeIndex:
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: pytest output stays readable

            def _send_json(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/v1/_ping":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "4")
                    self.end_headers()
                    self.wfile.write(b"true")
                    return
                if url.path == "/v1/search":
                    params = {k: v[0] for k, v in parse_qs(url.query).items()}
                    index.queries.append(params)
                    index.authorizations.append(self.headers.get("Authorization"))
                    if index.delay_seconds:
                        time.sleep(index.delay_seconds)
                    query = params.get("q", "")
                    limit = int(params.get("n", "25") or 25)
                    found = index.matching(query)
                    self._send_json(
                        200,
                        {
                            "num_results": len(found),
                            "query": query,
                            "results": [r.as_json() for r in found[:limit]],
                        },
                    )
                    return
                self._send_json(404, {"error": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-index", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(5)


def start_fake_index(*results: PlantedResult) -> FakeIndex:
    index = FakeIndex()
    index.plant(*results)
    return index.start()
