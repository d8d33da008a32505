"""Live pull progress through Redis: the worker publishes, the SSE view relays.

Per job: a pub/sub channel carrying every event, a snapshot key holding the
whole current state, a sequence counter, and a cancel flag. One Lua script
bumps the sequence, stores the snapshot and publishes the event atomically, so
a viewer who subscribes first and then reads the snapshot can drop events with
seq <= the snapshot's and miss nothing, see nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

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
    The Redis connection is released whatever ends the stream: the job, the time
    limit, or the client going away (the ASGI server cancels this generator).
    """
    client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    pubsub = client.pubsub()
    try:
        try:
            # Subscribe before reading the snapshot: nothing published in between is lost.
            await pubsub.subscribe(channel_name(job_id))
            raw = await client.get(snapshot_key(job_id))
        except redis.RedisError as exc:
            logger.warning("Live progress unavailable for pull %s: %s", job_id, exc)
            yield _sse(await fallback_snapshot(), "snapshot")
            yield _sse({"reason": "live progress unavailable"}, "unavailable")
            return
        snapshot = json.loads(raw) if raw else None
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
        last_sent = time.monotonic()
        while time.monotonic() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=keepalive)
            if message is None:
                if time.monotonic() - last_sent < keepalive:
                    continue  # the subscription's own confirmation, not silence
                last_sent = time.monotonic()
                if await job_finished():
                    snapshot = await fallback_snapshot()
                    yield _sse(snapshot, "snapshot")
                    yield _sse({"seq": snapshot.get("seq"), "status": snapshot.get("status")}, "end")
                    return
                # A comment line: keeps proxies from closing an idle stream.
                yield ": keepalive\n\n"
                continue
            raw = message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
            data = json.loads(raw)
            seq = int(data.get("seq") or 0)
            if seq <= last_seq:
                continue  # already part of the snapshot this viewer got
            last_seq = seq
            last_sent = time.monotonic()
            # Relayed as published (one line of JSON): no re-encoding per viewer.
            kind = "end" if data.get("type") == "end" else "progress"
            yield f"id: {seq}\nevent: {kind}\ndata: {raw}\n\n"
            if kind == "end":
                return
    finally:
        # Shielded: on a disconnect this runs inside a cancelled task.
        await asyncio.shield(_release(pubsub, client))


async def _release(pubsub: aioredis.client.PubSub, client: aioredis.Redis) -> None:
    try:
        await pubsub.unsubscribe()
    except (redis.RedisError, OSError):
        pass
    finally:
        await pubsub.aclose()
        await client.aclose()


async def sse_finished(snapshot: dict[str, Any]) -> AsyncIterator[str]:
    """The stream of a job that has ended: its final state, then the end."""
    yield _sse(snapshot, "snapshot")
    yield _sse({"seq": snapshot.get("seq"), "status": snapshot.get("status")}, "end")
