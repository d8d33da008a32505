"""Child processes the tests and benchmarks start: a web server and a Celery worker on loopback.

Each runs in its own session so stopping it ends its children too, and only those:
we end processes by the PIDs we started, never by name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ProcessTable:
    """Every process's children and its own CPU seconds (user + system), as /proc said at one moment."""

    children: dict[int, list[int]]
    own_cpu: dict[int, float]

    def cpu_with_descendants(self, pid: int) -> float:
        total, todo = 0.0, [pid]
        while todo:
            current = todo.pop()
            total += self.own_cpu.get(current, 0.0)
            todo.extend(self.children.get(current, []))
        return total


def process_table() -> ProcessTable:
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = defaultdict(list)
    own: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Fields after the ")" that ends the command name: state ppid ... utime(14) stime(15).
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children[int(fields[1])].append(int(entry.name))
        own[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return ProcessTable(dict(children), own)


@dataclass(frozen=True)
class MachineCpu:
    """The machine's CPU time so far, all CPUs together, in clock ticks (/proc/stat's first line)."""

    busy: int  # running anything, this machine's kernel included
    idle: int  # idle or waiting for I/O
    stolen: int  # wanted to run, but the hypervisor ran another guest ("steal")

    def share_stolen_since(self, before: MachineCpu) -> float:
        """Of the CPUs' time between `before` and this reading, the share the hypervisor took."""
        total = (self.busy + self.idle + self.stolen) - (before.busy + before.idle + before.stolen)
        return (self.stolen - before.stolen) / total if total > 0 else 0.0

    def share_busy_since(self, before: MachineCpu) -> float:
        total = (self.busy + self.idle + self.stolen) - (before.busy + before.idle + before.stolen)
        return (self.busy - before.busy) / total if total > 0 else 0.0


def machine_cpu() -> MachineCpu:
    return machine_cpu_of(Path("/proc/stat").read_text().split("\n", 1)[0])


def machine_cpu_of(line: str) -> MachineCpu:
    """/proc/stat's "cpu  user nice system idle iowait irq softirq steal guest guest_nice" line (guest is in user)."""
    user, nice, system, idle, iowait, irq, softirq, steal = (int(value) for value in line.split()[1:9])
    return MachineCpu(busy=user + nice + system + irq + softirq, idle=idle + iowait, stolen=steal)


class ManagedProcess:
    """A child process we started, ended by its PID only."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, name: str = "") -> None:
        self.args = args
        self.name = name or Path(args[2] if len(args) > 2 else args[0]).name
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            args, cwd=REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)  # its own session: only its children
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `check` (bounded); fail with the log's tail if the process dies or never gets ready.

        A process that never gets ready is stopped first: a failed fixture's setup has no teardown
        to do it, and a leftover process would hold the test database for the tests after it.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{what} exited early:\n{self.tail()}")
            if check():
                return
            time.sleep(0.2)
        log = self.tail()
        self.stop()
        raise RuntimeError(f"{what} not ready in {timeout}s:\n{log}")


def start_web_server(log_dir: Path, env: dict[str, str], *, workers: int = 1) -> tuple[ManagedProcess, str]:
    """uvicorn serving Berth on a free loopback port, as `make run` starts it; returns the process and its base URL."""
    port = free_port()
    args = [sys.executable, "-m", "config.web_server", "config.asgi:application", "--host", "127.0.0.1"]
    args += ["--port", str(port)]
    args += ["--workers", str(workers), "--no-access-log", "--timeout-graceful-shutdown", "2"]
    proc = ManagedProcess(args, env, log_dir / f"uvicorn-{port}.log", name="uvicorn")
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return requests.get(url + "/login/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    proc.wait_until(ready, 60, "web server")
    return proc, url


def start_worker(log_dir: Path, env: dict[str, str], hostname: str) -> ManagedProcess:
    """A Celery worker (prefork, 2 children) named `hostname`, once it says it is ready."""
    args = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2"]
    args += ["--pool=prefork", "--without-gossip", "--without-mingle", "-n", hostname]
    proc = ManagedProcess(args, env, log_dir / f"worker-{hostname.split('@')[0]}.log", name="worker")
    proc.wait_until(lambda: "ready." in proc.tail(200), 60, "celery worker")
    return proc


def start_beat(log_dir: Path, env: dict[str, str], schedule_file: Path) -> ManagedProcess:
    """Celery beat with its own persistent schedule file, once it has started sending.

    It sends to the broker in `env` (REDIS_URL); a worker on the same Redis and queue runs the tasks.
    """
    args = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
    args += ["--schedule", str(schedule_file), "--max-interval", "1"]
    proc = ManagedProcess(args, env, log_dir / f"beat-{schedule_file.name}.log", name="beat")
    proc.wait_until(lambda: "beat: Starting..." in proc.tail(200), 60, "celery beat")
    return proc
