"""Benchmark: pulls through Berth against `docker pull`, and the live-progress relay delay.

    python -m bench.pulls          (with the services of scripts/services.sh running and exported)

1. A 3 x 50 MB-layer image in the loopback registry, pulled 5 times through
   Berth (web form, Celery worker, job succeeded) and 5 times with the
   `docker pull` CLI, the image removed between runs: medians and their ratio
   (target <= 1.25).
2. 50 server-sent-event clients watching one pull: the delay from the worker
   receiving each engine event to a client receiving it (p95, target <= 100 ms).
   The worker stamps every event with its receive time; clients compare on arrival.

Everything runs on loopback, in a throwaway database, with its own worker queue.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tooling.processes import ManagedProcess, process_table, start_web_server, start_worker
from tooling.scratch_images import build_scratch_image, push_image

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
LAYER_BYTES = 50 * 1_000_000
SSE_CLIENTS = 50
RATIO_TARGET = 1.25
P95_TARGET_MS = 100.0
PASSWORD = "bench-password-not-secret"


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: start the services (scripts/services.sh) and eval their env first")
    return value


def push_bench_image(api, registry: str) -> str:
    reference = f"{registry}/berth-bench-{secrets.token_hex(4)}:v1"
    repository, tag = reference.rsplit(":", 1)
    build_scratch_image(api, reference, layers=[LAYER_BYTES] * 3, busybox=False, labels={"berth.bench": "1"})
    push_image(api, repository, tag)
    api.remove_image(reference, force=True)
    return reference


def remove_quietly(api, reference: str) -> None:
    import docker

    try:
        api.remove_image(reference, force=True)
    except docker.errors.NotFound:
        pass


def login(base_url: str, username: str):
    import requests

    session = requests.Session()
    session.get(base_url + "/login/", timeout=10)
    response = session.post(
        base_url + "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": base_url + "/login/"},
        allow_redirects=False,
        timeout=10,
    )
    if response.status_code != 302:
        raise RuntimeError(f"bench login failed: {response.status_code}")
    return session


def berth_pull(session, base_url: str, reference: str) -> float:
    """Seconds from submitting the form to the job having succeeded."""
    from images_app.models import PullJob

    started = time.perf_counter()
    response = session.post(
        base_url + "/env/local/pulls/new/",
        data={"reference": reference, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": base_url + "/env/local/pulls/new/"},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(f"submit failed: {response.status_code} {response.text[:300]}")
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status, error = PullJob.objects.values_list("status", "error_message").get(pk=job_id)
        if status == "succeeded":
            return time.perf_counter() - started
        if status in ("failed", "cancelled"):
            raise RuntimeError(f"Berth pull {status}: {error}")
        time.sleep(0.01)
    raise RuntimeError("Berth pull did not finish in 300 s")


def cli_pull(reference: str) -> float:
    started = time.perf_counter()
    subprocess.run(["docker", "pull", reference], check=True, stdout=subprocess.DEVNULL, timeout=300)
    return time.perf_counter() - started


async def _sse_client(port: int, path: str, cookie: str, delays: list[float], connected: asyncio.Event) -> int:
    """A minimal SSE client over raw HTTP/1.1 (chunked), recording each progress event's delay."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n"
    writer.write((head + "\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream answered {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    received = 0
    buffer = b""
    try:
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                return received
            chunk = (await reader.readexactly(size + 2))[:-2]
            arrived = time.time()
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                event, data = "message", None
                for line in block.split(b"\n"):
                    if line.startswith(b"event:"):
                        event = line[6:].strip().decode()
                    elif line.startswith(b"data:"):
                        data = json.loads(line[5:])
                if event == "snapshot":
                    connected.set()
                elif event == "progress" and data and "t" in data:
                    delays.append(arrived - data["t"])
                    received += 1
                elif event == "end":
                    return received
    finally:
        writer.close()


@dataclass
class Relay:
    delays: list[float]
    counts: list[int]
    web_cpu_seconds: float  # the web process's CPU from the pull's start to its last event


async def _watch(port: int, path: str, cookie: str, clients: int, start_pull, web_cpu) -> Relay:
    delays: list[float] = []
    events = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(_sse_client(port, path, cookie, delays, events[i])) for i in range(clients)]
    # Every client has its snapshot (so it is subscribed) before the worker gets the job.
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in events)), 60)
    cpu_before = web_cpu()
    await asyncio.to_thread(start_pull)
    counts = await asyncio.wait_for(asyncio.gather(*tasks), 300)
    return Relay(delays, list(counts), web_cpu() - cpu_before)


