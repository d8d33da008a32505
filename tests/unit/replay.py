"""Replays recorded HTTP exchanges on a loopback port: the registry client's tests need no registry.

Each exchange is what a registry answers to one request (path with query, as sent), written down
in the shapes docker-registry (distribution) and Docker Hub's token service use: the `Link: <...>;
rel="next"` paging header, `{"errors": [...]}` bodies, Basic and Bearer challenges, `{"token": ...}`.
The server answers them in order,
checks each request against its record (path and, when recorded, the Authorization header), and
refuses anything unrecorded with 599, so a client that asks something new fails loudly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Exchange:
    path: str  # with the query string, as the client sends it
    status: int
    body: Any = None  # JSON-encoded when not bytes
    headers: dict[str, str] = field(default_factory=dict)
    authorization: str | None = None  # the Authorization header the request must carry, when recorded


class Replay:
    def __init__(self, exchanges: list[Exchange]) -> None:
        self.exchanges = list(exchanges)
        self.seen: list[tuple[str, str | None]] = []
        self.errors: list[str] = []
        self.base_url = ""

    def next_answer(self, path: str, authorization: str | None) -> Exchange:
        self.seen.append((path, authorization))
        if not self.exchanges:
            self.errors.append(f"unrecorded request {path}")
            return Exchange(path, 599, {"error": "unrecorded"})
        expected = self.exchanges.pop(0)
        wanted = expected.path.replace("{base}", self.base_url)
        if wanted != path or (expected.authorization is not None and expected.authorization != authorization):
            self.errors.append(f"expected {wanted} ({expected.authorization}), got {path} ({authorization})")
            return Exchange(path, 599, {"error": "unexpected"})
        return expected


@contextmanager
def replaying(exchanges: list[Exchange]) -> Iterator[Replay]:
    replay = Replay(exchanges)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = replay.next_answer(self.path, self.headers.get("Authorization"))
            body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value.replace("{base}", replay.base_url))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    replay.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
