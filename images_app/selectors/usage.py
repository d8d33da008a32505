"""What the watcher knows, for pages: last use per image, use history, the watch horizon.

Read from the database only (one query for all images of a list page), never from the engine.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from images_app.environments import row_read_with
from images_app.models import Environment, ImageUsage, ImageUse, WatchState
from images_app.watcher.state import known_unused_since

_DURATION = re.compile(r"(\d{1,5})([hdw])")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}
MAX_DURATION = timedelta(days=3650)


def parse_duration(text: str) -> timedelta:
    """"30d", "12h", "2w" (the `unused_for=` filter and policies); ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ValueError("a duration is a whole number followed by h, d or w, e.g. 30d")
    delta = timedelta(hours=int(match.group(1)) * _UNIT_HOURS[match.group(2)])
    if not timedelta(hours=1) <= delta <= MAX_DURATION:
        raise ValueError("a duration is between 1h and 3650d")
    return delta


@dataclass(frozen=True)
class WatchInfo:
    """The environment's watch: since when (the horizon), and whether it is live now."""

    horizon: datetime | None
    engine_status: str
    engine_down_since: datetime | None
    engine_error: str
    last_event_at: datetime | None
    last_reconciled_at: datetime | None
    lease_expires_at: datetime | None

    @property
    def watching(self) -> bool:
        """A watcher holds the lease now (it renews it every few seconds)."""
        return self.lease_expires_at is not None and self.lease_expires_at > timezone.now()

    @property
    def engine_down(self) -> bool:
        return self.watching and self.engine_status == WatchState.EngineStatus.DOWN

    @property
    def usage_stamp(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        """Moves whenever the watcher records a use (its last event, its reconciliation) or restarts."""
        return (self.horizon, self.last_event_at, self.last_reconciled_at)

    @property
    def shown_stamp(self) -> tuple[Hashable, ...]:
        """Everything pages show of the watch: its use records, and whether it runs and sees the engine."""
        return (*self.usage_stamp, self.watching, self.engine_status, self.engine_down_since)


NOT_WATCHED = WatchInfo(None, WatchState.EngineStatus.UNKNOWN, None, "", None, None, None)


def watch_info(environment: Environment) -> WatchInfo:
    read, row = row_read_with(environment, "watch", WatchState)
    if not read:
        row = WatchState.objects.filter(environment=environment).first()
    if row is None:
        return NOT_WATCHED
    return WatchInfo(
        horizon=row.watched_since,
        engine_status=row.engine_status,
        engine_down_since=row.engine_down_since,
        engine_error=row.engine_error,
        last_event_at=row.last_event_at,
        last_reconciled_at=row.last_reconciled_at,
        lease_expires_at=row.lease_expires_at,
    )


@dataclass(frozen=True)
class LastUse:
    """An image's last use as far as Berth knows, and how far that knowledge goes."""

    horizon: datetime | None
    last_used: datetime | None = None
    container_name: str = ""
    container_id: str = ""
    running: int = 0
    unused_since: datetime | None = None  # known unused since then (None: nothing known)

    @property
    def in_use_now(self) -> bool:
        return self.running > 0

    @property
    def known(self) -> bool:
        return self.horizon is not None

    @property
    def before_horizon(self) -> bool:
        """The last known use predates the watch: later uses before the horizon are unknown."""
        return self.horizon is not None and (self.last_used is None or self.last_used < self.horizon)

    def unused_for(self, now: datetime) -> timedelta | None:
        if self.in_use_now or self.unused_since is None:
            return None
        return now - self.unused_since

    def sort_key(self) -> float:
        """Most recently used last in ascending order: running now is the most recent; unknown the oldest."""
        if self.in_use_now:
            return float("inf")
        if self.last_used is not None:
            return self.last_used.timestamp()
        return float("-inf")


def last_use_of(
    usage: ImageUsage | tuple[Any, ...] | None, *, horizon: datetime | None, created: datetime | None
) -> LastUse:
    """Combine a usage row (or its values tuple) with the horizon and the image's creation time."""
    if usage is None:
        last_used, name, cid, running, first_seen = None, "", "", 0, None
    elif isinstance(usage, ImageUsage):
        last_used, name, cid = usage.last_used_at, usage.last_container_name, usage.last_container_id
        running, first_seen = usage.running_containers, usage.first_seen_at
    else:
        last_used, name, cid, running, first_seen = usage
    return LastUse(
        horizon=horizon,
        last_used=last_used,
        container_name=name,
        container_id=cid,
        running=running,
        unused_since=known_unused_since(horizon=horizon, created=created, last_used=last_used, first_seen=first_seen),
    )


UsageValues = tuple[datetime | None, str, str, int, datetime | None]


def usage_values(environment: Environment) -> dict[str, UsageValues]:
    """Every image's usage row of the environment, in one query (tuples: cheap for 10,000 rows)."""
    rows = ImageUsage.objects.filter(environment=environment).values_list(
        "image_id", "last_used_at", "last_container_name", "last_container_id", "running_containers", "first_seen_at"
    )
    return {row[0]: row[1:] for row in rows}


@dataclass(frozen=True)
class UseLine:
    action: str
    used_at: datetime
    container_id: str
    container_name: str

    @property
    def label(self) -> str:
        return {
            "create": "created a container",
            "start": "started",
            "die": "stopped",
            "created": "container created (seen when the watch began)",
        }.get(self.action, self.action)


@dataclass(frozen=True)
class ImageUsePage:
    last_use: LastUse
    history: list[UseLine]
    watch: WatchInfo


def image_use_page(environment: Environment, image_id: str, created: datetime | None) -> ImageUsePage:
    """The image page's use section: last use and the recent uses (three small queries)."""
    watch = watch_info(environment)
    usage = ImageUsage.objects.filter(environment=environment, image_id=image_id).first()
    history = [
        UseLine(u.action, u.used_at, u.container_id, u.container_name)
        for u in ImageUse.objects.filter(environment=environment, image_id=image_id).order_by("-time_nano", "-id")[:50]
    ]
    return ImageUsePage(last_use_of(usage, horizon=watch.horizon, created=created), history, watch)
