"""A loopback proxy in front of a registry that serves blobs at a set rate.

Pulls through it stay in flight long enough to watch, cancel or kill them, whatever
the machine's speed: the pull tests and the load benchmark both need that.
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _ThrottlingHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: the connection ends each response, so bodies need no re-framing.
    protocol_version = "HTTP/1.0"
    upstream = ""
    bytes_per_second = 0
    corrupt = False

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _forward(self) -> None:
        host, _, port = self.upstream.partition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, headers=headers)
        upstream = conn.getresponse()
        self.send_response(upstream.status)
        for key, value in upstream.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD":
            conn.close()
            return
        slow = "/blobs/" in self.path
        try:
            first = True
            while chunk := upstream.read(64 * 1024):
                if slow and self.corrupt and first and len(chunk) > 1:
                    # Flip one byte of every blob: the engine's digest check must catch it.
                    chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                first = False
                self.wfile.write(chunk)
                if slow:
                    time.sleep(len(chunk) / self.bytes_per_second)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the engine gave up (a cancelled pull): nothing to finish
        finally:
            conn.close()

    do_GET = _forward  # noqa: N815
    do_HEAD = _forward  # noqa: N815


class SlowRegistry:
    """A loopback proxy in front of the test registry that serves blobs at a set rate.

    Pulls through it stay in flight long enough to watch, cancel or kill them,
    whatever the machine's speed.
    """

    def __init__(self, upstream: str, bytes_per_second: int, *, corrupt: bool = False) -> None:
        attributes = {"upstream": upstream, "bytes_per_second": bytes_per_second, "corrupt": corrupt}
        handler = type("Handler", (_ThrottlingHandler,), attributes)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.host = f"localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
