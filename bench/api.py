"""The images endpoint of the API against the images page, at 1,000 rows and 200 containers.

    eval "$(scripts/services.sh env)"; python -m bench.api [--rows 1000] [--containers 200] [--runs 20]

Seeds the engine as bench.inventory does, then measures the median of `--runs` requests of the
default images page (logged in) and of GET /api/v1/environments/local/images/ (with a token),
in one process through Django's test client, and counts the engine calls of each. Target: the
endpoint within 1.2x of the page, and the same constant number of engine calls.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid

import docker

from bench import median_seconds
from bench.inventory import _django_client, cleanup, seed

TARGET_RATIO = 1.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    if not 20 <= args.rows <= 20000 or not 0 <= args.containers <= 2000 or not 1 <= args.runs <= 200:
        parser.error("rows 20..20000, containers 0..2000, runs 1..200")
    docker_host = os.environ.get("DOCKER_HOST")
    if not docker_host:
        parser.error('DOCKER_HOST is not set: eval "$(scripts/services.sh env)" first')
    # The measurement is of one token's requests; the throttle's Redis round trip stays in it.
    os.environ.setdefault("BERTH_API_RATE_LIMIT", str(100 * (args.runs + 10)))

    api = docker.APIClient(base_url=docker_host, version="auto", timeout=120)
    run = uuid.uuid4().hex[:8]
    workdir = tempfile.mkdtemp(prefix="berth-bench-api-")
    image_ids: list[str] = []
    try:
        image_ids = seed(api, run, args.rows, args.containers)
        total_rows = sum(max(1, len(i.get("RepoTags") or [])) for i in api.images())
        print(f"seeded {args.rows} rows ({len(image_ids)} images) and {args.containers} containers")
        print(f"engine now lists {total_rows} rows")

        client = _django_client(workdir, docker_host)
        from django.contrib.auth import get_user_model
        from django.test import Client

        from images_app import engine
        from images_app.services.tokens import token_create

        _, raw = token_create(user=get_user_model().objects.get(username="bench"), name="bench")
        token_client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")

        def page() -> None:
            response = client.get("/env/local/images/")
            if response.status_code != 200:
                raise RuntimeError(f"list page answered {response.status_code}")

        def endpoint() -> None:
            response = token_client.get("/api/v1/environments/local/images/")
            if response.status_code != 200:
                raise RuntimeError(f"images endpoint answered {response.status_code}: {response.content[:200]!r}")

        counts = {}
        for name, action in (("page", page), ("endpoint", endpoint)):
            action()
            before = engine.api_request_count()
            action()
            counts[name] = engine.api_request_count() - before
        # Interleaved rounds: a machine shared with other work slows both alike.
        web_samples, api_samples = [], []
        for _ in range(3):
            web_samples.append(median_seconds(page, max(1, args.runs // 3)))
            api_samples.append(median_seconds(endpoint, max(1, args.runs // 3)))
        web, api_time = min(web_samples), min(api_samples)
        ratio = api_time / web
        print(f"engine calls per request: page {counts['page']}, endpoint {counts['endpoint']}")
        print(f"images page median:     {web * 1000:8.1f} ms  (best of 3 medians of {max(1, args.runs // 3)})")
        print(f"images endpoint median: {api_time * 1000:8.1f} ms  (JSON, {min(50, total_rows)} rows a page)")
        print(f"ratio endpoint / page:  {ratio:8.2f}    (target <= {TARGET_RATIO})")
        same_cost = counts["endpoint"] == counts["page"] == 2
        return 0 if ratio <= TARGET_RATIO and same_cost else 1
    finally:
        cleanup(api, run, image_ids)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
