"""An update check of 500 tags against plain HEAD requests for the same 500 manifests, on the loopback registry.

    eval "$(scripts/services.sh env)"; python -m bench.updates [--tags 500] [--runs 5]

Puts one small image into the test registry (BERTH_TEST_REGISTRY) under `--tags` tags through
the v2 API, pulls it once and tags it locally as every one of them (so each local tag has a
digest recorded and must be asked about), then compares the median of `--runs` forced update
checks (Berth's whole run: the engine's image list, the HEADs, storing the answers, the audit
event) with the median time of the same number of plain HEAD requests made directly, with the
same concurrency and keep-alive connections. Target: ratio <= 2 (the overhead is Berth's).
Everything seeded locally is removed at the end; the registry belongs to the run's services.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker
import requests

from bench import setup_django
from tooling.registry_api import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, RegistryWriter

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        DOCKER_MANIFEST_LIST,
        DOCKER_MANIFEST,
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


def seed(api: docker.APIClient, registry: str, name: str, tags: int) -> str:
    """The registry serves one image under `tags` tags; the engine has it under all of them. Returns its ID."""
    writer = RegistryWriter(registry)
    arch = api.version().get("Arch", "amd64")
    digest, _size = writer.image(name, architecture=arch, content=uuid.uuid4().bytes)
    body = requests.get(
        f"http://{registry}/v2/{name}/manifests/{digest}", headers={"Accept": DOCKER_MANIFEST}, timeout=30
    ).content
    writers = [RegistryWriter(registry) for _ in range(4)]  # a session per thread
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: writers[i % 4].manifest(name, f"t{i}", body, DOCKER_MANIFEST), range(tags)))
    repository = f"{registry}/{name}"
    api.pull(repository, tag="t0")
    image_id = api.inspect_image(f"{repository}:t0")["Id"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: api.tag(image_id, repository, f"t{i}"), range(1, tags)))
    return image_id


def plain_heads(registry: str, name: str, tags: int, concurrency: int) -> float:
    """Seconds for `tags` HEADs on the manifests, `concurrency` at a time, one keep-alive session per thread."""
    sessions = [requests.Session() for _ in range(concurrency)]

    def worker(index: int) -> None:
        session = sessions[index]
        for i in range(index, tags, concurrency):
            response = session.head(
                f"http://{registry}/v2/{name}/manifests/t{i}", headers={"Accept": ACCEPT}, timeout=10
            )
            if response.status_code != 200 or not response.headers.get("Docker-Content-Digest"):
                raise RuntimeError(f"HEAD t{i} answered {response.status_code}")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    elapsed = time.perf_counter() - start
    for session in sessions:
        session.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if not 10 <= args.tags <= 5000 or not 1 <= args.runs <= 50:
        parser.error("tags 10..5000, runs 1..50")
    docker_host = os.environ.get("DOCKER_HOST")
    registry = os.environ.get("BERTH_TEST_REGISTRY")
    if not docker_host or not registry:
        parser.error('DOCKER_HOST and BERTH_TEST_REGISTRY must be set: eval "$(scripts/services.sh env)" first')

    api = docker.APIClient(base_url=docker_host, version="auto", timeout=120)
    name = f"bench-updates-{uuid.uuid4().hex[:8]}"
    workdir = tempfile.mkdtemp(prefix="berth-bench-updates-")
    image_id = ""
    try:
        started = time.monotonic()
        image_id = seed(api, registry, name, args.tags)
        print(f"seeded {args.tags} tags in the registry and the engine in {time.monotonic() - started:.1f}s")
        setup_django(workdir, docker_host)
        from django.conf import settings

        from images_app.environments import environment_get, sync_environments
        from images_app.services.updates import updates_check_run

        sync_environments()
        environment = environment_get("local")
        concurrency = settings.BERTH_UPDATE_CHECK_CONCURRENCY

        def berth() -> float:
            start = time.perf_counter()
            summary = updates_check_run(environments=[environment], force=True)
            elapsed = time.perf_counter() - start
            if summary.asked < args.tags or summary.unknown:
                raise RuntimeError(f"asked {summary.asked}, unknown {dict(summary.unknown)}")
            return elapsed

        berth()  # warm-up: connections, the first INSERTs
        plain_heads(registry, name, args.tags, concurrency)
        checks, heads = [], []
        for _ in range(args.runs):  # interleaved: a busy moment of the machine hits both alike
            checks.append(berth())
            heads.append(plain_heads(registry, name, args.tags, concurrency))
        check, head = statistics.median(checks), statistics.median(heads)
        sequential = plain_heads(registry, name, args.tags, 1)
        ratio = check / head
        print(f"update check of {args.tags} tags (Berth, {concurrency} at a time): median {check * 1000:.0f} ms")
        print(f"{args.tags} plain HEADs, {concurrency} at a time: median {head * 1000:.0f} ms")
        print(f"{args.tags} plain HEADs, one at a time (for scale): {sequential * 1000:.0f} ms")
        print(f"ratio update check / plain HEADs: {ratio:.2f} (target <= 2.0) {'OK' if ratio <= 2.0 else 'MISSED'}")
        return 0 if ratio <= 2.0 else 1
    finally:
        if image_id:
            try:
                api.remove_image(image_id, force=True)
            except docker.errors.APIError:
                pass


if __name__ == "__main__":
    raise SystemExit(main())
