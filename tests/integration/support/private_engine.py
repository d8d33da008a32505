"""A second dockerd of our own (scripts/services.sh in a folder of its own), so stopping it disturbs no other test."""

from __future__ import annotations

import os
import subprocess

from tooling.processes import REPO_ROOT

SERVICES = str(REPO_ROOT / "scripts" / "services.sh")


class PrivateEngine:
    """A second dockerd of our own, so stopping it disturbs no other test."""

    def __init__(self) -> None:
        self.dir = f"/tmp/bf-{os.getpid()}"
        self.env = {**os.environ, "BERTH_SERVICES_DIR": self.dir}

    @property
    def host(self) -> str:
        return f"unix://{self.dir}/e/docker.sock"

    def start(self) -> None:
        subprocess.run([SERVICES, "start", "engine"], env=self.env, check=True, timeout=90)

    def stop(self) -> None:
        subprocess.run([SERVICES, "stop", "engine"], env=self.env, check=True, timeout=90)
