"""Reads of cleanup requests: the requests pages and the other pages that list a user's requests."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

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


def _with_people() -> QuerySet[CleanupRequest]:
    return CleanupRequest.objects.select_related("environment", "requested_by", "decided_by")


def requests_for_list(user: Any) -> dict[str, list[CleanupRequest]]:
    """Requests awaiting a decision first (the admins' queue, oldest first), the user's own others, recent ones.

    Overdue requests are not awaiting anyone: the scheduled expiry records them (pages only read).
    """
    waiting = CleanupRequest.awaiting_decision()
    return {
        "pending": list(_with_people().filter(waiting).order_by("created_at")),
        "mine": list(_with_people().filter(requested_by=user).exclude(waiting)[:50]),
        "recent": list(_with_people().exclude(waiting).exclude(requested_by=user)[:50]),
    }


def request_get(pk: int) -> CleanupRequest:
    """One request with its environment and people; Http404 when there is none."""
    return get_object_or_404(_with_people(), pk=pk)
