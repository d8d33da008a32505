"""Start `manage.py berth_watcher` as a real child process on the test database."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tooling.processes import ManagedProcess


def start_watcher(
    log_dir: Path, env: dict[str, str], *, environment: str | None = None, name: str = "watcher"
) -> ManagedProcess:
    args = [sys.executable, "manage.py", "berth_watcher"]
    if environment:
        args += ["--environment", environment]
    # A short lease so takeovers happen within a test; a long history so every use stays checkable.
    env = {"BERTH_WATCHER_LEASE_SECONDS": "3", "BERTH_WATCHER_HISTORY": "500", **env}
    return ManagedProcess(args, env, log_dir / f"{name}-{secrets.token_hex(3)}.log", name=name)


def wait_for(check: Callable[[], bool], timeout: float, what: str, proc: ManagedProcess | None = None) -> None:
    """Poll `check` (bounded in time); fail naming `what`, with the watcher's log when there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    detail = f"\n{proc.tail(60)}" if proc is not None else ""
    raise AssertionError(f"{what}: not within {timeout} s{detail}")
