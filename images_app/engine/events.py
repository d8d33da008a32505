"""The engine's event stream (`GET /events`), as Berth's own EngineEvent values.

A stream is read for hours (the SDK sends it without a read timeout) and is closed
from another thread to stop it: it gets a client of its own, so closing it never
touches the pooled connection that page calls share.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from images_app.engine.client import new_stream_client, translate_errors
from images_app.engine.types import Endpoint


@dataclass(frozen=True)
class EngineEvent:
    """One engine event: `type` is container, image, network...; `actor_id` the object's ID."""

    type: str
    action: str
    actor_id: str
    time_nano: int
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def time(self) -> float:
        return self.time_nano / 1e9


def event_from_api(raw: dict) -> EngineEvent:
    actor = raw.get("Actor") or {}
    time_nano = int(raw.get("timeNano") or int(raw.get("time") or 0) * 1_000_000_000)
    # "exec_start: sh" and "health_status: healthy" carry details after the colon.
    action = str(raw.get("Action") or raw.get("status") or "").split(":", 1)[0].strip()
    return EngineEvent(
        type=str(raw.get("Type") or ""),
        action=action,
        actor_id=str(actor.get("ID") or raw.get("id") or ""),
        time_nano=time_nano,
        attributes={str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()},
    )


class EventStream:
    """Events from `since` (unix seconds, replayed from the engine's buffer) on, until closed."""

    def __init__(self, endpoint: Endpoint, *, since: float | None = None) -> None:
        self.endpoint = endpoint
        with translate_errors(endpoint):
            self._client = new_stream_client(endpoint)
            self._stream = self._client.events(since=since, decode=True)

    def __iter__(self) -> Iterator[EngineEvent]:
        with translate_errors(self.endpoint):
            for raw in self._stream:
                yield event_from_api(raw)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._client.close()
