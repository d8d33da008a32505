"""Reads of cleanup requests for pages other than the requests area's own."""

from __future__ import annotations

from typing import Any

from images_app.models import CleanupRequest


def requests_of(user: Any, *, limit: int = 5) -> list[CleanupRequest]:
    """The user's newest requests, pending or decided: where requesters see the outcome of theirs."""
    if not user.is_authenticated:
        return []
    return list(
        CleanupRequest.objects.filter(requested_by=user)
        .select_related("environment", "decided_by")
        .order_by("-created_at", "-id")[:limit]
    )
