"""The images list against `docker image ls`, live and from the event-kept inventory, at 1,000 and 10,000 rows.

    eval "$(scripts/services.sh env)"; python -m bench.inventory [--rows 1000] [--large-rows 10000] [--runs 20]

Seeds the engine named by DOCKER_HOST with label-only FROM scratch images (distinct
images plus many tags of a few), creates containers that are never started
(network_mode none), then measures, side by side in one run, the median of `--runs`
full server-side renders of the default list page (Django test client, logged in, its
own throwaway SQLite database) reading the engine live and reading the inventory, the
web CPU per page in each mode, and `docker image ls`. Then it adds tags up to
`--large-rows` rows and measures again, and prints what a kept inventory of 10,000
images holds in memory. Everything seeded carries a label unique to the run and is
removed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import sys
import tarfile
import tempfile
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker

from bench import docker_image_ls, heading, median_seconds, setup_django, verdict

BENCH_LABEL = "berth.bench"
SEED_DEADLINE_SECONDS = 900  # a bound on seeding, whatever the engine's speed
WARMUP = 2  # untimed calls first: connection pools, template cache, the CLI's binary in the page cache


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


def _django_client(workdir: str, docker_host: str):  # a django.test.Client
    setup_django(workdir, docker_host)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from images_app.roles import VIEWER, assign_role, ensure_roles

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
        ImageUsage(
            environment=environment,
            image_id=image_id,
            last_used_at=now - timedelta(hours=index),
            last_container_name=f"job-{index}",
        )  # fmt: skip
        for index, image_id in enumerate(image_ids)
        if index % 2 == 0
    )


def _measure(client, docker_cli: str, docker_host: str, runs: int) -> dict[str, float]:
    """The list page in both modes (live engine reads, then the event-kept inventory) and the CLI."""
    from django.test import override_settings

    from images_app import engine
    from images_app.environments import environment_get
    from images_app.services.inventory import inventory_write

    def page() -> None:
        response = client.get("/env/local/images/")
        if response.status_code != 200:
            raise RuntimeError(f"list page answered {response.status_code}")

    def cli() -> None:
        docker_image_ls(docker_host, docker_cli)

    def cpu_per_page() -> float:
        before = time.process_time()
        for _ in range(runs):
            page()
        return (time.process_time() - before) / runs

    figures: dict[str, float] = {}
    with override_settings(BERTH_INVENTORY=False):
        before = engine.api_request_count()
        page()
        figures["live_calls"] = engine.api_request_count() - before
        figures["live"] = median_seconds(page, runs, warmup=WARMUP)
        figures["live_cpu"] = cpu_per_page()
    environment = environment_get("local")
    # What the keeper writes after a full read; a long staleness bound stands in for its heartbeat.
    inventory_write(
        environment=environment,
        images=engine.list_images(environment),
        containers=engine.list_containers(environment),
        caught_up=True,
    )
    with override_settings(BERTH_INVENTORY=True, BERTH_INVENTORY_STALE_SECONDS=3600):
        page()  # the first page after a change parses and sorts once for the process
        before = engine.api_request_count()
        page()
        figures["kept_calls"] = engine.api_request_count() - before
        figures["kept"] = median_seconds(page, runs, warmup=WARMUP)
        figures["kept_cpu"] = cpu_per_page()
    figures["cli"] = median_seconds(cli, runs, warmup=WARMUP)
    return figures


def _report(label: str, figures: dict[str, float], target: float) -> bool:
    heading(f"images list at {label}")
    live, kept, cli = figures["live"], figures["kept"], figures["cli"]
    print(f"engine calls per list page: live {figures['live_calls']:.0f}, inventory {figures['kept_calls']:.0f}")
    print(f"list page median, live engine reads: {live * 1000:8.1f} ms")
    print(f"list page median, inventory:         {kept * 1000:8.1f} ms")
    print(f"docker image ls median:              {cli * 1000:8.1f} ms")
    print(f"ratio live page / CLI:      {live / cli:6.2f}  (target <= 1.5)")
    print(f"ratio inventory page / CLI: {kept / cli:6.2f}  (target <= {target})")
    cpu_ratio = figures["kept_cpu"] / figures["live_cpu"]
    print(
        f"web CPU per page: live {figures['live_cpu'] * 1000:.1f} ms, inventory {figures['kept_cpu'] * 1000:.1f} ms"
        f" = {cpu_ratio:.2f} (target <= 0.33)"
    )
    ok = kept / cli <= target and cpu_ratio <= 0.34 and figures["kept_calls"] == 0
    print(f"verdict: {verdict(ok)}")
    return ok


def inventory_memory(images: int = 10_000, containers: int = 1_000) -> float:
    """MB held by a kept inventory of `images` images (2 tags, a digest, 3 labels each) once pages used it."""
    from datetime import UTC, datetime

    from images_app.engine import ContainerInfo, ImageInfo
    from images_app.environments import environment_get
    from images_app.inventory_codec import decode_containers, decode_images, encode_containers, encode_images
    from images_app.selectors.images import ImageListQuery, _listing_from_inventory
    from images_app.selectors.inventory import InventoryRead, KeptInventory
    from images_app.selectors.usage import NOT_WATCHED

    now = datetime.now(tz=UTC)
    image_list = [
        ImageInfo(
            id=f"sha256:{i:064x}",
            repo_tags=(f"registry.example.com/team/app{i}:1.{i}", f"registry.example.com/team/app{i}:latest"),
            repo_digests=(f"registry.example.com/team/app{i}@sha256:{i:064x}",),
            created=now,
            size=100_000_000 + i,
            labels={"org.opencontainers.image.source": "https://example.com/x", "maintainer": "team", "v": str(i)},
            parent_id="",
        )
        for i in range(images)
    ]
    container_list = [
        ContainerInfo(f"{i:064x}", f"c{i}", "app:1", f"sha256:{i:064x}", "exited", "Exited (0)", now)
        for i in range(containers)
    ]
    stored_images, stored_containers = encode_images(image_list), encode_containers(container_list)
    del image_list, container_list
    tracemalloc.start()
    kept = KeptInventory(1, decode_images(stored_images), decode_containers(stored_containers))
    _listing_from_inventory(environment_get("local"), InventoryRead(kept, None), NOT_WATCHED, ImageListQuery())
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"inventory of {images} images and {containers} containers: stored {len(stored_images) / 1e6:.2f} MB "
        f"compressed; {held / 1e6:.1f} MB in a web process once the list used it (target < 50 MB)"
    )
    return held / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--large-rows", type=int, default=10000, help="then grow the list to this many rows (0: no)")
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--images", type=int, default=None, help="distinct images (default: 3 in 10 rows)")
    args = parser.parse_args(argv)
    if not 20 <= args.rows <= 20000 or not 0 <= args.containers <= 2000 or not 1 <= args.runs <= 200:
        parser.error("rows 20..20000, containers 0..2000, runs 1..200")
    if args.large_rows and not args.rows < args.large_rows <= 20000:
        parser.error("--large-rows must be above --rows and at most 20000")
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
        ok = _report(f"{total_rows} rows", _measure(client, docker_cli, docker_host, args.runs), 0.3)

        tracemalloc.start()
        client.get("/env/local/images/")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak Python allocations in one page: {peak / 1e6:.1f} MB; process max RSS {max_rss_kb / 1024:.0f} MB")

        if args.large_rows:
            # Tags are cheap to add and each is a row: grow the same images to the large list.
            started = time.monotonic()
            grow_to(api, run, image_ids, args.large_rows - total_rows)
            total_rows = sum(max(1, len(i.get("RepoTags") or [])) for i in api.images())
            print(f"\ngrew the list to {total_rows} rows in {time.monotonic() - started:.1f}s")
            ok = _report(f"{total_rows} rows", _measure(client, docker_cli, docker_host, args.runs), 0.1) and ok

        heading("inventory memory")
        ok = inventory_memory() < 50 and ok
        return 0 if ok else 1
    finally:
        cleanup(api, run, image_ids)
        shutil.rmtree(workdir, ignore_errors=True)


def grow_to(api: docker.APIClient, run: str, image_ids: list[str], extra_rows: int) -> None:
    """`extra_rows` more tags spread over the seeded images (bounded in time like seeding)."""
    deadline = time.monotonic() + SEED_DEADLINE_SECONDS

    def tag(index: int) -> None:
        if time.monotonic() > deadline:
            raise RuntimeError("growing the list took too long")
        api.tag(image_ids[index % len(image_ids)], f"berth-bench-{run}/grown{index % 97:02d}", f"t{index}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(tag, range(max(0, extra_rows))))


if __name__ == "__main__":
    sys.exit(main())
