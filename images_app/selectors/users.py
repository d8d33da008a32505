"""Reads for the users pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404

from images_app.roles import ADMIN, ROLES


@dataclass
class UserRow:
    user: Any
    role: str | None


def users_for_list() -> list[UserRow]:
    """Every user (active first, then by name) with their highest role, in two queries."""
    users = get_user_model().objects.prefetch_related("groups").order_by("-is_active", "username")
    rows = []
    for user in users:
        names = {group.name for group in user.groups.all()}
        role = ADMIN if user.is_superuser else next((r for r in reversed(ROLES) if r in names), None)
        rows.append(UserRow(user, role))
    return rows


def user_or_none(pk: int | None) -> Any:
    """The user with this primary key, or None (no key, or the user is gone)."""
    return get_user_model().objects.filter(pk=pk).first() if pk else None


def user_get(pk: int) -> Any:
    user = get_user_model().objects.filter(pk=pk).first()
    if user is None:
        raise Http404("No such user")
    return user


def users_exist() -> bool:
    """Whether anyone has an account yet (the first-run setup page exists only while nobody has)."""
    return get_user_model().objects.exists()


def user_by_username(username: str) -> Any:
    """The user with that name, or None."""
    return get_user_model().objects.filter(username=username).first()
