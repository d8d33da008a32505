"""A loopback proxy in front of a registry that serves blobs at a set rate, and can be stopped.

Pulls through it stay in flight long enough to watch, cancel or kill them, whatever
the machine's speed: the pull tests and the load benchmark both need that. `stop()`
makes it a registry process that died mid-transfer; `start()` brings it back on the same port.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _ThrottlingHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: the connection ends each response, so bodies need no re-framing.
    protocol_version = "HTTP/1.0"
    proxy: SlowRegistry

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        proxy = self.proxy
        if "/manifests/" in self.path and proxy.manifest_delay:
            time.sleep(proxy.manifest_delay)  # a pull with nothing to download still takes this long
        host, _, port = proxy.upstream.partition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            if key.lower() in ("host", "connection"):
                continue
            # The engine sends one Accept header per manifest type: keep them all (joined, as HTTP allows),
            # or the registry falls back to an old schema and the pulled digest is not the tag's.
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
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
                if proxy.stopped.is_set():
                    # Stopped like a killed process: the connection drops mid-body.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if slow and proxy.corrupt and first and len(chunk) > 1:
                    # Flip one byte of every blob: the engine's digest check must catch it.
                    chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                first = False
                self.wfile.write(chunk)
                if slow:
                    proxy.blob_bytes += len(chunk)
                    time.sleep(len(chunk) / proxy.bytes_per_second)
        except OSError:
            pass  # the engine gave up (a cancelled pull): nothing to finish
        finally:
            conn.close()

    do_GET = _forward
    do_HEAD = _forward


class SlowRegistry:
    """A loopback proxy in front of the test registry that serves blobs at `bytes_per_second`.

    `corrupt=True` flips a byte of every blob; `blob_bytes` counts what it has served; every
    manifest waits `manifest_delay` seconds (settable while it runs).
    """

    def __init__(self, upstream: str, bytes_per_second: int, *, corrupt: bool = False) -> None:
        self.upstream = upstream
        self.bytes_per_second = bytes_per_second
        self.corrupt = corrupt
        self.manifest_delay = 0.0
        self.blob_bytes = 0
        self.stopped = threading.Event()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def host(self) -> str:
        return f"localhost:{self.port}"

    def start(self) -> None:
        """Serve (again) on the same port."""
        self.stopped.clear()
        handler = type("Handler", (_ThrottlingHandler,), {"proxy": self})
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut every transfer in flight."""
        self.stopped.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    close = stop
