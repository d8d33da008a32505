"""The images list against `docker image ls`, on the same engine, with 1,000 rows and 200 containers.

    eval "$(scripts/services.sh env)"; python -m bench.inventory [--rows 1000] [--containers 200] [--runs 20]

Seeds the engine named by DOCKER_HOST with label-only FROM scratch images (distinct
images plus many tags of a few), creates containers that are never started
(network_mode none), then measures the median of `--runs` full server-side renders
of the default list page (Django test client, logged in, its own throwaway SQLite
database) and of the CLI's `docker image ls`. Everything seeded carries a label
unique to the run and is removed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker

BENCH_LABEL = "berth.bench"
SEED_DEADLINE_SECONDS = 900  # a bound on seeding, whatever the engine's speed


def _context(run: str, index: int) -> io.BytesIO:
    """A Dockerfile for an image with no layers: only labels, distinct per index, builds in ~0.1 s."""
    dockerfile = f'FROM scratch\nLABEL "{BENCH_LABEL}"="{run}" "berth.bench.index"="{index}"\n'.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    buffer.seek(0)
    return buffer


def _build(api: docker.APIClient, run: str, index: int) -> str:
    tag = f"berth-bench-{run}/img{index:04d}:v0"
    for chunk in api.build(fileobj=_context(run, index), custom_context=True, tag=tag, rm=True, decode=True):
        if "error" in chunk:
            raise RuntimeError(chunk["error"])
    return api.inspect_image(tag)["Id"]


def plan(rows: int, distinct: int | None = None) -> list[int]:
    """How many tags each distinct image gets so that the list has exactly `rows` rows.

    Building is the slow part and tagging is fast, so by default 3 in 10 rows are
    distinct images and the other rows are extra tags spread over a fifth of them:
    single-tag and many-tag images, both shapes the list must handle (pure).
    """
    distinct = distinct or max(1, rows * 3 // 10)
    if not 1 <= distinct <= rows:
        raise ValueError("need 1 <= images <= rows")
    tags = [1] * distinct
    multi = max(1, distinct // 5)
    for extra in range(rows - distinct):
        tags[extra % multi] += 1
    return tags


def seed(api: docker.APIClient, run: str, rows: int, containers: int, distinct: int | None = None) -> list[str]:
    tags = plan(rows, distinct)
    deadline = time.monotonic() + SEED_DEADLINE_SECONDS
    with ThreadPoolExecutor(max_workers=4) as pool:
        image_ids = list(pool.map(lambda i: _build(api, run, i), range(len(tags))))
    for index, (image_id, count) in enumerate(zip(image_ids, tags, strict=True)):
        for tag in range(1, count):
            if time.monotonic() > deadline:
                raise RuntimeError("seeding took too long")
            api.tag(image_id, f"berth-bench-{run}/img{index:04d}", f"v{tag}")
    for index in range(containers):
        if time.monotonic() > deadline:
            raise RuntimeError("seeding took too long")
        api.create_container(
            image_ids[index % len(image_ids)],
            command=["/never-started"],  # created only: the image has no binary, and need none
            labels={BENCH_LABEL: run},
            host_config=api.create_host_config(network_mode="none"),
        )
    return image_ids


def cleanup(api: docker.APIClient, run: str, image_ids: list[str]) -> None:
    for container in api.containers(all=True, filters={"label": f"{BENCH_LABEL}={run}"}):
        api.remove_container(container["Id"], force=True)
    leftovers = {i["Id"] for i in api.images(filters={"label": f"{BENCH_LABEL}={run}"})}
    for image_id in leftovers | set(image_ids):
        try:
            api.remove_image(image_id, force=True)
        except docker.errors.NotFound:
            pass


def _django_client(workdir: str, docker_host: str):  # noqa: ANN202  (a django.test.Client)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "BERTH_DATA_DIR": workdir,
            "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3",
            "BERTH_ENVIRONMENTS": f"local={docker_host}",
            "DJANGO_DEBUG": "0",
            "BERTH_MANIFEST_STATIC": "0",
            "DJANGO_SECRET_KEY": "bench-only-" + uuid.uuid4().hex,
            "BERTH_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("BERTH_TEST_DATABASE", None)
    os.makedirs(os.path.join(workdir, "static"), exist_ok=True)  # STATIC_ROOT, or WhiteNoise warns
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from images_app.roles import VIEWER, assign_role, ensure_roles

    call_command("migrate", verbosity=0)
    ensure_roles()
    user = get_user_model().objects.create_user(username="bench", password=uuid.uuid4().hex)
    assign_role(user, VIEWER)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _seed_usage(image_ids: list[str]) -> None:
    """What a watcher would have recorded: a horizon, and a last use for every other image (the Last used column
    then shows times, "unknown before" and "never", as on a watched host)."""
    from datetime import timedelta

    from django.utils import timezone

    from images_app.environments import environment_get, sync_environments
    from images_app.models import ImageUsage, WatchState

    sync_environments()
    environment = environment_get("local")
    now = timezone.now()
    WatchState.objects.create(environment=environment, watched_since=now - timedelta(days=40))
    ImageUsage.objects.bulk_create(
        ImageUsage(environment=environment, image_id=image_id, last_used_at=now - timedelta(hours=index),
                   last_container_name=f"job-{index}")  # fmt: skip
        for index, image_id in enumerate(image_ids)
        if index % 2 == 0
    )


def _median_seconds(action, runs: int) -> float:  # noqa: ANN001
    for _ in range(2):  # warm-up: connection pools, template cache, the CLI's binary in the page cache
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--images", type=int, default=None, help="distinct images (default: 3 in 10 rows)")
    args = parser.parse_args(argv)
    if not 20 <= args.rows <= 20000 or not 0 <= args.containers <= 2000 or not 1 <= args.runs <= 200:
        parser.error("rows 20..20000, containers 0..2000, runs 1..200")
    docker_host = os.environ.get("DOCKER_HOST")
    if not docker_host:
        parser.error('DOCKER_HOST is not set: eval "$(scripts/services.sh env)" first')
    docker_cli = shutil.which("docker")
    if not docker_cli:
        parser.error("the docker CLI is not on PATH")

    api = docker.APIClient(base_url=docker_host, version="auto", timeout=120)
    run = uuid.uuid4().hex[:8]
    workdir = tempfile.mkdtemp(prefix="berth-bench-")
    image_ids: list[str] = []
    try:
        started = time.monotonic()
        image_ids = seed(api, run, args.rows, args.containers, args.images)
        seeded_in = time.monotonic() - started
        total_rows = sum(max(1, len(i.get("RepoTags") or [])) for i in api.images())
        print(f"seeded {args.rows} rows ({len(image_ids)} images) and {args.containers} containers in {seeded_in:.1f}s")
        print(f"engine now lists {total_rows} rows")

        client = _django_client(workdir, docker_host)
        _seed_usage(image_ids)

        def page() -> None:
            response = client.get("/env/local/images/")
            if response.status_code != 200:
                raise RuntimeError(f"list page answered {response.status_code}")

        def cli() -> None:
            subprocess.run(
                [docker_cli, "image", "ls"],
                env={**os.environ, "DOCKER_HOST": docker_host},
                check=True,
                stdout=subprocess.PIPE,
                timeout=60,
            )

        from images_app import engine

        before = engine.api_request_count()
        page()
        calls = engine.api_request_count() - before
        web = _median_seconds(page, args.runs)
        shell = _median_seconds(cli, args.runs)

        tracemalloc.start()
        page()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        print(f"engine calls per list page: {calls}")
        print(f"list page median:       {web * 1000:8.1f} ms  (median of {args.runs}, full server-side render)")
        print(f"docker image ls median: {shell * 1000:8.1f} ms  (median of {args.runs})")
        print(f"ratio page / CLI:       {web / shell:8.2f}    (target <= 1.5)")
        print(f"peak Python allocations in one page: {peak / 1e6:.1f} MB; process max RSS {max_rss_kb / 1024:.0f} MB")
        return 0 if web / shell <= 1.5 else 1
    finally:
        cleanup(api, run, image_ids)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
