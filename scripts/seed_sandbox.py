"""Fill a fresh sandbox engine and its loopback registry with demo images.

    python scripts/seed_sandbox.py --docker-host unix:///.../docker.sock --registry localhost:5099

Used only by `make run` when no real Docker Engine answers. Nothing comes from the
internet: every image is built FROM scratch with Debian's static busybox and a few
layers of random bytes, so the pages have real sizes, tags and history to show.
This is a setup script, not part of the app, so it talks to the SDK directly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import docker

# Run as a script from the repository root: make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tooling.scratch_images import build_scratch_image, push_image

LABEL = "org.berth.demo"


def build(api: docker.APIClient, tag: str | None, *, layers: list[int], description: str) -> str:
    """Build one demo image; `layers` are sizes in bytes of random-data layers. Returns its ID."""
    labels = {LABEL: "1", "org.opencontainers.image.description": description}
    return build_scratch_image(api, tag, layers=layers, labels=labels, cmd=["/bin/busybox", "sh"])


push = push_image


def seed(api: docker.APIClient, registry: str) -> list[str]:
    """Build, push and leave behind what the demo shows. Returns lines to print."""
    mb = 1024 * 1024
    done: list[str] = []

    # In the registry only: pulling these shows real per-layer progress.
    for name, tag, layers, text in [
        ("demo/alpine-ish", "3.20", [2 * mb], "A small base image"),
        ("demo/webapp", "1.4.2", [3 * mb, 4 * mb, 2 * mb], "A web application in three layers"),
        ("demo/database", "16", [8 * mb, 8 * mb], "A bigger image to watch a pull"),
    ]:
        image_id = build(api, None, layers=layers, description=text)
        remote = f"{registry}/{name}"
        api.tag(image_id, remote, tag)
        push(api, remote, tag)
        api.remove_image(image_id, force=True)
        done.append(f"registry: {remote}:{tag}")

    # Local images for the list, dashboard and removal pages.
    tools = build(api, "demo/tools:2.3", layers=[1 * mb], description="Local tools image")
    api.tag(tools, "demo/tools", "latest")  # one image, two tags
    api.tag(tools, f"{registry}/demo/tools", "2.3")
    push(api, f"{registry}/demo/tools", "2.3")
    build(api, "demo/report:1.0", layers=[512 * 1024], description="The old build")
    # Rebuilding the same tag leaves the previous image dangling (<none>:<none>).
    build(api, "demo/report:1.0", layers=[512 * 1024], description="The new build")
    base = build(api, "demo/worker:0.9", layers=[2 * mb], description="Used by a stopped container")
    container = api.create_container(
        base,
        command=["/bin/busybox", "true"],
        name="demo-worker-stopped",
        labels={LABEL: "1"},
        host_config=api.create_host_config(network_mode="none"),
    )
    # Run it once so it is a real exited container, not just "created".
    api.start(container["Id"])
    api.wait(container["Id"], timeout=30)
    done.append("local: demo/tools:2.3 + demo/tools:latest (one image, two tags), demo/report:1.0")
    done.append("local: a dangling image, demo/worker:0.9 used by stopped container demo-worker-stopped")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker-host", required=True)
    parser.add_argument("--registry", required=True, help="loopback registry, e.g. localhost:5099")
    args = parser.parse_args()
    api = docker.APIClient(base_url=args.docker_host, version="auto", timeout=120)
    if api.images(filters={"label": LABEL}):
        print("[sandbox] demo images already there")
        return 0
    for line in seed(api, args.registry):
        print(f"[sandbox] {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
