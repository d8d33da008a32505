"""Live pull progress through Redis: the worker publishes, the SSE view relays.

Per job: a pub/sub channel carrying every event, a snapshot key holding the
whole current state, a sequence counter, and a cancel flag. One Lua script
bumps the sequence, stores the snapshot and publishes the event atomically, so
a viewer who subscribes first and then reads the snapshot can drop events with
seq <= the snapshot's and miss nothing, see nothing twice.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

logger = logging.getLogger(__name__)

KEY_TTL_SECONDS = 24 * 3600
SSE_KEEPALIVE_SECONDS = 15
# A stream ends after this even if the job does not: EventSource reconnects on its own.
SSE_MAX_SECONDS = 3600

_PUBLISH_SCRIPT = """
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], '{"seq":' .. seq .. ',' .. ARGV[1], 'EX', ARGV[3])
redis.call('PUBLISH', KEYS[3], '{"seq":' .. seq .. ',' .. ARGV[2])
return {seq, redis.call('EXISTS', KEYS[4])}
"""

_clients: dict[tuple[int, str], redis.Redis] = {}
_clients_lock = threading.Lock()


def channel_name(job_id: int) -> str:
    return f"berth:pull:{job_id}:events"


def snapshot_key(job_id: int) -> str:
    return f"berth:pull:{job_id}:snapshot"


def seq_key(job_id: int) -> str:
    return f"berth:pull:{job_id}:seq"


def cancel_key(job_id: int) -> str:
    return f"berth:pull:{job_id}:cancel"


def redis_client() -> redis.Redis:
    """This process's client; short timeouts so a dead Redis slows nothing down for long."""
    url = settings.REDIS_URL
    key = (os.getpid(), url)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=3)
                _clients[key] = client
    return client


def _json_tail(data: dict[str, Any]) -> str:
    # The script prepends '{"seq":N,' itself, so it receives the object without its "{".
    return json.dumps(data, separators=(",", ":"), default=str)[1:]


def publish(job_id: int, message: dict[str, Any], snapshot: dict[str, Any]) -> tuple[int, bool]:
    """Store the snapshot and publish the message under the next sequence number.

    Returns (seq, cancel_requested). Raises redis.RedisError when Redis is gone.
    """
    client = redis_client()
    seq, cancel = client.eval(
        _PUBLISH_SCRIPT,
        4,
        seq_key(job_id),
        snapshot_key(job_id),
        channel_name(job_id),
        cancel_key(job_id),
        _json_tail(snapshot),
        _json_tail(message),
        KEY_TTL_SECONDS,
    )
    return int(seq), bool(cancel)


def publish_quietly(job_id: int, message: dict[str, Any], snapshot: dict[str, Any]) -> bool:
    """publish(), but a Redis outage only costs the live view: the DB keeps the truth."""
    try:
        return publish(job_id, message, snapshot)[1]
    except redis.RedisError as exc:
        logger.warning("Could not publish progress of pull %s: %s", job_id, exc)
        return False


def forget(job_id: int) -> None:
    """Drop what Redis holds for a job id (a database reset may hand the id out again)."""
    try:
        redis_client().delete(seq_key(job_id), snapshot_key(job_id), cancel_key(job_id))
    except redis.RedisError as exc:
        logger.warning("Could not clear Redis keys of pull %s: %s", job_id, exc)


def read_snapshot(job_id: int) -> dict[str, Any] | None:
    try:
        raw = redis_client().get(snapshot_key(job_id))
    except redis.RedisError:
        return None
    return json.loads(raw) if raw else None


def request_cancel(job_id: int) -> None:
    try:
        redis_client().set(cancel_key(job_id), "1", ex=KEY_TTL_SECONDS)
    except redis.RedisError as exc:
        # The worker also sees the DB flag at its next heartbeat.
        logger.warning("Could not flag cancel of pull %s in Redis: %s", job_id, exc)


def _sse(data: dict[str, Any], event: str) -> str:
    seq = data.get("seq")
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


@dataclass(frozen=True)
class RelayedEvent:
    """One published event as every viewer of its pull is sent it: parsed once per web process."""

    seq: int
    end: bool
    raw: str


class StreamLost(Exception):
    """The shared subscription is gone (Redis went away, or this viewer fell too far behind)."""


# Events a viewer may have waiting before it is dropped: a client that stopped reading must not
# hold the process's memory. A dropped viewer's stream ends; its browser reconnects for a fresh
# snapshot, so it misses nothing. A pull sends a few events a second per layer.
VIEWER_BACKLOG_LIMIT = 2000
# A subscription Redis does not confirm within this is treated as Redis being unavailable.
SUBSCRIBE_TIMEOUT_SECONDS = 5


class _Viewer:
    def __init__(self) -> None:
        self.events: asyncio.Queue[RelayedEvent | None] = asyncio.Queue()  # None: the stream is lost
        self.dropped = False

    async def next(self, timeout: float) -> RelayedEvent | None:
        """The next event, or None after `timeout` seconds of silence; StreamLost when there will be none."""
        try:
            async with asyncio.timeout(timeout):
                event = await self.events.get()
        except TimeoutError:
            return None
        if event is None:
            raise StreamLost
        return event

    def lose(self) -> None:
        self.dropped = True
        self.events.put_nowait(None)


