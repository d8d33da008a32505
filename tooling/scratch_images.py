"""Real images without internet: built FROM scratch, with busybox-static and random-data layers.

The tests, the benchmarks and the sandbox demo all need distinct images of chosen
sizes on an engine that cannot reach Docker Hub; this is the one recipe for them.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static: runs in an empty image


def build_context(files: dict[str, bytes]) -> io.BytesIO:
    """A build context as the engine takes it: a tar of the given files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def build_scratch_image(
    api: Any,
    tag: str | None = None,
    *,
    layers: list[int] | None = None,
    busybox: bool = True,
    labels: dict[str, str] | None = None,
    cmd: list[str] | None = None,
    extra_dockerfile: str = "",
) -> str:
    """Build an image with the SDK's low-level client and return its ID.

    `layers` are sizes in bytes: each becomes its own layer of random bytes, so
    every build is distinct and sizes are exact. Builds run without a network.
    """
    files: dict[str, bytes] = {}
    lines = ["FROM scratch"]
    if busybox and BUSYBOX.exists():
        files["busybox"] = BUSYBOX.read_bytes()
        lines.append("COPY busybox /bin/busybox")
    for index, size in enumerate(layers or []):
        files[f"layer{index}.bin"] = os.urandom(size)
        lines.append(f"COPY layer{index}.bin /data/layer{index}")
    if labels:
        lines.append("LABEL " + " ".join(f'"{key}"="{value}"' for key, value in labels.items()))
    if cmd is None and "busybox" in files:
        cmd = ["/bin/busybox", "sleep", "3600"]
    if cmd:
        lines.append("CMD [" + ", ".join(f'"{part}"' for part in cmd) + "]")
    if extra_dockerfile:
        lines.append(extra_dockerfile)
    files["Dockerfile"] = ("\n".join(lines) + "\n").encode()
    image_id = None
    for chunk in api.build(
        fileobj=build_context(files), custom_context=True, tag=tag, rm=True, decode=True, network_mode="none"
    ):
        if "error" in chunk:
            raise RuntimeError(chunk["error"])
        image_id = (chunk.get("aux") or {}).get("ID", image_id)
    return image_id or api.inspect_image(tag)["Id"]


def push_image(api: Any, repository: str, tag: str, auth_config: dict[str, str] | None = None) -> None:
    """Push and fail loudly: the engine reports push errors inside a 200 stream."""
    for chunk in api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth_config):
        if "error" in chunk:
            raise RuntimeError(chunk["error"])
