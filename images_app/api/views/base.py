"""What every API view shares: errors documented once, and small helpers for the pages' forms."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
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
    503: "The engine, a registry, Redis or the database is not answering.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses of an operation (401, 403, 429 and 503 apply to all of them)."""
    wanted = sorted(set(statuses) | {401, 403, 429, 503})
    return {status: OpenApiResponse(ErrorOut, description=_ERROR_TEXT[status]) for status in wanted}


def valid_form(form: Any) -> Any:
    """The bound form, validated; a 400 with the form's first error otherwise (the pages' message)."""
    if not form.is_valid():
        raise form_error(form)
    return form


class ApiView(APIView):
    """Base of Berth's API views (authentication, role check, throttling come from settings)."""
