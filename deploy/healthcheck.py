#!/usr/bin/env python3
"""The image's HEALTHCHECK: asks the web role for its login page; other roles have no HTTP to ask.

One image plays every role, so the probe looks at what PID 1 runs. Only the standard library: the probe
runs every 30 s and must cost little (no Django import).
"""

from __future__ import annotations

import http.client
import os
import sys
from pathlib import Path


def main() -> int:
    command = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    if not any(part.endswith(b"uvicorn") or part == b"config.web_server" for part in command):
        return 0  # worker, scheduler, migrate: compose restarts them when they exit, there is no port to ask
    bind = os.environ.get("BERTH_BIND", "0.0.0.0:8000")
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - a listening address, asked on loopback
        host = "127.0.0.1"
    # Django answers 400 to a Host it does not know: send the first name it is configured to accept.
    names = [n.strip() for n in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",") if n.strip()]
    name = names[0].lstrip(".") if names and names[0] != "*" else "localhost"
    headers = {"Host": name}
    if os.environ.get("BERTH_HTTPS", "0").lower() in ("1", "true", "yes", "on"):
        headers["X-Forwarded-Proto"] = "https"  # as the TLS proxy in front says it
    try:
        connection = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=4)
        connection.request("GET", "/login/", headers=headers)
        status = connection.getresponse().status
    except (OSError, ValueError) as exc:
        print(f"web role does not answer on {bind}: {exc}")
        return 1
    if 200 <= status < 400:
        return 0
    print(f"web role answered {status} to GET /login/ (Host: {name})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
