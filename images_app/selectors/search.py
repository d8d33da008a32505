"""Searching an image index through the engine, with a short cache per question."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from images_app import engine
from images_app.engine import Endpoint, SearchHit
from images_app.models import Registry
from images_app.references import BadReference, parse_reference
from images_app.selectors.registries import registry_auth

_CACHE_PREFIX = "berth:search:v1:"


@dataclass(frozen=True)
class SearchQuery:
    term: str  # what to look for, without any index host
    index_host: str | None  # "localhost:5000"; None is Docker Hub
    registry_id: int | None  # the registered registry that index belongs to
    official_only: bool = False
    min_stars: int = 0
    limit: int = 25

    @property
    def engine_term(self) -> str:
        # The engine picks the index from the term, as `docker search host:port/term` does.
        return f"{self.index_host}/{self.term}" if self.index_host else self.term

    @property
    def index_name(self) -> str:
        return self.index_host or "Docker Hub"


@dataclass(frozen=True)
class SearchRow:
    hit: SearchHit
    pull_reference: str | None  # None when the index sent a name no engine could pull


@dataclass(frozen=True)
class SearchResults:
    query: SearchQuery
    rows: list[SearchRow]
    fetched_at: datetime
    from_cache: bool
    cache_seconds: int


def _cache_key(environment: Endpoint, query: SearchQuery) -> str:
    parts = [environment.name, query.engine_term, query.official_only, query.min_stars, query.limit]
    return _CACHE_PREFIX + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _pull_reference(hit: SearchHit, query: SearchQuery) -> str | None:
    """The reference that pulls this result: names from a private index get its host in front."""
    name = hit.name
    if query.index_host and not name.lower().startswith(query.index_host.lower() + "/"):
        name = f"{query.index_host}/{name}"
    try:
        # The index is untrusted: only offer a pull for a name the engine would accept.
        return str(parse_reference(name, default_tag=False).repository)
    except BadReference:
        return None


def _index_auth(query: SearchQuery) -> dict[str, str] | None:
    """The registered registry's credentials, for indexes that want them (Nexus, Artifactory)."""
    if query.registry_id is None:
        return None
    registry = Registry.objects.filter(pk=query.registry_id).first()
    return registry_auth(registry)


def search_images(*, environment: Endpoint, query: SearchQuery, refresh: bool = False) -> SearchResults:
    """Ask the engine's index (or the cache); raises SearchUnavailable when the index does not answer."""
    seconds = settings.BERTH_SEARCH_CACHE_SECONDS
    key = _cache_key(environment, query)
    cached = cache.get(key) if seconds and not refresh else None
    if cached is not None:
        hits, fetched_at = cached
        from_cache = True
    else:
        hits = engine.search_index(
            environment,
            query.engine_term,
            limit=query.limit,
            official_only=query.official_only,
            min_stars=query.min_stars,
            auth=_index_auth(query),
        )
        fetched_at = timezone.now()
        from_cache = False
        if seconds:
            # Failures are not cached: the next try should ask the index again.
            cache.set(key, (hits, fetched_at), seconds)
    rows = [SearchRow(hit=hit, pull_reference=_pull_reference(hit, query)) for hit in hits]
    return SearchResults(query=query, rows=rows, fetched_at=fetched_at, from_cache=from_cache, cache_seconds=seconds)
