"""A retention policy's preview over 5,000 images (target < 2 s), and the rules alone.

    eval "$(scripts/services.sh env)"; python -m bench.retention [--images 5000] [--runs 3]

Seeds the engine named by DOCKER_HOST with layer-less images created in 2024 (one `docker load` of
a hand-made archive: building 5,000 images would take many minutes), in 250 repositories, so a policy
"unused for more than 30 days (unknown counted from creation), keep the newest 5 tags" picks most of
them. Times the whole preview (engine reads, the disk report, the rules, the removal planner), median
of --runs, then removes what it loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

from bench import docker_image_ls, median_seconds

TARGET_SECONDS = 2.0


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def seed(api: docker.APIClient, run: str, count: int) -> list[str]:
    """`count` distinct layer-less images created in 2024, tagged bench-ret-<run>/r<k>:t<n>."""
    files: dict[str, bytes] = {}
    manifest = []
    tags = []
    for n in range(count):
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": f"2024-01-{1 + n % 28:02d}T00:00:{n % 60:02d}Z",
                "config": {"Labels": {"berth.bench": run, "n": str(n)}},
                "rootfs": {"type": "layers", "diff_ids": []},
            }
        ).encode()
        name = hashlib.sha256(config).hexdigest() + ".json"
        files[name] = config
        tag = f"bench-ret-{run}/r{n % 250}:t{n}"
        tags.append(tag)
        manifest.append({"Config": name, "RepoTags": [tag], "Layers": []})
    files["manifest.json"] = json.dumps(manifest).encode()
    for _ in api.load_image(_tar(files)):
        pass
    return tags


def cleanup(api: docker.APIClient, tags: list[str]) -> None:
    def remove(tag: str) -> None:
        try:
            api.remove_image(tag, force=True)
        except docker.errors.APIError:
            pass

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(remove, tags))


def _engine_reads(environment) -> None:
    from images_app import engine

    with ThreadPoolExecutor(max_workers=3) as pool:
        reads = [
            pool.submit(engine.list_images, environment, include_intermediate=True),
            pool.submit(engine.list_containers, environment),
            pool.submit(engine.disk_usage_report, environment),
        ]
        for read in reads:
            read.result()


def _configure(workdir: str, docker_host: str) -> None:
    os.environ["BERTH_DATA_DIR"] = workdir
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
    os.environ["BERTH_ENVIRONMENTS"] = f"local={docker_host}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("BERTH_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not 10 <= args.images <= 20000 or not 1 <= args.runs <= 20:
        parser.error("images 10..20000, runs 1..20")
    docker_host = os.environ.get("DOCKER_HOST")
    if not docker_host:
        parser.error('DOCKER_HOST is not set: eval "$(scripts/services.sh env)" first')
    api = docker.APIClient(base_url=docker_host, version="auto", timeout=600)
    run = uuid.uuid4().hex[:8]
    workdir = tempfile.mkdtemp(prefix="berth-bench-retention-")
    tags: list[str] = []
    try:
        started = time.monotonic()
        tags = seed(api, run, args.images)
        print(f"loaded {len(tags)} images in {time.monotonic() - started:.1f} s")
        _configure(workdir, docker_host)
        from django.contrib.auth import get_user_model

        from images_app.environments import environment_get, sync_environments
        from images_app.models import RetentionPolicy
        from images_app.retention_rules import evaluate
        from images_app.services.retention import policy_preview, rules_of

        sync_environments()
        environment = environment_get("local")
        owner = get_user_model().objects.create_user(username="bench", password=uuid.uuid4().hex)
        policy = RetentionPolicy.objects.create(
            name="bench", environment=environment, unused_days=30, unknown_as_unused=True, keep_newest=5,
            exclude_references="*/r0:*", action=RetentionPolicy.Action.ASK, owner=owner,
        )  # fmt: skip
        samples = []
        preview = None
        for _ in range(args.runs):
            start = time.perf_counter()
            preview = policy_preview(policy, environment)
            samples.append(time.perf_counter() - start)
        assert preview is not None
        counts = preview.counts
        seconds = statistics.median(samples)
        print(f"preview over {len(preview.rows)} images: {counts.get('remove', 0)} removed, "
              f"{counts.get('keep', 0)} kept, plan of {len(preview.plan.items)} items")  # fmt: skip
        print(f"policy preview median:  {seconds * 1000:8.1f} ms  (median of {args.runs}; target < "
              f"{TARGET_SECONDS * 1000:.0f} ms)")  # fmt: skip
        # Side by side, the same engine in the same minute: what no preview can beat (its three reads, at once)
        # and the CLI's plain list. On a slow day all three grow together; the ratios say what Berth adds.
        reads = median_seconds(lambda: _engine_reads(environment), args.runs)
        cli = median_seconds(lambda: docker_image_ls(docker_host, shutil.which("docker") or "docker"), args.runs)
        print(f"engine reads alone:     {reads * 1000:8.1f} ms  (images, containers, /system/df at once)")
        print(f"docker image ls:        {cli * 1000:8.1f} ms")
        print(f"preview / engine reads: {seconds / reads:8.2f}   preview / docker image ls: {seconds / cli:.2f}")
        facts_start = time.perf_counter()
        # The rules alone, on the same facts (what the preview adds to its engine reads and the planner).
        from images_app.retention_rules import ImageFacts

        facts = [
            ImageFacts(row.image_id, row.tags, row.created, {}, row.unique_size, unused_since=row.created)
            for row in preview.rows
        ]
        evaluate(facts, rules_of(policy), now=preview.made_at)
        print(f"rules alone:            {(time.perf_counter() - facts_start) * 1000:8.1f} ms")
        ok = seconds < TARGET_SECONDS
        print(f"[{'PASS' if ok else 'FAIL'}] preview < {TARGET_SECONDS:.0f} s")
        return 0 if ok else 1
    finally:
        cleanup(api, tags)
        shutil.rmtree(workdir, ignore_errors=True)  # its database


if __name__ == "__main__":
    sys.exit(main())
