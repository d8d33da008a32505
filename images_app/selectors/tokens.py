"""What the tokens page lists: your own tokens, and for admins everybody's."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from images_app.models import ApiToken
from images_app.models.tokens import MANAGE_TOKENS


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).select_related("user", "revoked_by")


def tokens_of_others(user: Any) -> QuerySet[ApiToken] | None:
    """Everybody else's tokens for those who manage users (admins); None for everyone else."""
    if not user.has_perm(MANAGE_TOKENS):
        return None
    return ApiToken.objects.exclude(user=user).select_related("user", "revoked_by")
