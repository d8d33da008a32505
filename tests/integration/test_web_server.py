"""config.web_server: uvicorn's workers, each accepting on a socket of its own (SO_REUSEPORT), on loopback.

What is checked is what the kernel says: which process holds which listening and connected
socket (/proc), not anything the server reports about itself.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from config.web_server import OwnListeningSocket
from tests.integration.conftest import _child_env
from tooling.processes import REPO_ROOT, ManagedProcess, free_port, process_table

pytestmark = pytest.mark.django_db(transaction=True)

LISTEN, ESTABLISHED = "0A", "01"


def _tcp_sockets(port: int, state: str) -> set[int]:
    """Inodes of IPv4 TCP sockets whose local port is `port`, in `state` (/proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def _sockets_of(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:  # ended meanwhile
        pass
    return inodes


def _listeners(server: ManagedProcess, port: int) -> dict[int, set[int]]:
    """Worker PID -> the listening sockets on `port` it holds."""
    listening = _tcp_sockets(port, LISTEN)
    held = {pid: _sockets_of(pid) & listening for pid in process_table().children.get(server.pid, [])}
    return {pid: inodes for pid, inodes in held.items() if inodes}


def _start(tmp_path: Path, port: int, workers: int) -> ManagedProcess:
    args = [sys.executable, "-m", "config.web_server", "config.asgi:application", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--workers", str(workers), "--no-access-log", "--timeout-graceful-shutdown", "2"]
    return ManagedProcess(args, _child_env(), tmp_path / f"web-{port}.log", name="web")


def _refused(tmp_path: Path, port: int) -> str:
    """Start a server on `port` that must stop by itself, failing; what it logged."""
    server = _start(tmp_path, port, 2)
    try:
        server.proc.wait(60)
    finally:
        server.stop()
    assert server.proc.returncode != 0
    return server.tail()


@pytest.fixture
def three_workers(tmp_path: Path):
    port = free_port()
    server = _start(tmp_path, port, 3)
    try:
        server.wait_until(lambda: len(_listeners(server, port)) == 3, 90, "three listening workers")
        yield server, port
    finally:
        server.stop()


def test_each_worker_listens_on_its_own_socket_and_connections_spread(three_workers) -> None:
    server, port = three_workers
    listeners = _listeners(server, port)
    inodes = [inode for held in listeners.values() for inode in held]
    assert len(inodes) == len(set(inodes)) == 3, listeners  # three sockets, one per worker
    # The parent holds none: connections the kernel gave it would wait unanswered.
    assert not _sockets_of(server.pid) & _tcp_sockets(port, LISTEN)

    sessions = [requests.Session() for _ in range(30)]
    try:
        assert all(s.get(f"http://127.0.0.1:{port}/login/", timeout=30).status_code == 200 for s in sessions)
        connected = _tcp_sockets(port, ESTABLISHED)
        per_worker = {pid: len(_sockets_of(pid) & connected) for pid in listeners}
    finally:
        for session in sessions:
            session.close()
    assert sum(per_worker.values()) == 30, per_worker
    # Spread by a hash of the addresses: all 30 on one worker of three is a 1-in-10^14 chance.
    assert sum(1 for count in per_worker.values() if count) >= 2, per_worker


def test_a_worker_that_dies_is_replaced_by_one_with_its_own_socket(three_workers) -> None:
    server, port = three_workers
    before = _listeners(server, port)
    victim = next(iter(before))
    os.kill(victim, signal.SIGKILL)
    server.wait_until(
        lambda: len(after := _listeners(server, port)) == 3 and victim not in after,
        90,
        "a replacement worker listening",
    )
    after = _listeners(server, port)
    assert len({inode for held in after.values() for inode in held}) == 3
    for _ in range(10):
        assert requests.get(f"http://127.0.0.1:{port}/login/", timeout=30).status_code == 200


def test_a_port_held_by_another_program_stops_the_server_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))  # bound without SO_REUSEPORT, not (yet) listening
        port = other.getsockname()[1]
        log = _refused(tmp_path, port)
    assert f"Cannot listen on 127.0.0.1:{port}: [Errno 98] Address already in use" in log


def test_stopping_the_server_stops_its_workers(tmp_path: Path) -> None:
    port = free_port()
    server = _start(tmp_path, port, 2)
    try:
        server.wait_until(lambda: len(_listeners(server, port)) == 2, 90, "two listening workers")
        workers = list(_listeners(server, port))
        os.kill(server.pid, signal.SIGTERM)  # the parent only, as a service manager does
        server.proc.wait(30)
    finally:
        server.stop()
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not _tcp_sockets(port, LISTEN)


def test_the_stand_in_binds_a_socket_of_its_own_where_it_is_unpickled() -> None:
    port = free_port()
    first = pickle.loads(pickle.dumps(OwnListeningSocket("127.0.0.1", port)))
    second = pickle.loads(pickle.dumps(OwnListeningSocket("127.0.0.1", port)))
    try:
        assert isinstance(first, socket.socket) and first.fileno() != second.fileno()
        assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
        assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
    finally:
        first.close()
        second.close()


def test_the_help_is_uvicorns_own(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "config.web_server", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "--workers" in shown.stdout and "--timeout-graceful-shutdown" in shown.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "config.web_server", "config.asgi:application", "--workers", "2", "--reload"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "--reload is not supported" in refused.stderr


def test_a_second_server_on_the_same_port_is_refused(three_workers, tmp_path: Path) -> None:
    server, port = three_workers
    log = _refused(tmp_path, port)
    assert f"Cannot listen on 127.0.0.1:{port}: another server already listens there" in log
    assert len(_listeners(server, port)) == 3  # the first one serves on, alone
