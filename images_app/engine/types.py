"""Plain data the gateway hands out: no SDK objects escape the engine package."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from images_app import references


class Endpoint(Protocol):
    """Anything naming a Docker endpoint (the Environment model satisfies it)."""

    name: str
    docker_host: str


@dataclass(frozen=True)
class ImageInfo:
    """One image as `GET /images/json` describes it."""

    id: str  # "sha256:<64 hex>"
    repo_tags: tuple[str, ...]  # empty when dangling, whatever the API version says
    repo_digests: tuple[str, ...]
    created: datetime
    size: int
    labels: dict[str, str]
    parent_id: str

    @property
    def short_id(self) -> str:
        return references.short_id(self.id)

    @property
    def dangling(self) -> bool:
        return not self.repo_tags


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image: str  # what the container was created from, as written (tag or ID)
    image_id: str
    state: str  # running, exited, created, paused, restarting, dead
    status: str  # the engine's human text ("Exited (0) 3 minutes ago")
    created: datetime

    @property
    def short_id(self) -> str:
        return references.short_id(self.id)

    @property
    def running(self) -> bool:
        # A paused or restarting container still holds its image like a running one.
        return self.state in ("running", "paused", "restarting")


@dataclass(frozen=True)
class HistoryEntry:
    id: str  # "<missing>" for layers built elsewhere, as `docker history` shows
    created: datetime | None
    created_by: str
    size: int
    tags: tuple[str, ...]
    comment: str

    @property
    def empty(self) -> bool:
        return self.size == 0


@dataclass(frozen=True)
class ImageDetail:
    """`docker image inspect`, the fields a person reads."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    created: datetime | None
    size: int
    architecture: str
    os: str
    variant: str
    author: str
    labels: dict[str, str]
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: tuple[str, ...]
    exposed_ports: tuple[str, ...]
    working_dir: str
    user: str
    layers: tuple[str, ...]  # RootFS diff IDs, bottom first
    parent_id: str

    @property
    def short_id(self) -> str:
        return references.short_id(self.id)


@dataclass
class RemovalReport:
    """What the engine said it did: `Untagged: X` and `Deleted: sha256:...` lines."""

    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def image_deleted(self) -> bool:
        return bool(self.deleted)


@dataclass(frozen=True)
class DiskUsage:
    """Per image: unique bytes (freed if it alone goes) and bytes shared with others."""

    image_id: str
    size: int
    shared_size: int
    unique_size: int
    containers: int


@dataclass(frozen=True)
class DiskReport:
    """The images part of `docker system df -v`: per image, and the exact total on disk."""

    images: dict[str, DiskUsage]
    layers_size: int  # bytes all image layers take, each layer once


@dataclass(frozen=True)
class SearchHit:
    name: str
    description: str
    star_count: int
    is_official: bool
    is_automated: bool


@dataclass(frozen=True)
class EngineEvent:
    """One entry of `GET /events` (container and image events only)."""

    type: str  # "container" or "image"
    action: str  # create, start, die, destroy; pull, tag, untag, delete, ...
    actor_id: str  # the container ID, or the image ID (a reference for `pull`)
    attributes: dict[str, str]  # containers: image (as written), name; images: name
    time_nano: int  # engine time, nanoseconds since the epoch
