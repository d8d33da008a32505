"""Helpers for the pull tests: images in the loopback registry, a slow registry, SSE reading."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import docker
import requests

from images_app.models import PullJob
from tooling.slow_registry import SlowRegistry

__all__ = ["SlowRegistry", "collect_stream", "push_image", "sse_events", "wait_for_job", "wait_until"]


def push_image(
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
