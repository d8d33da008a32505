"""Images: list, inspect, history, removal and disk usage."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import docker

from images_app.engine.client import client_for, explanation, translate_errors
from images_app.engine.types import DiskReport, DiskUsage, Endpoint, HistoryEntry, ImageDetail, ImageInfo, RemovalReport
from images_app.errors import ConflictingContainer, RemovalConflict

# Older engines (API < 1.43) list untagged images with these placeholders.
_NONE_TAG = "<none>:<none>"
_NONE_DIGEST = "<none>@<none>"


def list_images(
    endpoint: Endpoint, *, filters: dict[str, list[str]] | None = None, include_intermediate: bool = False
) -> list[ImageInfo]:
    """Top-level images like `docker image ls` (one API call).

    `filters` are the engine's own (`reference`, `before`, `since`, `label`, `dangling`).
    `include_intermediate` is `docker image ls -a`: removal planning needs whole parent
    chains, since the engine refuses to delete an image others are built on.
    """
    client = client_for(endpoint)
    with translate_errors(endpoint):
        raw = client.images(all=include_intermediate, filters=filters or None)
    return [_image_from_api(item) for item in raw]


def _image_from_api(item: dict[str, Any]) -> ImageInfo:
    return ImageInfo(
        id=item["Id"],
        repo_tags=tuple(t for t in (item.get("RepoTags") or ()) if t != _NONE_TAG),
        repo_digests=tuple(d for d in (item.get("RepoDigests") or ()) if d != _NONE_DIGEST),
        created=datetime.fromtimestamp(item.get("Created", 0), tz=UTC),
        size=int(item.get("Size") or 0),
        labels=dict(item.get("Labels") or {}),
        parent_id=item.get("ParentId") or "",
    )


def inspect_image(endpoint: Endpoint, reference: str) -> ImageDetail:
    """`docker image inspect` by ID or reference; ImageNotFound when absent."""
    client = client_for(endpoint)
    with translate_errors(endpoint, target=reference):
        raw = client.inspect_image(reference)
    config = raw.get("Config") or {}
    return ImageDetail(
        id=raw["Id"],
        repo_tags=tuple(raw.get("RepoTags") or ()),
        repo_digests=tuple(raw.get("RepoDigests") or ()),
        created=_parse_time(raw.get("Created")),
        size=int(raw.get("Size") or 0),
        architecture=raw.get("Architecture") or "",
        os=raw.get("Os") or "",
        variant=raw.get("Variant") or "",
        author=raw.get("Author") or "",
        labels=dict(config.get("Labels") or {}),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        cmd=tuple(config.get("Cmd") or ()),
        env=tuple(config.get("Env") or ()),
        exposed_ports=tuple(sorted((config.get("ExposedPorts") or {}).keys())),
        working_dir=config.get("WorkingDir") or "",
        user=config.get("User") or "",
        layers=tuple((raw.get("RootFS") or {}).get("Layers") or ()),
        parent_id=raw.get("Parent") or "",
    )


def image_history(endpoint: Endpoint, reference: str) -> list[HistoryEntry]:
    """`docker history`: newest layer first."""
    client = client_for(endpoint)
    with translate_errors(endpoint, target=reference):
        raw = client.history(reference)
    return [
        HistoryEntry(
            id=item.get("Id") or "<missing>",
            created=datetime.fromtimestamp(item["Created"], tz=UTC) if item.get("Created") else None,
            created_by=item.get("CreatedBy") or "",
            size=int(item.get("Size") or 0),
            tags=tuple(item.get("Tags") or ()),
            comment=item.get("Comment") or "",
        )
        for item in raw
    ]


def remove_image(endpoint: Endpoint, reference: str, *, force: bool = False) -> RemovalReport:
    """`docker rmi [-f] reference`; RemovalConflict on the engine's 409."""
    client = client_for(endpoint)
    with translate_errors(endpoint, target=reference):
        try:
            raw = client.remove_image(reference, force=force)
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                raise conflict_from_message(explanation(exc)) from exc
            raise
    report = RemovalReport()
    for item in raw or ():
        if "Untagged" in item:
            report.untagged.append(item["Untagged"])
        if "Deleted" in item:
            report.deleted.append(item["Deleted"])
    return report


_CONTAINER_ID = re.compile(r"container ([0-9a-f]{12,64})")


def conflict_from_message(message: str) -> RemovalConflict:
    """Read the engine's 409 text (stable since Engine 1.x) into a structured conflict.

    The engine names containers by short ID only; callers add names from list_containers.
    """
    ids = _CONTAINER_ID.findall(message)
    if "cannot be forced" in message and "running container" in message:
        return RemovalConflict(
            "A running container uses this image. Stop (and remove) the container first; "
            "even a forced removal cannot delete an image a running container uses.",
            reason=RemovalConflict.REASON_RUNNING_CONTAINER,
            forcible=False,
            containers=[ConflictingContainer(id=i, name="", state="running") for i in ids],
            engine_message=message,
        )
    if "dependent child images" in message:
        return RemovalConflict(
            "Other images are built on this one. Remove them first; force cannot override this.",
            reason=RemovalConflict.REASON_DEPENDENT_CHILDREN,
            forcible=False,
            engine_message=message,
        )
    if "referenced in multiple repositories" in message:
        return RemovalConflict(
            "This image has tags in several repositories. Removing it by ID removes all of them: that needs force.",
            reason=RemovalConflict.REASON_MULTIPLE_REPOSITORIES,
            forcible=True,
            engine_message=message,
        )
    if "must force" in message or "must be forced" in message:
        # "unable to remove repository reference ... (must force) - container C is using its
        # referenced image" does not say whether C runs: the state stays unknown here.
        state = "stopped" if "stopped container" in message else ""
        return RemovalConflict(
            "A container still refers to this image. Forcing the removal of a stopped container's image keeps "
            "the container but it loses its image reference.",
            reason=RemovalConflict.REASON_STOPPED_CONTAINER,
            forcible=True,
            containers=[ConflictingContainer(id=i, name="", state=state) for i in ids],
            engine_message=message,
        )
    return RemovalConflict(message, reason=RemovalConflict.REASON_OTHER, forcible=False, engine_message=message)


def disk_usage(endpoint: Endpoint) -> dict[str, DiskUsage]:
    """Unique and shared bytes per image, from `GET /system/df`.

    Slow on big hosts (it walks every image): never on the list page's path.
    """
    return disk_usage_report(endpoint).images


def disk_usage_report(endpoint: Endpoint) -> DiskReport:
    """`GET /system/df` for images: per image, and the exact bytes all images take on disk (LayersSize)."""
    client = client_for(endpoint)
    with translate_errors(endpoint):
        raw = client.df()
    usage = {}
    for item in raw.get("Images") or ():
        size = int(item.get("Size") or 0)
        shared = max(int(item.get("SharedSize") or 0), 0)
        usage[item["Id"]] = DiskUsage(
            image_id=item["Id"],
            size=size,
            shared_size=shared,
            unique_size=size - shared,
            containers=int(item.get("Containers") or 0),
        )
    return DiskReport(images=usage, layers_size=int(raw.get("LayersSize") or 0))


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    # The engine sends RFC 3339 with nanoseconds; Python takes microseconds.
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", value)
    if not match:
        return None
    base, fraction, zone = match.groups()
    fraction = (fraction or ".0")[:7]
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(f"{base}{fraction}{zone}")