@dataclass
class _Subscription:
    """A channel's viewers in this process, and Redis's confirmation of the SUBSCRIBE they wait on."""

    confirmed: asyncio.Future[None]
    viewers: set[_Viewer] = field(default_factory=set)


class PullChannels:
    """One Redis subscription per web process (per event loop) for every stream viewer of every pull.

    A viewer per subscription would hold a Redis connection each and decode every event once per
    viewer; here the process subscribes to a pull's channel when its first viewer comes, parses
    each event once, hands it to each viewer's queue, and unsubscribes when the last one leaves
    (closing the connection when no pull is watched). A lost connection ends every stream rather
    than resubscribing quietly: events published meanwhile would be missing, while a browser that
    reconnects starts again from a fresh snapshot.
    """

    def __init__(self, url: str) -> None:
        self._redis_url = url
        self._lock = asyncio.Lock()
        self._client: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscriptions: dict[str, _Subscription] = {}
        # Per channel, every SUBSCRIBE sent and not yet confirmed, oldest first: Redis confirms in
        # order, so a late confirmation of an earlier subscription (its viewers gone) never passes
        # for the current one's.
        self._unconfirmed: dict[str, collections.deque[asyncio.Future[None]]] = {}

    def _connect(self) -> aioredis.client.PubSub:
        if self._pubsub is None:
            # No quiet retries: a reconnect would resubscribe with the events in between lost.
            self._client = aioredis.Redis.from_url(
                self._redis_url, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0), client_name="berth-pull-streams"
            )
            self._pubsub = self._client.pubsub()
        return self._pubsub

    async def join(self, channel: str) -> _Viewer:
        """A viewer of `channel`, once Redis has confirmed the subscription (so a snapshot read now misses nothing)."""
        viewer = _Viewer()
        async with self._lock:
            subscription = self._subscriptions.get(channel)
            if subscription is None:
                subscription = _Subscription(confirmed=asyncio.get_running_loop().create_future())
                self._subscriptions[channel] = subscription
                self._unconfirmed.setdefault(channel, collections.deque()).append(subscription.confirmed)
                pubsub = self._connect()
                try:
                    await pubsub.subscribe(channel)
                except (redis.RedisError, OSError) as exc:
                    await self._lose_all()
                    raise redis.ConnectionError(f"cannot subscribe to {channel}: {exc}") from exc
                except asyncio.CancelledError:
                    # The client left during the SUBSCRIBE: the connection may hold half a command,
                    # and without a reader nobody would take the confirmation the next viewers
                    # wait on (they timed out after 5 s, bench.load). Start over, as after a lost
                    # connection: other streams of this process end and their browsers reconnect.
                    await self._lose_all()
                    raise
                if self._reader is None:
                    self._reader = asyncio.get_running_loop().create_task(self._read(pubsub))
            subscription.viewers.add(viewer)
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                await asyncio.shield(subscription.confirmed)
        except (TimeoutError, StreamLost) as exc:
            await asyncio.shield(self.leave(channel, viewer))  # whole even if the client leaves meanwhile
            raise redis.ConnectionError(f"subscription to {channel} not confirmed") from exc
        except asyncio.CancelledError:
            await asyncio.shield(self.leave(channel, viewer))  # the client left while we waited
            raise
        return viewer

    async def leave(self, channel: str, viewer: _Viewer) -> None:
        """The viewer is gone; the last one of a channel unsubscribes, the last one of all closes the connection."""
        async with self._lock:
            subscription = self._subscriptions.get(channel)
            if subscription is None or viewer not in subscription.viewers:
                return  # already dropped with everyone when the subscription was lost
            subscription.viewers.discard(viewer)
            if subscription.viewers:
                return
            del self._subscriptions[channel]
            if not self._subscriptions:
                await self._close()
                return
            try:
                await self._connect().unsubscribe(channel)
            except (redis.RedisError, OSError):
                await self._lose_all()

    async def snapshot(self, job_id: int) -> dict[str, Any] | None:
        """The job's live state as Redis holds it (None if it holds none); read after join()."""
        if self._client is None:
            raise redis.ConnectionError("the shared subscription was lost")
        raw = await self._client.get(snapshot_key(job_id))
        return json.loads(raw) if raw else None

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                channel = message["channel"].decode()
                if message["type"] == "message":
                    self._relay(channel, message["data"].decode())
                elif message["type"] == "subscribe":
                    waiting = self._unconfirmed.get(channel)
                    if waiting:
                        confirmed = waiting.popleft()
                        if not confirmed.done():
                            confirmed.set_result(None)
        except asyncio.CancelledError:
            raise
        except (redis.RedisError, OSError) as exc:
            logger.warning("Live progress streams lost their Redis subscription: %s", exc)
            async with self._lock:
                if self._pubsub is pubsub:
                    await self._lose_all()

    def _relay(self, channel: str, raw: str) -> None:
        data = json.loads(raw)
        event = RelayedEvent(seq=int(data.get("seq") or 0), end=data.get("type") == "end", raw=raw)
        subscription = self._subscriptions.get(channel)
        for viewer in subscription.viewers if subscription is not None else ():
            if viewer.dropped:
                continue
            if viewer.events.qsize() >= VIEWER_BACKLOG_LIMIT:
                logger.warning(
                    "A live progress viewer of %s fell %d events behind: its stream ends", channel, VIEWER_BACKLOG_LIMIT
                )
                viewer.lose()  # it leaves as any viewer does, when its stream ends
            else:
                viewer.events.put_nowait(event)

    async def _lose_all(self) -> None:
        """Every stream ends (its browser reconnects); the next viewer starts a new connection."""
        for subscription in self._subscriptions.values():
            for viewer in subscription.viewers:
                viewer.lose()
        for waiting in self._unconfirmed.values():
            for confirmed in waiting:
                if not confirmed.done():
                    confirmed.set_exception(StreamLost())
                    confirmed.exception()  # retrieved here: its viewers may all have gone
        self._subscriptions.clear()
        await self._close()

    async def _close(self) -> None:
        reader, pubsub, client = self._reader, self._pubsub, self._client
        self._reader = self._pubsub = self._client = None
        self._unconfirmed.clear()
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        if pubsub is not None:
            await pubsub.aclose()
        if client is not None:
            await client.aclose()


