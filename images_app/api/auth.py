"""Who is calling: a per-user token (Authorization: Bearer berth_...), or a browser session with CSRF."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from images_app.services.audit import API_MARK_ATTRIBUTE
from images_app.services.tokens import token_authenticate

_SCHEMES = ("bearer", "token")


class TokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`. The request then acts as the token's owner, with their role."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() not in _SCHEMES:
            return None
        raw = raw.strip()
        token = token_authenticate(raw=raw, request=request._request) if raw else None
        if token is None:
            raise AuthenticationFailed("The API token is unknown, expired or revoked.")
        setattr(
            request._request,
            API_MARK_ATTRIBUTE,
            {"via": "api", "api_token": f"{token.name} ({token.prefix})"},
        )
        request._request.berth_api_token = token
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes unauthenticated requests 401 with a challenge, not 403.
        return 'Bearer realm="berth"'


class CsrfSessionAuthentication(SessionAuthentication):
    """The browser session of a logged-in person (the docs page tries requests with it).

    DRF's SessionAuthentication enforces Django's CSRF check on every unsafe method: a cookie
    alone never changes anything through the API.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            setattr(request._request, API_MARK_ATTRIBUTE, {"via": "api", "api_token": ""})
        return result


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the schema documents the token (drf-spectacular finds extensions when this module loads)."""

    target_class = TokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A Berth API token (the Tokens page)."}


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = CsrfSessionAuthentication
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A logged-in browser session; unsafe methods also need the CSRF token (X-CSRFToken).",
        }
