"""Writing images straight into a registry through its v2 API: blobs, manifests, manifest lists.

The tests need a multi-architecture index without emulation (two platform manifests and a
list naming them), and the update benchmark needs hundreds of tags quickly; neither needs
the engine to push. Plain HTTP on loopback only.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass

import requests

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class RegistryWriter:
    """One registry ("localhost:5000"), optionally with Basic credentials."""

    host: str
    username: str = ""
    password: str = ""

    def __post_init__(self) -> None:
        self.http = requests.Session()
        if self.username:
            self.http.auth = (self.username, self.password)

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def blob(self, name: str, data: bytes) -> str:
        """Upload a blob (monolithic) unless the registry has it; returns its digest."""
        digest = digest_of(data)
        if self.http.head(f"{self.base}/v2/{name}/blobs/{digest}", timeout=30).status_code == 200:
            return digest
        started = self.http.post(f"{self.base}/v2/{name}/blobs/uploads/", timeout=30)
        started.raise_for_status()
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.base + location
        separator = "&" if "?" in location else "?"
        done = self.http.put(
            f"{location}{separator}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        done.raise_for_status()
        return digest

    def manifest(self, name: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest under a tag or digest; returns its digest."""
        response = self.http.put(
            f"{self.base}/v2/{name}/manifests/{reference}", data=body, headers={"Content-Type": media_type}, timeout=30
        )
        response.raise_for_status()
        return response.headers.get("Docker-Content-Digest") or digest_of(body)

    def image(
        self, name: str, *, architecture: str, content: bytes, created: str = "2026-01-01T00:00:00Z"
    ) -> tuple[str, int]:
        """A one-layer image for `architecture` (a real gzip'd tar, so an engine can pull it).

        Returns (manifest digest, manifest size); the manifest is stored by digest only.
        """
        layer_tar = io.BytesIO()
        with tarfile.open(fileobj=layer_tar, mode="w") as tar:
            info = tarfile.TarInfo("data/content")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        raw = layer_tar.getvalue()
        layer = gzip.compress(raw, mtime=0)
        config = json.dumps(
            {
                "architecture": architecture,
                "os": "linux",
                "created": created,
                "config": {"Cmd": ["/data/content"]},
                "rootfs": {"type": "layers", "diff_ids": [digest_of(raw)]},
            }
        ).encode()
        config_digest = self.blob(name, config)
        layer_digest = self.blob(name, layer)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": DOCKER_CONFIG, "size": len(config), "digest": config_digest},
                "layers": [{"mediaType": DOCKER_LAYER, "size": len(layer), "digest": layer_digest}],
            }
        ).encode()
        return self.manifest(name, digest_of(manifest), manifest, DOCKER_MANIFEST), len(manifest)

    def index(self, name: str, tag: str, platforms: dict[str, tuple[str, int]]) -> str:
        """A manifest list under `tag` naming one manifest per architecture; returns the list's digest."""
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST_LIST,
                "manifests": [
                    {
                        "mediaType": DOCKER_MANIFEST,
                        "size": size,
                        "digest": digest,
                        "platform": {"architecture": architecture, "os": "linux"},
                    }
                    for architecture, (digest, size) in platforms.items()
                ],
            }
        ).encode()
        return self.manifest(name, tag, body, DOCKER_MANIFEST_LIST)

    def tag_manifest(self, name: str, tag: str, digest: str) -> str:
        """Put an existing manifest (by digest) under another tag."""
        response = self.http.get(
            f"{self.base}/v2/{name}/manifests/{digest}",
            headers={"Accept": f"{DOCKER_MANIFEST}, {DOCKER_MANIFEST_LIST}"},
            timeout=30,
        )
        response.raise_for_status()
        return self.manifest(name, tag, response.content, response.headers["Content-Type"].split(";")[0])
