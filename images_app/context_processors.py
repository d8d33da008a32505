from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest

from images_app.roles import request_role

# Which navigation link a page belongs to, by the start of its url name.
_NAV_SECTIONS = (
    ("env_home", "dashboard"),
    ("image_", "images"),
    ("removal_", "images"),
    ("pull_", "pulls"),
    ("search", "search"),
    ("request_", "requests"),
    ("audit_", "history"),
    ("registry_", "registries"),
    ("user_", "users"),
    ("notification_", "notifications"),
    ("token_", "tokens"),
)


def nav_section(url_name: str | None) -> str:
    """The nav link to mark as the current page ("" when none fits)."""
    for prefix, section in _NAV_SECTIONS:
        if url_name and url_name.startswith(prefix):
            return section
    return ""


def berth(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    current = (match.kwargs.get("env") if match else None) or settings.BERTH_DEFAULT_ENVIRONMENT
    context = {
        "nav_section": nav_section(match.url_name if match else None),
        "berth_sandbox": settings.BERTH_SANDBOX,
        "berth_read_only": settings.BERTH_READ_ONLY,
        "current_env": current,
        "user_role": None,
        "pending_approvals": 0,
    }
    user = getattr(request, "user", None)
    try:
        context["user_role"] = request_role(user) if user is not None else None
        if user is not None and user.is_authenticated and user.has_perm("images_app.approve_cleanup"):
            from images_app.models import CleanupRequest

            context["pending_approvals"] = CleanupRequest.objects.filter(CleanupRequest.awaiting_decision()).count()
    except DatabaseError:
        # The error page for a busy database must still render.
        pass
    return context
