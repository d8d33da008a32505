"""Keeping an environment's inventory current from its engine's events.

The watcher (images_app.watcher.runner) feeds an InventoryKeeper: `connected()` once
its event stream is open from the last event it applied (a full read then misses
nothing: what changed before is in the read, what changes after is replayed),
`event()` for each event, `disconnected()` when the stream broke or the lease went.
The keeper's own thread re-reads only the list an event touched
(images or containers; one engine call each), coalescing bursts, and heartbeats so
pages know it is alive. Pages fall back to the live engine the moment it is not.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import close_old_connections
from django.db.models import F
from django.utils import timezone

from images_app import engine
from images_app.engine import EngineEvent
from images_app.errors import EngineError, EngineUnavailable
from images_app.inventory_codec import encode_containers, encode_images
from images_app.models import Environment, Inventory

logger = logging.getLogger(__name__)

IMAGES, CONTAINERS = "images", "containers"

# Container actions that change nothing a list shows (no state, no image, no name).
_QUIET_CONTAINER_ACTIONS = frozenset(
    {
        "exec_create",
        "exec_start",
        "exec_die",
        "exec_detach",
        "health_status",
        "attach",
        "detach",
        "resize",
        "top",
        "archive-path",
        "extract-to-dir",
        "export",
        "copy",
    }
)
# Image actions that leave the local image list as it was.
_QUIET_IMAGE_ACTIONS = frozenset({"push", "save"})


def lists_changed_by(event: EngineEvent) -> frozenset[str]:
    """Which lists an engine event can change (pure)."""
    if event.type == "container":
        if event.action in _QUIET_CONTAINER_ACTIONS:
            return frozenset()
        if event.action == "commit":  # a new image, and the container's own state
            return frozenset({IMAGES, CONTAINERS})
        return frozenset({CONTAINERS})
    if event.type == "image" and event.action not in _QUIET_IMAGE_ACTIONS:
        # The containers too: the engine lists a container's image by the tag it was created from
        # only while that tag still names its image (by ID once it moved or went), and the image
        # page shows which (its containers come from here while the inventory is current).
        return frozenset({IMAGES, CONTAINERS})
    return frozenset()


def _keeper_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def inventory_write(
    *,
    environment: Environment,
    images: list[engine.ImageInfo] | None = None,
    containers: list[engine.ContainerInfo] | None = None,
    caught_up: bool,
    last_event_at: datetime | None = None,
) -> None:
    """Store the lists read (either or both) and mark it applied; `caught_up` clears the lag mark."""
    now = timezone.now()
    fields: dict[str, object] = {"version": F("version") + 1, "applied_at": now, "heartbeat_at": now}
    fields["keeper"] = _keeper_name()
    if images is not None:
        fields.update(images=encode_images(images), image_count=len(images))
    if containers is not None:
        fields.update(containers=encode_containers(containers), container_count=len(containers))
    if images is not None and containers is not None:
        fields["refreshed_at"] = now
    if caught_up:
        fields["pending_since"] = None
    if last_event_at is not None:
        fields["last_event_at"] = last_event_at
    Inventory.objects.get_or_create(environment=environment)
    Inventory.objects.filter(environment=environment).update(**fields)


def inventory_mark_pending(*, environment: Environment, since: datetime) -> None:
    """An event was seen and is not applied yet (kept only if nothing older is pending)."""
    Inventory.objects.filter(environment=environment, pending_since__isnull=True).update(pending_since=since)


def inventory_heartbeat(*, environment: Environment) -> None:
    Inventory.objects.filter(environment=environment).update(heartbeat_at=timezone.now(), keeper=_keeper_name())


def inventory_abandon(*, environment: Environment) -> None:
    """The keeper lost the engine: pages read it live until the next full read."""
    Inventory.objects.filter(environment=environment).update(heartbeat_at=None)


class InventoryKeeper:
    """One environment's inventory, kept by a thread of its own from the events it is given."""

    def __init__(
        self,
        environment: Environment,
        *,
        heartbeat_seconds: float | None = None,
        reconcile_seconds: float | None = None,
        coalesce_seconds: float | None = None,
    ) -> None:
        self.environment = environment
        self.heartbeat_seconds = heartbeat_seconds or settings.BERTH_INVENTORY_HEARTBEAT_SECONDS
        self.reconcile_seconds = reconcile_seconds or settings.BERTH_INVENTORY_RECONCILE_SECONDS
        self.coalesce_seconds = (
            coalesce_seconds if coalesce_seconds is not None else settings.BERTH_INVENTORY_COALESCE_MS / 1000
        )
        self._cond = threading.Condition()
        self._dirty: set[str] = set()
        self._pending_since: datetime | None = None
        self._last_event_at: datetime | None = None
        self._connected = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"inventory-{environment.name}", daemon=True)
        self.applied = 0  # how many writes, for tests and the log

    # --- called by the watcher's thread -------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=10)

    def connected(self) -> None:
        with self._cond:
            self._connected = True
            self._dirty |= {IMAGES, CONTAINERS}
            self._cond.notify()

    def disconnected(self) -> None:
        with self._cond:
            self._connected = False
            self._dirty.clear()
        inventory_abandon(environment=self.environment)

    def event(self, event: EngineEvent) -> None:
        changed = lists_changed_by(event)
        if not changed:
            return
        mark = None
        with self._cond:
            self._dirty |= changed
            self._last_event_at = datetime.fromtimestamp(event.time_nano / 1e9, tz=UTC)
            if self._pending_since is None:
                self._pending_since = mark = timezone.now()
            self._cond.notify()
        if mark is not None:
            inventory_mark_pending(environment=self.environment, since=mark)

    # --- the keeper's thread ---------------------------------------------------------------

    def _run(self) -> None:
        last_beat = last_full = time.monotonic()
        while True:
            with self._cond:
                if not self._dirty and not self._stop:
                    self._cond.wait(timeout=self.heartbeat_seconds)
                if self._stop:
                    return
                connected, has_dirty = self._connected, bool(self._dirty)
            if not connected:
                continue
            if has_dirty:
                time.sleep(self.coalesce_seconds)  # let a burst (docker run = create + start) land in one read
            now = time.monotonic()
            with self._cond:
                dirty, self._dirty = self._dirty, set()
                pending_before = self._pending_since
                self._pending_since = None
                last_event_at = self._last_event_at
            if now - last_full >= self.reconcile_seconds:
                dirty = {IMAGES, CONTAINERS}  # the safety net: a full read now and then
            try:
                if dirty:
                    self._apply(dirty, last_event_at)
                    last_beat = now
                    if dirty == {IMAGES, CONTAINERS}:
                        last_full = now
                elif now - last_beat >= self.heartbeat_seconds / 2:
                    inventory_heartbeat(environment=self.environment)
                    last_beat = now
            except (EngineUnavailable, EngineError) as error:
                logger.warning("inventory of %s: engine read failed: %s", self.environment.name, error.message)
                with self._cond:
                    self._dirty |= dirty
                    self._pending_since = self._pending_since or pending_before
                inventory_abandon(environment=self.environment)
                time.sleep(1)
            except Exception:
                logger.exception("inventory of %s: write failed", self.environment.name)
                close_old_connections()
                with self._cond:
                    self._dirty |= dirty
                    self._pending_since = self._pending_since or pending_before
                time.sleep(1)

    def _apply(self, dirty: set[str], last_event_at: datetime | None) -> None:
        images = engine.list_images(self.environment) if IMAGES in dirty else None
        containers = engine.list_containers(self.environment) if CONTAINERS in dirty else None
        with self._cond:
            caught_up = self._pending_since is None  # nothing arrived while we read
        inventory_write(
            environment=self.environment,
            images=images,
            containers=containers,
            caught_up=caught_up,
            last_event_at=last_event_at,
        )
        self.applied += 1
