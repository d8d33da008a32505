"""The long-running loop that watches one environment's engine.

Per connection: reconcile against the container and image lists, then follow `/events` from the
last event stored (the engine replays what it still holds, then goes live). Reconciling *before*
opening the stream leaves no gap: whatever happens during the reconciliation is replayed from
`since`, and folding events in order always ends at the truth for every container they mention.
A stream that ends (engine silent for BERTH_WATCHER_IDLE_SECONDS, restarted, network cut) is a
reconnection, with backoff while the engine does not answer; the status shows it as down.

A reader thread fills a queue and the main loop writes batches, so a burst of events costs one
transaction per batch and a lone event is recorded within a fraction of a second.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import close_old_connections

from images_app import engine
from images_app.engine import EngineEvent
from images_app.errors import BerthError, EngineUnavailable
from images_app.models import Environment
from images_app.services.inventory import InventoryKeeper
from images_app.watcher import store
from images_app.watcher.state import RECONCILE_CREATED, ContainerSnapshot, UsageState, apply_events, reconcile

logger = logging.getLogger("berth.watcher")

BATCH_MAX = 500
# Start replaying this far before "now" on the very first connection: events of the reconciliation's
# own moment are replayed rather than missed (uses are facts, recording them twice is harmless).
FIRST_REPLAY_NANO = 5_000_000_000


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class _StreamEnd:
    error: BaseException | None = None


class EnvironmentWatcher:
    """Watches one environment while it holds its lease; `stop` ends it at the next step."""

    def __init__(self, environment: Environment, stop: threading.Event, holder: str | None = None) -> None:
        self.environment = environment
        self.stop = stop
        self.holder = holder or holder_name()
        self.state = UsageState()
        self.lease_seconds = settings.BERTH_WATCHER_LEASE_SECONDS
        self.heartbeat = max(self.lease_seconds / 3, 0.5)
        # The pages' inventory rides on the same stream: kept only while this watcher holds the lease.
        self.inventory = InventoryKeeper(environment)

    # --- the outer loop: lease, connect, back off --------------------------------------------

    def run(self) -> None:
        backoff = 1.0
        self.inventory.start()
        try:
            while not self.stop.is_set():
                if not store.lease_claim(self.environment, self.holder):
                    # Another watcher has it: wait, and take over once its lease expires.
                    self.stop.wait(self.heartbeat)
                    continue
                try:
                    self.watch_once()
                    backoff = 1.0
                except store.LeaseLost:
                    logger.warning("%s: lease lost to another watcher; waiting", self.environment.name)
                except EngineUnavailable as error:
                    logger.warning("%s: engine unavailable (%s); retrying in %.0f s", self.environment.name,
                                   error.message, backoff)  # fmt: skip
                    self._down(error.message, backoff)
                    backoff = min(backoff * 2, settings.BERTH_WATCHER_BACKOFF_MAX_SECONDS)
                except BerthError as error:
                    logger.warning("%s: %s; retrying in %.0f s", self.environment.name, error.message, backoff)
                    self._down(error.message, backoff)
                    backoff = min(backoff * 2, settings.BERTH_WATCHER_BACKOFF_MAX_SECONDS)
                finally:
                    close_old_connections()
        finally:
            self.inventory.stop()
            self._inventory_lost()
            store.lease_release(self.environment, self.holder)

    def _inventory_lost(self) -> None:
        """Pages stop trusting the inventory at once (they read the engine live until the next full read)."""
        try:
            self.inventory.disconnected()
        except Exception:
            logger.exception("%s: could not mark the inventory stale", self.environment.name)

    def _down(self, message: str, wait: float) -> None:
        try:
            store.engine_down(self.environment, self.holder, message)
        except store.LeaseLost:
            return
        # Keep the lease while waiting: the engine is down, not the watcher.
        deadline = time.monotonic() + wait
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.stop.wait(min(self.heartbeat, max(deadline - time.monotonic(), 0)))
            store.lease_renew(self.environment, self.holder)

    # --- one connection -----------------------------------------------------------------------

    def watch_once(self) -> None:
        """Reconcile, then follow the events until the stream ends; raises EngineUnavailable, LeaseLost."""
        try:
            self._watch_once()
        except BaseException:
            self._inventory_lost()
            raise

    def _watch_once(self) -> None:
        watch = store.watch_state_row(self.environment)
        since = watch.last_event_nano or (time.time_ns() - FIRST_REPLAY_NANO)
        self.reconcile_now(replay_from=since)
        store.engine_connected(self.environment, self.holder)
        logger.info("%s: watching from %s", self.environment.name, since)
        events: queue.Queue[EngineEvent | _StreamEnd] = queue.Queue(maxsize=20_000)
        reader = threading.Thread(
            target=self._read, args=(since, events), name=f"events-{self.environment.name}", daemon=True
        )
        reader.start()
        # The stream is open from `since`: a full read now misses nothing the replay will not bring.
        self.inventory.connected()
        last_renew = time.monotonic()
        while not self.stop.is_set():
            try:
                first = events.get(timeout=self.heartbeat)
            except queue.Empty:
                store.lease_renew(self.environment, self.holder)
                last_renew = time.monotonic()
                continue
            batch: list[EngineEvent] = []
            end: _StreamEnd | None = None
            item: EngineEvent | _StreamEnd = first
            while True:
                if isinstance(item, _StreamEnd):
                    end = item
                    break
                batch.append(item)
                if len(batch) >= BATCH_MAX:
                    break
                try:
                    item = events.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self.apply(batch)
                last_renew = time.monotonic()
            elif time.monotonic() - last_renew > self.heartbeat:
                store.lease_renew(self.environment, self.holder)
                last_renew = time.monotonic()
            if end is not None:
                if end.error is not None:
                    raise end.error
                return  # idle or closed: reconnect (and reconcile) at once

    def _read(self, since: int, events: queue.Queue[EngineEvent | _StreamEnd]) -> None:
        try:
            for event in engine.event_stream(
                self.environment, since_nano=since, idle_timeout=settings.BERTH_WATCHER_IDLE_SECONDS
            ):
                events.put(event)
                if self.stop.is_set():
                    break
            events.put(_StreamEnd())
        except BaseException as error:  # noqa: BLE001  (handed to the main loop, which decides)
            events.put(_StreamEnd(error))

    def apply(self, batch: list[EngineEvent]) -> None:
        for event in batch:
            self.inventory.event(event)
        outcome = apply_events(self.state, batch)
        if outcome.unresolved:
            # Created from a tag the watcher has not seen yet (a pull): ask the engine, then fold again.
            ids = {cid for cid, _ in outcome.unresolved}
            resolved = {cid: image_id for cid in ids if (image_id := engine.container_image_id(self.environment, cid))}
            if resolved:
                again = apply_events(self.state, [e for e in batch if e.actor_id in resolved], resolved)
                outcome.uses += again.uses
                outcome.touched |= again.touched
        running = self.state.running_by_image()
        store.record(
            environment=self.environment,
            holder=self.holder,
            uses=outcome.uses,
            running={image_id: running.get(image_id, 0) for image_id in outcome.touched},
            last_event_nano=outcome.last_time_nano,
        )

    def reconcile_now(self, replay_from: int) -> None:
        containers = engine.list_containers(self.environment)
        # Intermediate images too: a container may hold an untagged parent the plain list hides.
        images = engine.list_images(self.environment, include_intermediate=True)
        tags = {tag: image.id for image in images for tag in image.repo_tags}
        snapshots = [
            ContainerSnapshot(c.id, c.name, c.image_id, c.running, int(c.created.timestamp()) * 1_000_000_000)
            for c in containers
        ]
        uses = reconcile(self.state, snapshots, tags, time.time_ns())
        # A container created after `replay_from` has its own create event coming in the replay:
        # its creation is recorded once, from that event. (Created is whole seconds: one second of slack.)
        # Such uses still count for "last used" (the engine may have lost its buffer), not for history.
        slack = replay_from - 1_000_000_000
        late = RECONCILE_CREATED
        uses = [replace(u, history=False) if u.action == late and u.time_nano >= slack else u for u in uses]
        store.record(
            environment=self.environment,
            holder=self.holder,
            uses=uses,
            running=dict(self.state.running_by_image()),
            reconciled=True,
            seen_image_ids=[image.id for image in images],
        )
