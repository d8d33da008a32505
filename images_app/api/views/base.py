"""What every API view shares: errors documented once, and small helpers for the pages' forms."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.views import APIView

from images_app.api.errors import form_error
from images_app.api.schemas import ErrorOut

_ERROR_TEXT = {
    400: "Invalid input: `field` names it.",
    401: "No valid token (missing, unknown, expired or revoked).",
    403: "Your role may not do this (or Berth is read-only).",
    404: "Not found.",
    409: "The engine changed since the preview (`changes` says how), or the state forbids it.",
    429: "Too many requests for this token: wait `Retry-After` seconds.",
    502: "The engine or a registry refused the request in a way Berth cannot explain (its message says).",
    503: "The engine, a registry, Redis or the database is not answering.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses of an operation (401, 403, 429, 502 and 503 apply to all of them)."""
    wanted = sorted(set(statuses) | {401, 403, 429, 502, 503})
    return {status: OpenApiResponse(ErrorOut, description=_ERROR_TEXT[status]) for status in wanted}


def valid_form(form: Any) -> Any:
    """The bound form, validated; a 400 with the form's first error otherwise (the pages' message)."""
    if not form.is_valid():
        raise form_error(form)
    return form


# Base of Berth's API views: authentication, the role check and throttling come from settings
# (REST_FRAMEWORK). A comment, not a docstring: drf-spectacular would print a docstring as every
# operation's description.
class ApiView(APIView):
    pass


# Object ids in paths: at most 18 digits, so any id fits the database's 64-bit integer (a longer
# one would overflow SQLite's driver: a 500 instead of a 404). Longer ones match no route: 404.
MAX_ID = 10**18 - 1


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def id_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, {"type": "integer", "minimum": 0, "maximum": MAX_ID}, OpenApiParameter.PATH, description=description
    )
