"""The watcher's database side: the lease, and recording what the events and reconciliations proved.

Every write happens inside a transaction that first renews the lease with a conditional UPDATE
(`... WHERE holder = me`): a watcher that lost its lease (it stalled, another took over) writes
nothing. Uses are stored idempotently (unique per event) and "last used" only moves forward, so a
replay after a crash, or two watchers during a takeover, record each event once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from images_app.models import Environment, ImageUsage, ImageUse, WatchState
from images_app.watcher.state import RECONCILE_CREATED, Use, nano_to_datetime

Status = WatchState.EngineStatus


class LeaseLost(Exception):
    """Another watcher holds this environment now: stop writing."""


def _lease_delta() -> timedelta:
    return timedelta(seconds=settings.BERTH_WATCHER_LEASE_SECONDS)


def watch_state_row(environment: Environment) -> WatchState:
    try:
        return WatchState.objects.get_or_create(environment=environment)[0]
    except IntegrityError:
        # Two watchers created it at once: the other INSERT won, which is just as good.
        return WatchState.objects.get(environment=environment)


def lease_claim(environment: Environment, holder: str) -> bool:
    """Take (or keep) the environment's lease; False while another live watcher holds it."""
    watch_state_row(environment)
    now = timezone.now()
    free = Q(holder="") | Q(holder=holder) | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    claimed = WatchState.objects.filter(free, environment=environment).update(
        holder=holder, lease_expires_at=now + _lease_delta(), heartbeat_at=now
    )
    return claimed == 1


def lease_renew(environment: Environment, holder: str) -> None:
    now = timezone.now()
    renewed = WatchState.objects.filter(environment=environment, holder=holder).update(
        lease_expires_at=now + _lease_delta(), heartbeat_at=now
    )
    if not renewed:
        raise LeaseLost(environment.name)


def lease_release(environment: Environment, holder: str) -> None:
    """Give the lease back at a clean stop, so a successor need not wait for it to expire."""
    WatchState.objects.filter(environment=environment, holder=holder).update(holder="", lease_expires_at=None)


def engine_connected(environment: Environment, holder: str) -> WatchState:
    """The engine answered: status connected; the horizon starts now if this is the first watch."""
    now = timezone.now()
    with transaction.atomic():
        lease_renew(environment, holder)
        WatchState.objects.filter(environment=environment).update(
            engine_status=Status.CONNECTED, engine_down_since=None, engine_error=""
        )
        WatchState.objects.filter(environment=environment, watched_since__isnull=True).update(watched_since=now)
    return WatchState.objects.get(environment=environment)


def engine_down(environment: Environment, holder: str, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        lease_renew(environment, holder)
        WatchState.objects.filter(environment=environment).exclude(engine_status=Status.DOWN).update(
            engine_status=Status.DOWN, engine_down_since=now
        )
        WatchState.objects.filter(environment=environment).update(engine_error=error[:500])


def record(
    *,
    environment: Environment,
    holder: str,
    uses: Iterable[Use],
    running: dict[str, int],
    last_event_nano: int = 0,
    reconciled: bool = False,
    seen_image_ids: Iterable[str] = (),
) -> None:
    """Store one batch: uses (history and last use), running counts, progress; all or nothing.

    `running` gives the running-container count of the images it names; with `reconciled`
    it is the whole truth and every other image of the environment runs nothing.
    """
    uses = list(uses)
    now = timezone.now()
    with transaction.atomic():
        lease_renew(environment, holder)
        if last_event_nano:
            WatchState.objects.filter(environment=environment, last_event_nano__lt=last_event_nano).update(
                last_event_nano=last_event_nano, last_event_at=nano_to_datetime(last_event_nano)
            )
        if reconciled:
            WatchState.objects.filter(environment=environment).update(last_reconciled_at=now)
        _record_history(environment, uses)
        _record_usage(environment, uses, running, reconciled=reconciled, seen=set(seen_image_ids), now=now)


def _record_history(environment: Environment, uses: list[Use]) -> None:
    # A reconciliation's "created" is worth a history line unless the container's own events are there.
    created = [u for u in uses if u.action == RECONCILE_CREATED and u.history]
    known: set[str] = set()
    if created:
        known = set(
            ImageUse.objects.filter(
                environment=environment, container_id__in=[u.container_id for u in created]
            ).values_list("container_id", flat=True)
        )
    rows = [
        ImageUse(
            environment=environment,
            image_id=u.image_id,
            container_id=u.container_id,
            container_name=u.container_name[:300],
            action=u.action,
            time_nano=u.time_nano,
            used_at=nano_to_datetime(u.time_nano),
        )
        for u in uses
        if u.history and not (u.action == RECONCILE_CREATED and u.container_id in known)
    ]
    if not rows:
        return
    ImageUse.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    keep = settings.BERTH_WATCHER_HISTORY
    for image_id in {r.image_id for r in rows}:
        old = list(
            ImageUse.objects.filter(environment=environment, image_id=image_id)
            .order_by("-time_nano", "-id")
            .values_list("id", flat=True)[keep : keep + 1000]
        )
        if old:
            ImageUse.objects.filter(id__in=old).delete()


def _record_usage(
    environment: Environment,
    uses: list[Use],
    running: dict[str, int],
    *,
    reconciled: bool,
    seen: set[str],
    now: datetime,
) -> None:
    latest: dict[str, Use] = {}
    for use in uses:
        current = latest.get(use.image_id)
        if current is None or use.time_nano > current.time_nano:
            latest[use.image_id] = use
    wanted = set(latest) | set(running) | seen
    if reconciled:
        # Images gone from the engine: their rows would only grow the list page's read.
        present = seen | set(running)
        ImageUsage.objects.filter(environment=environment).exclude(image_id__in=present).delete()
        ImageUse.objects.filter(environment=environment).exclude(image_id__in=present).delete()
    if reconciled:
        ImageUsage.objects.filter(environment=environment, running_containers__gt=0).exclude(
            image_id__in=[i for i, n in running.items() if n]
        ).update(running_containers=0)
    existing = {
        u.image_id: u for u in ImageUsage.objects.filter(environment=environment, image_id__in=wanted)
    }
    creates: list[ImageUsage] = []
    updates: list[ImageUsage] = []
    for image_id in wanted:
        row = existing.get(image_id)
        is_new = row is None
        if is_new and image_id not in latest and image_id not in seen and not running.get(image_id):
            continue  # nothing to say about it (e.g. a replayed `destroy` of a container of a deleted image)
        if row is None:
            row = ImageUsage(environment=environment, image_id=image_id, first_seen_at=now)
        changed = is_new
        latest_use = latest.get(image_id)
        if latest_use is not None:
            when = nano_to_datetime(latest_use.time_nano)
            if row.last_used_at is None or when > row.last_used_at:
                row.last_used_at = when
                row.last_container_id = latest_use.container_id
                row.last_container_name = latest_use.container_name[:300]
                changed = True
        if image_id in running and row.running_containers != running[image_id]:
            row.running_containers = running[image_id]
            changed = True
        # A reconciliation sees every image: only rows that changed are written (10,000 images, one minute apart).
        if changed:
            (creates if is_new else updates).append(row)
    if creates:
        ImageUsage.objects.bulk_create(creates, ignore_conflicts=True, batch_size=500)
    if updates:
        ImageUsage.objects.bulk_update(
            updates,
            ["last_used_at", "last_container_id", "last_container_name", "running_containers"],
            batch_size=500,
        )
