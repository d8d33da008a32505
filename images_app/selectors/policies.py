"""Reading retention policies (the pages and the API)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from images_app.models import RetentionPolicy


def policies_all() -> list[RetentionPolicy]:
    return list(RetentionPolicy.objects.select_related("environment", "owner"))


def policy_get(pk: int) -> RetentionPolicy:
    """One policy with its environment and owner; Http404 when there is none."""
    return get_object_or_404(RetentionPolicy.objects.select_related("owner", "environment"), pk=pk)
