"""Watcher lag: from a container event in the engine to its row in Berth's database.

    eval "$(scripts/services.sh env)"; python -m bench.watcher [--rate 20] [--seconds 60] [--workers 12] [--mode start]

Starts `manage.py berth_watcher` on a throwaway database, then starts and stops containers (FROM
scratch with busybox, network none) at `--rate` starts+stops per second for `--seconds`
(BERTH_WATCHER_BENCH_SECONDS overrides), from `--workers` threads each cycling its own containers.
A poller reads new use rows every 20 ms; each row's lag is when the poller saw it minus the engine's
event time (same host, same clock). Prints the achieved rate, lag p50/p95/p99 and whether every
event was recorded. Target: p95 < 1 s at 20 starts+stops per second.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import docker

from bench import env_seconds, summarize
from tooling.scratch_images import build_scratch_image

TARGET_P95_SECONDS = 1.0
REPO_ROOT = Path(__file__).resolve().parent.parent


def _configure(workdir: str, docker_host: str) -> dict[str, str]:
    env = {
        **os.environ,
        "BERTH_DATA_DIR": workdir,
        "DATABASE_URL": f"sqlite:///{Path(workdir) / 'bench.sqlite3'}",
        "BERTH_ENVIRONMENTS": f"local={docker_host}",
        "BERTH_WATCHER_HISTORY": "1000000",  # every use stays, so the poller sees each one
        "BERTH_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
    os.environ.update({k: env[k] for k in ("BERTH_DATA_DIR", "DATABASE_URL", "BERTH_ENVIRONMENTS",
                                           "DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY")})  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="container starts+stops per second")
    parser.add_argument("--seconds", type=float, default=env_seconds("BERTH_WATCHER_BENCH_SECONDS", 60))
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument(
        "--mode", choices=["start", "create"], default=os.environ.get("BERTH_WATCHER_BENCH_MODE", "start"),
        help="start: start and kill containers (as asked); create: create and remove them (cheaper for the engine, "
        "when a loaded machine cannot start 20 containers a second)",
    )  # fmt: skip
    parser.add_argument(
        "--network", choices=["none", "host"], default=os.environ.get("BERTH_WATCHER_BENCH_NETWORK", "host"),
        help="host (default): the containers share the host's network namespace, so a start makes none (the "
        "engine's slowest step for a container; the containers open no socket); none: each gets an empty one",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not 0.1 <= args.rate <= 200 or not 1 <= args.seconds <= 600 or not 1 <= args.workers <= 64:
        parser.error("rate 0.1..200, seconds 1..600, workers 1..64")
    docker_host = os.environ.get("DOCKER_HOST")
    if not docker_host:
        parser.error('DOCKER_HOST is not set: eval "$(scripts/services.sh env)" first')
    api = docker.APIClient(base_url=docker_host, version="auto", timeout=60, max_pool_size=args.workers + 4)
    run = uuid.uuid4().hex[:8]
    workdir = tempfile.mkdtemp(prefix="berth-bench-watcher-")
    env = _configure(workdir, docker_host)
    from images_app.models import ImageUse, WatchState

    image_id = build_scratch_image(api, f"berth-bench-watch-{run}:1", labels={"berth.bench": run})
    no_network = api.create_host_config(network_mode=args.network)
    containers = [
        api.create_container(image_id, command=["/bin/busybox", "sleep", "600"], host_config=no_network,
                             labels={"berth.bench": run})["Id"]  # fmt: skip
        for _ in range(args.workers)
    ]
    log = open(Path(workdir) / "watcher.log", "wb")
    watcher = subprocess.Popen(
        [sys.executable, "manage.py", "berth_watcher"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not WatchState.objects.filter(engine_status="connected").exists():
            if time.monotonic() > deadline or watcher.poll() is not None:
                raise RuntimeError("the watcher did not connect")
            time.sleep(0.2)
        start_id = ImageUse.objects.order_by("-id").values_list("id", flat=True).first() or 0

        lags: list[float] = []
        seen = start_id
        stop_polling = threading.Event()

        def poll() -> None:
            nonlocal seen
            from django.db import connection

            while not stop_polling.is_set():
                rows = list(ImageUse.objects.filter(id__gt=seen, image_id=image_id).values_list("id", "time_nano"))
                now = time.time_ns()
                for row_id, time_nano in rows:
                    lags.append((now - time_nano) / 1e9)
                    seen = max(seen, row_id)
                time.sleep(0.02)
            connection.close()

        cycles = 0
        cycles_lock = threading.Lock()
        end = time.monotonic() + args.seconds
        interval = args.workers / args.rate  # each worker's period for the total rate

        def cycle(container_id: str, offset: float) -> None:
            nonlocal cycles
            next_at = time.monotonic() + offset
            while time.monotonic() < end:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if args.mode == "start":
                    api.start(container_id)
                    api.kill(container_id)
                    api.wait(container_id, timeout=30)
                else:
                    created = api.create_container(image_id, command=["/bin/busybox", "true"], host_config=no_network)
                    api.remove_container(created["Id"])
                with cycles_lock:
                    cycles += 1
                next_at += interval

        poller = threading.Thread(target=poll)
        poller.start()
        started = time.monotonic()
        threads = [
            threading.Thread(target=cycle, args=(cid, i * interval / args.workers)) for i, cid in enumerate(containers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        expected = cycles * (2 if args.mode == "start" else 1)  # start and die, or create
        settle = time.monotonic() + 10
        while len(lags) < expected and time.monotonic() < settle:
            time.sleep(0.05)
        stop_polling.set()
        poller.join()

        summary = summarize(lags)
        what = "starts+stops" if args.mode == "start" else "creates+removals"
        print(f"{cycles} {what} in {elapsed:.1f} s: {cycles / elapsed:.1f}/s (asked {args.rate:.0f}/s, "
              f"{args.workers} workers)")  # fmt: skip
        if cycles / elapsed < 0.8 * args.rate:
            print("(the engine could not go faster on this machine: the rate, not the watcher, is the limit)")
        print(f"uses recorded: {len(lags)} of {expected}")
        print(summary.line("event -> database lag", "ms"))
        ok = summary.p95 < TARGET_P95_SECONDS and len(lags) >= expected
        print(f"[{'PASS' if ok else 'FAIL'}] p95 < {TARGET_P95_SECONDS:.0f} s and nothing missed")
        return 0 if ok else 1
    finally:
        watcher.terminate()
        try:
            watcher.wait(15)
        except subprocess.TimeoutExpired:
            watcher.kill()
        log.close()
        for container_id in containers:
            try:
                api.remove_container(container_id, force=True)
            except docker.errors.APIError:
                pass
        try:
            api.remove_image(image_id, force=True)
        except docker.errors.APIError:
            pass
        shutil.rmtree(workdir, ignore_errors=True)  # its database and the watcher's log


if __name__ == "__main__":
    sys.exit(main())
