"""Images with a creation date in the past, without a registry: `docker load` of a hand-made archive.

`docker build` stamps "now"; retention rules about age ("unused for 30 days") need images that
are old. The archive is the `docker save` format: manifest.json, the image config, one layer tar.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from datetime import datetime
from typing import Any


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def load_old_image(
    api: Any, tag: str, created: datetime, *, size: int = 1024, labels: dict[str, str] | None = None
) -> str:
    """Load an image created at `created` (one layer of `size` random bytes) tagged `tag`; its ID."""
    layer = _tar({"data.bin": os.urandom(size)})
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": stamp,
            "config": {"Labels": labels or {}, "Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": stamp, "created_by": "berth test: an old image"}],
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": ["layer/layer.tar"]}]).encode()
    archive = _tar({"manifest.json": manifest, config_name: config, "layer/layer.tar": layer})
    for _ in api.load_image(archive):
        pass
    return api.inspect_image(tag)["Id"]
