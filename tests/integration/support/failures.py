"""Parts that fail on demand: a private Redis (a registry stopped mid-transfer is tooling.slow_registry)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


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
