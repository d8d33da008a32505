"""The engine's event stream (`GET /events`), for the watcher.

The SDK's `events()` streams with no read timeout, so a silent network cut would hang
the watcher forever. Here the stream has a read timeout: when the engine says nothing
for that long the stream simply ends, and the watcher reconnects (replaying from its
last event, then reconciling), which also covers a connection that died silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import urllib3.exceptions

from images_app.engine import sdk_private
from images_app.engine.client import client_for, translate_errors
from images_app.engine.types import Endpoint, EngineEvent
from images_app.errors import EngineUnavailable


def event_stream(
    endpoint: Endpoint, *, since_nano: int | None, until_nano: int | None = None, idle_timeout: float = 30.0
) -> Iterator[EngineEvent]:
    """Container and image events from `since_nano` (engine time, nanoseconds); live when `until_nano` is None.

    The engine replays what it still holds in its (bounded, in-memory) buffer from
    `since`, then continues live. Ends quietly after `idle_timeout` seconds of silence;
    raises EngineUnavailable when the engine cannot be reached or the stream breaks.
    """
    client = client_for(endpoint)
    params: dict[str, str] = {"filters": '{"type":["container","image"]}'}
    if since_nano is not None:
        params["since"] = _timestamp(since_nano)
    if until_nano is not None:
        params["until"] = _timestamp(until_nano)
    with translate_errors(endpoint):
        try:
            for raw in sdk_private.get_streaming(client, "/events", params=params, timeout=idle_timeout):
                event = _event_from_api(raw)
                if event is not None:
                    yield event
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            return  # idle: the caller reconnects
        except urllib3.exceptions.ProtocolError as exc:
            # The engine went away mid-stream (restart, socket closed).
            raise EngineUnavailable(endpoint.docker_host, f"the event stream broke ({exc})") from exc


def _timestamp(nano: int) -> str:
    # The engine takes "seconds.nanoseconds" and keeps events with TimeNano >= since.
    return f"{nano // 1_000_000_000}.{nano % 1_000_000_000:09d}"


def _event_from_api(raw: dict[str, Any]) -> EngineEvent | None:
    kind = raw.get("Type") or ""
    actor = raw.get("Actor") or {}
    action = raw.get("Action") or raw.get("status") or ""
    if not kind or not action:
        return None
    time_nano = int(raw.get("timeNano") or int(raw.get("time") or 0) * 1_000_000_000)
    return EngineEvent(
        type=kind,
        # "exec_start: sh" and "health_status: healthy" carry details after a colon.
        action=action.split(":", 1)[0].strip(),
        actor_id=actor.get("ID") or raw.get("id") or "",
        attributes=dict(actor.get("Attributes") or {}),
        time_nano=time_nano,
    )
