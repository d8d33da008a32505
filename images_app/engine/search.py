"""Searching an image index through the engine, as `docker search` does."""

from __future__ import annotations

import json

import requests
from django.conf import settings
from docker.auth import encode_header

from images_app.engine import sdk_private
from images_app.engine.client import client_for, translate_errors
from images_app.engine.types import Endpoint, SearchHit
from images_app.errors import EngineError, SearchUnavailable


def search_index(
    endpoint: Endpoint,
    term: str,
    *,
    limit: int = 25,
    official_only: bool = False,
    min_stars: int = 0,
    auth: dict[str, str] | None = None,
) -> list[SearchHit]:
    """`docker search [--filter is-official=true] [--filter stars=N] --limit N term`.

    `auth` ({"username", "password", "serveraddress"}) is passed to the engine, which sends it to the index.
    """
    client = client_for(endpoint)
    filters: dict[str, list[str]] = {}
    if official_only:
        filters["is-official"] = ["true"]
    if min_stars:
        filters["stars"] = [str(min_stars)]
    params: dict[str, object] = {"term": term, "limit": limit}
    if filters:
        params["filters"] = json.dumps(filters)
    try:
        with translate_errors(endpoint, target=term):
            # The SDK's search() has no filters argument; the endpoint has.
            headers = {"X-Registry-Auth": encode_header(auth)} if auth else {}
            timeout = settings.BERTH_SEARCH_TIMEOUT
            try:
                raw = sdk_private.get_json(client, "/images/search", params=params, headers=headers, timeout=timeout)
            except requests.exceptions.ReadTimeout as exc:
                # The engine took the request (the socket answered) but waits on the index:
                # the index is slow, not the engine, and the page must not hang for it.
                raise SearchUnavailable(
                    f"The image index ({_index_name(term)}) did not answer within {timeout} s. "
                    "Try again later or narrow the search."
                ) from exc
    except EngineError as exc:
        raise SearchUnavailable(_unavailable_message(term, exc.message)) from exc
    return [
        SearchHit(
            name=item.get("name", ""),
            description=item.get("description") or "",
            star_count=int(item.get("star_count") or 0),
            is_official=bool(item.get("is_official")),
            is_automated=bool(item.get("is_automated")),
        )
        for item in raw or ()
    ]


def _unavailable_message(term: str, engine_message: str) -> str:
    """Say in words why the index failed; the engine's own text follows for whoever debugs it."""
    index = _index_name(term)
    text = engine_message.lower()
    if "no such host" in text or "lookup " in text or "temporary failure in name resolution" in text:
        reason = "its name does not resolve: this machine may have no internet access"
    elif "connection refused" in text:
        reason = "the connection was refused: the index is down or not at that address"
    elif "timeout" in text or "deadline exceeded" in text or "i/o timeout" in text:
        reason = "it did not answer in time"
    elif "x509" in text or "certificate" in text or "tls" in text:
        reason = "its TLS certificate is not trusted by the engine"
    else:
        reason = "the engine could not get results from it"
    return f"The image index ({index}) is not answering: {reason}. The engine said: {engine_message}"


def _index_name(term: str) -> str:
    first, slash, _ = term.partition("/")
    return first if slash and ("." in first or ":" in first or first == "localhost") else "Docker Hub"
