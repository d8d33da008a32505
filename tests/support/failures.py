"""Parts that fail on demand: a registry that can be stopped mid-transfer, a private Redis."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: the connection ends each response, so bodies need no re-framing.
    protocol_version = "HTTP/1.0"
    registry: StoppableRegistry

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _forward(self) -> None:
        owner = self.registry
        host, _, port = owner.upstream.partition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, headers=headers)
        upstream = conn.getresponse()
        self.send_response(upstream.status)
        for key, value in upstream.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                self.send_header(key, value)
        self.end_headers()
        slow = "/blobs/" in self.path and self.command == "GET"
        try:
            while self.command != "HEAD" and (chunk := upstream.read(32 * 1024)):
                if owner.stopped.is_set():
                    # Stopped like a killed process: the connection drops mid-body.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(chunk)
                if slow:
                    owner.blob_bytes += len(chunk)
                    time.sleep(len(chunk) / owner.bytes_per_second)
        except OSError:
            pass
        finally:
            conn.close()

    do_GET = _forward  # noqa: N815
    do_HEAD = _forward  # noqa: N815


class StoppableRegistry:
    """A throttling loopback proxy in front of the test registry, stopped and started on one port.

    `stop()` refuses new connections and cuts every transfer in flight, as a
    registry process that dies would; `start()` serves again on the same port.
    """

    def __init__(self, upstream: str, bytes_per_second: int) -> None:
        self.upstream = upstream
        self.bytes_per_second = bytes_per_second
        self.blob_bytes = 0
        self.stopped = threading.Event()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def host(self) -> str:
        return f"localhost:{self.port}"

    def start(self) -> None:
        self.stopped.clear()
        handler = type("Handler", (_Handler,), {"registry": self})
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class PrivateRedis:
    """A redis-server of our own (own port, pidfile and folder), so stopping it disturbs no other test."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.pidfile = self.dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        subprocess.run(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "yes", "--pidfile", str(self.pidfile), "--dir", str(self.dir),
                "--logfile", str(self.dir / "redis.log"),
            ],
            check=True,
            timeout=20,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not self._answers():
            if time.monotonic() > deadline:
                raise RuntimeError("private redis did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        """End our redis-server by the PID in its pidfile, and wait until it is gone."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
