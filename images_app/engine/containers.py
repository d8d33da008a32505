"""Containers, as far as images care about them: who uses which image."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from images_app import references
from images_app.engine.client import client_for, translate_errors
from images_app.engine.types import ContainerInfo, Endpoint


def list_containers(endpoint: Endpoint) -> list[ContainerInfo]:
    """All containers, running or not (one API call)."""
    client = client_for(endpoint)
    with translate_errors(endpoint):
        raw = client.containers(all=True)
    return [_container_from_api(item) for item in raw]


def _container_from_api(item: dict[str, Any]) -> ContainerInfo:
    names = item.get("Names") or []
    return ContainerInfo(
        id=item["Id"],
        name=(names[0].lstrip("/") if names else references.short_id(item["Id"])),
        image=item.get("Image", ""),
        image_id=item.get("ImageID", ""),
        state=item.get("State", ""),
        status=item.get("Status", ""),
        created=datetime.fromtimestamp(item.get("Created", 0), tz=UTC),
    )


def containers_for_image(endpoint: Endpoint, image_id: str) -> list[ContainerInfo]:
    """Containers created from exactly this image, running or not (one API call).

    The engine's `ancestor` filter also matches containers of images built on top
    of this one; those do not hold this image's ID, so they are dropped here.
    """
    client = client_for(endpoint)
    with translate_errors(endpoint, target=image_id):
        raw = client.containers(all=True, filters={"ancestor": image_id})
    return [c for c in (_container_from_api(item) for item in raw) if c.image_id == image_id]


def container_image_id(endpoint: Endpoint, container_id: str) -> str:
    """The image ID a container was created from ("" when the container is gone): one list call.

    Events name the image as written at `docker create` (often a tag, which may since have moved).
    The container list filtered by ID, not an inspect: the list carries no environment variables
    (secrets), so the read-only socket proxy the watcher shares with the web role never has to allow
    `GET /containers/{id}/json`.
    """
    client = client_for(endpoint)
    with translate_errors(endpoint, target=container_id):
        raw = client.containers(all=True, filters={"id": container_id})
    return next((str(c.get("ImageID") or "") for c in raw if str(c.get("Id", "")).startswith(container_id)), "")
