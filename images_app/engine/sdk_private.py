"""The docker SDK's private APIClient methods Berth uses, all of them, in this one module.

Why private methods at all: the SDK's public `api.pull()` keeps the HTTP response to itself, so a
cancelled pull cannot close the very connection the engine streams on (the engine aborts a pull only
when its client goes away); and `api.search()` takes no `filters` (the endpoint does: is-official,
stars) nor a per-call timeout. These helpers are the documented-by-source internals the public
methods are built on (docker/api/client.py: `_url`, `_get`, `_post`, `_raise_for_status`,
`_result`, `_stream_helper`). The event stream needs them too: the public `events()` has no read
timeout, so a silent network cut would hang the watcher. They are not a stable API:
requirements.txt pins `docker` to one major version for them, and a new major version means
re-reading that file against this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import requests


def post_streaming(
    client: docker.APIClient, path: str, *, params: dict[str, Any], headers: dict[str, str]
) -> requests.Response:
    """POST to an engine path and return the open streaming response (the caller closes it)."""
    response: requests.Response = client._post(
        client._url(path), params=params, headers=headers, stream=True, timeout=None
    )
    return response


def json_events(client: docker.APIClient, response: requests.Response) -> Iterator[Any]:
    """Raise the SDK's APIError for an HTTP error, then yield the response's JSON stream, decoded."""
    client._raise_for_status(response)
    yield from client._stream_helper(response, decode=True)


def get_json(
    client: docker.APIClient, path: str, *, params: dict[str, Any], headers: dict[str, str], timeout: float
) -> Any:
    """GET an engine path with its own timeout; the decoded JSON body (APIError for an HTTP error).

    requests' ReadTimeout passes through: the caller tells a slow index from a dead engine.
    """
    response = client._get(client._url(path), params=params, headers=headers, timeout=timeout)
    return client._result(response, json=True)


def get_streaming(client: docker.APIClient, path: str, *, params: dict[str, str], timeout: float) -> Iterator[Any]:
    """GET an engine path as a JSON stream with a read timeout; yields decoded items, closes the response."""
    response = client._get(client._url(path), params=params, stream=True, timeout=timeout)
    try:
        client._raise_for_status(response)
        yield from client._stream_helper(response, decode=True)
    finally:
        response.close()
