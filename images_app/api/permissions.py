"""Who may call the API at all: a signed-in person (token or session) whose account has a role."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from images_app.roles import request_role


class HasRole(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated("Send an API token: Authorization: Bearer <token>.")
        if request_role(request.user) is None:
            raise PermissionDenied("Your account has no role yet.")
        return True


def require_perm(request: Request, permission: str, message: str) -> None:
    """403 unless the caller's role grants `permission` (checked on the server, as on the pages)."""
    if not request.user.has_perm(permission):
        raise PermissionDenied(message)