_pull_channels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, PullChannels]] = (
    weakref.WeakKeyDictionary()
)


def pull_channels() -> PullChannels:
    """The running event loop's shared subscriptions (a web process has one loop; a test may make many)."""
    per_url = _pull_channels.setdefault(asyncio.get_running_loop(), {})
    url = settings.REDIS_URL
    if url not in per_url:
        per_url[url] = PullChannels(url)
    return per_url[url]


async def sse_stream(
    job_id: int,
    fallback_snapshot: Callable[[], Awaitable[dict[str, Any]]],
    job_finished: Callable[[], Awaitable[bool]],
    *,
    keepalive: float = SSE_KEEPALIVE_SECONDS,
    max_seconds: float = SSE_MAX_SECONDS,
) -> AsyncIterator[str]:
    """Server-sent events for one job: the snapshot at once, then every newer event until the end.

    `fallback_snapshot` builds the state from the database when Redis has none;
    `job_finished` is asked between keepalives (a swept job may never publish again).
    The viewer leaves the shared subscription whatever ends the stream: the job, the time
    limit, the subscription lost, or the client going away (the ASGI server cancels this generator).
    """
    channels = pull_channels()
    channel = channel_name(job_id)
    viewer = None
    try:
        try:
            # Subscribed (and confirmed) before reading the snapshot: nothing published in between is lost.
            viewer = await channels.join(channel)
            snapshot = await channels.snapshot(job_id)
        except redis.RedisError as exc:
            logger.warning("Live progress unavailable for pull %s: %s", job_id, exc)
            yield _sse(await fallback_snapshot(), "snapshot")
            yield _sse({"reason": "live progress unavailable"}, "unavailable")
            return
        if snapshot is None or snapshot.get("status") not in ("queued", "running"):
            # No live state, or an ended one while the database says active: a leftover
            # from a previous use of this job id (a reset database) must not end the stream.
            snapshot = await fallback_snapshot()
        last_seq = int(snapshot.get("seq") or 0)
        yield _sse(snapshot, "snapshot")
        if snapshot.get("status") not in ("queued", "running"):
            yield _sse({"seq": last_seq, "status": snapshot.get("status")}, "end")
            return

        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            try:
                event = await viewer.next(timeout=keepalive)
            except StreamLost:
                return  # the browser reconnects and starts from a fresh snapshot
            if event is None:
                if await job_finished():
                    snapshot = await fallback_snapshot()
                    yield _sse(snapshot, "snapshot")
                    yield _sse({"seq": snapshot.get("seq"), "status": snapshot.get("status")}, "end")
                    return
                # A comment line: keeps proxies from closing an idle stream.
                yield ": keepalive\n\n"
                continue
            if event.seq <= last_seq:
                continue  # already part of the snapshot this viewer got
            last_seq = event.seq
            # Relayed as published (one line of JSON): no re-encoding per viewer.
            yield f"id: {event.seq}\nevent: {'end' if event.end else 'progress'}\ndata: {event.raw}\n\n"
            if event.end:
                return
    finally:
        if viewer is not None:
            # Shielded: on a disconnect this runs inside a cancelled task.
            await asyncio.shield(channels.leave(channel, viewer))


async def sse_finished(snapshot: dict[str, Any]) -> AsyncIterator[str]:
    """The stream of a job that has ended: its final state, then the end."""
    yield _sse(snapshot, "snapshot")
    yield _sse({"seq": snapshot.get("seq"), "status": snapshot.get("status")}, "end")
