"""Helpers for the pull tests: images in the loopback registry, a slow registry, SSE reading."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docker
import requests

from images_app.models import PullJob


def push_image(  # noqa: ANN001
    images, docker_api: docker.APIClient, registry: str, name: str, layers: list[int], tag: str = "v1"
) -> str:
    """Build an image with random layers, push it to `registry`, remove it locally; returns "name:tag"."""
    repository = f"{registry}/{name}"
    image_id = images.build(f"{repository}:{tag}", layers=layers)
    for chunk in docker_api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            raise RuntimeError(f"push failed: {chunk['error']}")
    docker_api.remove_image(image_id, force=True)
    return f"{name}:{tag}"


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


def wait_for_job(job_id: int, statuses: tuple[str, ...], timeout: float = 60) -> PullJob:
    """Poll the database (bounded) until the job is in one of `statuses`."""
    deadline = time.monotonic() + timeout
    job = PullJob.objects.get(pk=job_id)
    while time.monotonic() < deadline:
        job = PullJob.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"pull {job_id} still {job.status} after {timeout}s: {job.error_message}")


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout}s: {what}")


def sse_events(response: requests.Response) -> Iterator[tuple[str, dict]]:
    """(event name, data) pairs from a streaming requests response; comments are skipped."""
    name, data = "message", []
    for raw in response.iter_lines(chunk_size=1, decode_unicode=True):
        line = raw if isinstance(raw, str) else raw.decode()
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def collect_stream(session: requests.Session, url: str, timeout: float = 90) -> list[tuple[str, dict]]:
    """Every event of a job's stream until it ends (bounded by `timeout`)."""
    events = []
    deadline = time.monotonic() + timeout
    with session.get(url, stream=True, timeout=(5, 20)) as response:
        assert response.status_code == 200, response.status_code
        assert response.headers["Content-Type"].startswith("text/event-stream")
        for name, data in sse_events(response):
            events.append((name, data))
            if name == "end" or time.monotonic() > deadline:
                break
    return events