def relay_delays(api, session, port: int, reference: str, web_pid: int) -> Relay:
    from django.contrib.auth import get_user_model

    from images_app.environments import environment_get
    from images_app.models import PullJob
    from images_app.services import pulls

    remove_quietly(api, reference)
    user = get_user_model().objects.get(username="bench")
    # Created without its task, so that all clients watch from the very first event.
    job = PullJob.objects.create(environment=environment_get("local"), reference=reference, requested_by=user)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    path = f"/env/local/pulls/{job.pk}/events/"
    relay = asyncio.run(
        _watch(
            port,
            path,
            cookie,
            SSE_CLIENTS,
            lambda: pulls._enqueue(job),
            lambda: process_table().cpu_with_descendants(web_pid),
        )
    )
    job.refresh_from_db()
    if job.status != "succeeded":
        raise RuntimeError(f"watched pull {job.status}: {job.error_message}")
    return relay


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    docker_host = _require("DOCKER_HOST")
    _require("REDIS_URL")
    registry = _require("BERTH_TEST_REGISTRY")
    workdir = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        BERTH_DATA_DIR=str(workdir / "data"),
        BERTH_ENVIRONMENTS=f"local={docker_host}",
        BERTH_QUEUE=f"bench-{secrets.token_hex(4)}",  # no other worker on this Redis takes our jobs
        DJANGO_DEBUG="0",
        BERTH_MANIFEST_STATIC="0",
    )
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.update(env)

    import django

    django.setup()
    import docker
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from images_app.roles import OPERATOR, assign_role

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password=PASSWORD)
    assign_role(user, OPERATOR)

    api = docker.APIClient(base_url=docker_host, version="auto", timeout=300)
    children: list[ManagedProcess] = []
    reference = ""
    finished = False
    try:
        worker = start_worker(workdir, env, f"bench-{secrets.token_hex(3)}@berth")
        children.append(worker)
        web, base_url = start_web_server(workdir, env)
        children.append(web)
        port = int(base_url.rsplit(":", 1)[1])

        print(f"[bench] pushing a 3 x {LAYER_BYTES // 1_000_000} MB image to {registry} ...", flush=True)
        reference = push_bench_image(api, registry)
        session = login(base_url, "bench")

        berth_times, cli_times = [], []
        for run in range(RUNS):
            # Alternate who goes first, so neither always meets a warmer cache.
            order = ("berth", "cli") if run % 2 == 0 else ("cli", "berth")
            for who in order:
                remove_quietly(api, reference)
                if who == "berth":
                    berth_times.append(berth_pull(session, base_url, reference))
                else:
                    cli_times.append(cli_pull(reference))
            print(f"[bench] run {run + 1}: berth {berth_times[-1]:.3f}s, docker pull {cli_times[-1]:.3f}s", flush=True)
        berth_median = statistics.median(berth_times)
        cli_median = statistics.median(cli_times)
        ratio = berth_median / cli_median

        relay = relay_delays(api, session, port, reference, web.pid)
        delays, counts = relay.delays, relay.counts
        p50 = percentile(delays, 0.50) * 1000
        p95 = percentile(delays, 0.95) * 1000
        worst = max(delays) * 1000

        print()
        print(f"pull 3x50MB via Berth (median of {RUNS}):   {berth_median:.3f} s")
        print(f"pull 3x50MB via docker CLI (median of {RUNS}): {cli_median:.3f} s")
        verdict = "OK" if ratio <= RATIO_TARGET else "OVER TARGET"
        print(f"ratio Berth / docker pull:               {ratio:.2f}  (target <= {RATIO_TARGET}) {verdict}")
        verdict = "OK" if p95 <= P95_TARGET_MS else "OVER TARGET"
        print(
            f"progress relay worker -> SSE client, {SSE_CLIENTS} clients, {len(delays)} deliveries "
            f"({min(counts)}-{max(counts)} events each): p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms "
            f"(target p95 <= {P95_TARGET_MS:.0f} ms) {verdict}"
        )
        # Each pull is read from one shared subscription per web process and handed to every viewer.
        per_delivery = relay.web_cpu_seconds / max(1, len(delays)) * 1e6
        print(f"web CPU while relaying: {relay.web_cpu_seconds:.2f} s, {per_delivery:.0f} us per delivery")
        finished = True
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        if reference:
            remove_quietly(api, reference)
        if finished:
            shutil.rmtree(workdir, ignore_errors=True)  # kept after a failure, for its logs


if __name__ == "__main__":
    sys.exit(main())
