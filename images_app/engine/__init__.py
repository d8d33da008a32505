"""The one gateway to the Docker Engine.

Every call to the `docker` SDK lives in this package. It hands back plain Berth
dataclasses and raises only Berth's errors (images_app.errors); nothing outside
this package imports `docker`.
"""

from images_app.engine.client import api_request_count, endpoint_ping, forget_clients
from images_app.engine.containers import containers_for_image, list_containers
from images_app.engine.events import EngineEvent, EventStream
from images_app.engine.images import (
    disk_usage,
    image_history,
    inspect_image,
    list_images,
    remove_image,
)
from images_app.engine.pulls import pull_events
from images_app.engine.search import search_index
from images_app.engine.types import (
    ContainerInfo,
    DiskUsage,
    Endpoint,
    HistoryEntry,
    ImageDetail,
    ImageInfo,
    RemovalReport,
    SearchHit,
)

__all__ = [
    "EngineEvent",
    "EventStream",
    "ContainerInfo",
    "DiskUsage",
    "Endpoint",
    "HistoryEntry",
    "ImageDetail",
    "ImageInfo",
    "RemovalReport",
    "SearchHit",
    "api_request_count",
    "containers_for_image",
    "disk_usage",
    "endpoint_ping",
    "forget_clients",
    "image_history",
    "inspect_image",
    "list_containers",
    "list_images",
    "pull_events",
    "remove_image",
    "search_index",
]
