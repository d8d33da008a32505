"""The event-kept inventory as pages read it: only while its keeper is alive.

Each web process keeps the parsed lists and the rows prepared from them (sorted
orders, totals) until the stored version moves, so a page for an unchanged host
costs one small query plus its own rows, and no engine call.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone

from images_app.engine import ContainerInfo, ImageInfo
from images_app.environments import row_read_with
from images_app.inventory_codec import decode_containers, decode_images
from images_app.models import Environment, Inventory

T = TypeVar("T")


@dataclass(frozen=True)
class _Stamped:
    stamp: object
    value: Any


_serials = itertools.count(1)


@dataclass
class KeptInventory:
    """One version of an environment's lists, with what pages derive from them memoised."""

    version: int
    images: list[ImageInfo]
    containers: list[ContainerInfo]
    # Which load in this process: what is drawn from these lists is kept under it (kept_pages).
    # Not the version: a database rebuilt from scratch numbers its versions from 1 again.
    serial: int = field(default_factory=lambda: next(_serials))
    _memo: dict[object, object] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)  # memos nest

    def memo(self, key: object, compute: Callable[[], object]) -> object:
        """`compute()` once per version and key, whichever request asks first."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    def memo_stamped(self, key: object, stamp: object, compute: Callable[[], T]) -> T:
        """`compute()` once per version, key and `stamp`; a new stamp replaces the old value (bounded)."""
        with self._lock:
            held = self._memo.get(key)
            if isinstance(held, _Stamped) and held.stamp == stamp:
                return held.value  # type: ignore[no-any-return]
            value = compute()
            self._memo[key] = _Stamped(stamp, value)
            return value

    @property
    def containers_per_image(self) -> Counter[str]:
        return self.memo(  # type: ignore[return-value]
            "per_image", lambda: Counter({image_id: len(found) for image_id, found in self._by_image().items()})
        )

    def containers_of(self, image_id: str) -> list[ContainerInfo]:
        """The containers created from exactly this image, as the engine last listed them."""
        return list(self._by_image().get(image_id, ()))

    def _by_image(self) -> dict[str, list[ContainerInfo]]:
        def group() -> dict[str, list[ContainerInfo]]:
            found: dict[str, list[ContainerInfo]] = {}
            for container in self.containers:
                found.setdefault(container.image_id, []).append(container)
            return found

        return self.memo("by_image", group)  # type: ignore[return-value]


@dataclass(frozen=True)
class InventoryRead:
    kept: KeptInventory
    as_of: datetime | None  # set when the keeper lags: the lists are those of this moment


_cache: dict[int, KeptInventory] = {}
_cache_lock = threading.Lock()


def inventory_current(environment: Environment) -> InventoryRead | None:
    """The environment's kept lists when its keeper is alive, else None (then read the engine)."""
    if not settings.BERTH_INVENTORY:
        return None
    read, row = row_read_with(environment, "inventory", Inventory)
    if read:
        state = None if row is None else (row.version, row.heartbeat_at, row.pending_since, row.applied_at)
    else:
        state = (
            Inventory.objects.filter(environment=environment)
            .values_list("version", "heartbeat_at", "pending_since", "applied_at")
            .first()
        )
    if state is None:
        return None
    version, heartbeat_at, pending_since, applied_at = state
    now = timezone.now()
    if heartbeat_at is None or now - heartbeat_at > timedelta(seconds=settings.BERTH_INVENTORY_STALE_SECONDS):
        return None
    kept = _cache.get(environment.pk)
    if kept is None or kept.version != version:
        kept = _load(environment, version)
        if kept is None:
            return None
    lagging = pending_since is not None and now - pending_since > timedelta(
        seconds=settings.BERTH_INVENTORY_AS_OF_SECONDS
    )
    return InventoryRead(kept=kept, as_of=applied_at if lagging else None)


def _load(environment: Environment, version: int) -> KeptInventory | None:
    # Written again since the first query? Then this is a newer version still: take it.
    row = Inventory.objects.filter(environment=environment).values_list("version", "images", "containers").first()
    if row is None:
        return None
    version, images, containers = row
    kept = KeptInventory(
        version=version, images=decode_images(bytes(images)), containers=decode_containers(bytes(containers))
    )
    with _cache_lock:
        current = _cache.get(environment.pk)
        if current is None or current.version < version:
            _cache[environment.pk] = kept
    return kept
