"""Image and container lists to compact bytes and back (pure; the inventory stores these).

Compact JSON (short keys, no whitespace) compressed with zlib: 10,000 images take a
few hundred KB in the database and parse in tens of milliseconds, once per change
per web process.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

from images_app.engine import ContainerInfo, ImageInfo


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def encode_images(images: list[ImageInfo]) -> bytes:
    rows = [
        [i.id, list(i.repo_tags), list(i.repo_digests), _ts(i.created), i.size, i.labels, i.parent_id] for i in images
    ]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 1)


def decode_images(data: bytes) -> list[ImageInfo]:
    if not data:
        return []
    return [
        ImageInfo(
            id=row[0],
            repo_tags=tuple(row[1]),
            repo_digests=tuple(row[2]),
            created=_dt(row[3]),
            size=row[4],
            labels=row[5],
            parent_id=row[6],
        )
        for row in json.loads(zlib.decompress(data))
    ]


def encode_containers(containers: list[ContainerInfo]) -> bytes:
    rows = [[c.id, c.name, c.image, c.image_id, c.state, c.status, _ts(c.created)] for c in containers]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 1)


def decode_containers(data: bytes) -> list[ContainerInfo]:
    if not data:
        return []
    return [
        ContainerInfo(id=r[0], name=r[1], image=r[2], image_id=r[3], state=r[4], status=r[5], created=_dt(r[6]))
        for r in json.loads(zlib.decompress(data))
    ]
