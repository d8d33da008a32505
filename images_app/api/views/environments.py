"""Environments (named engines) and who is calling."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api.schemas import EnvironmentOut, MeOut
from images_app.api.views.base import ApiView, errors
from images_app.environments import environments_all
from images_app.roles import request_role


class EnvironmentList(ApiView):
    @extend_schema(
        operation_id="environments_list",
        tags=["environments"],
        summary="The configured engines",
        responses={200: EnvironmentOut(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        default = settings.BERTH_DEFAULT_ENVIRONMENT
        body = [
            {"name": e.name, "is_default": e.name == default, "is_sandbox": e.is_sandbox}
            for e in sorted(environments_all(), key=lambda e: (e.name != default, e.name))
        ]
        return Response(body)


class Me(ApiView):
    @extend_schema(
        operation_id="me",
        tags=["account"],
        summary="Who this token (or session) is: username, role, permissions",
        responses={200: MeOut, **errors()},
    )
    def get(self, request: Request) -> Response:
        token = request.auth if hasattr(request.auth, "prefix") else None
        return Response(
            {
                "username": request.user.get_username(),
                "role": request_role(request.user) or "",
                "permissions": sorted(request.user.get_all_permissions()),
                "token": token.name if token is not None else None,
            }
        )
