"""Pulling: the engine's progress stream, consumed whole and checked event by event."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from docker.auth import encode_header

from images_app.engine import sdk_private
from images_app.engine.client import client_for, translate_errors
from images_app.engine.types import Endpoint
from images_app.errors import PullFailed


class PullCancelled(Exception):
    """The caller asked to stop; the connection was closed so the engine aborts the pull."""


def pull_events(
    endpoint: Endpoint,
    repository: str,
    tag: str,
    *,
    auth: dict[str, str] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Generator[dict[str, Any], None, None]:
    """Yield the engine's pull progress events, in order, as dicts.

    Raises PullFailed when an event carries `error`/`errorDetail`: engines answer
    HTTP 200 and put failures in the stream, which the SDK's `images.pull()` drops.
    """
    client = client_for(endpoint)
    params = {"fromImage": repository, "tag": tag}
    headers = {"X-Registry-Auth": encode_header(auth)} if auth else {}
    with translate_errors(endpoint, target=f"{repository}:{tag}"):
        # The low-level request (not `api.pull`) because cancelling must close
        # this very connection: the engine aborts a pull whose client went away.
        response = sdk_private.post_streaming(client, "/images/create", params=params, headers=headers)
        try:
            for event in sdk_private.json_events(client, response):
                if not isinstance(event, dict):
                    continue
                if "error" in event or "errorDetail" in event:
                    detail = event.get("errorDetail") or {}
                    raise PullFailed(detail.get("message") or event.get("error") or "the engine reported an error")
                yield event
                if should_stop is not None and should_stop():
                    raise PullCancelled()
        finally:
            response.close()
