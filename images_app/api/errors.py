"""Every API error is JSON of one shape: {"code", "message", "field"?, "errors"?, "changes"?}.

`code` is stable (scripts branch on it), `message` is for a person, `field` names the input a
form error is about. The HTTP status means what it means on the pages: engine, registry,
Redis or database down is 503; drift since a preview is 409.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from typing import Any

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from images_app.errors import BerthError, RegistryError
from images_app.references import BadReference

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error a view raises with its code, status and extra fields (field, errors, changes)."""

    def __init__(self, status_code: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message, code)
        self.status_code = status_code
        self.api_code = code
        self.message = message
        self.extra = {k: v for k, v in extra.items() if v is not None}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def form_error(form: Any) -> ApiError:
    """A 400 from a Django form's errors: the first message, its field, and every field's messages."""
    errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
    field, messages = next(iter(errors.items()), ("", ["Invalid input."]))
    return ApiError(
        400,
        "invalid",
        messages[0],
        field=None if field == "__all__" else field,
        errors={("non_field" if k == "__all__" else k): v for k, v in errors.items()},
    )


def plan_changed_error(changes: Iterable[str]) -> ApiError:
    """A 409 for a plan the engine moved away from since its preview (removal.PlanChanged): nothing was done."""
    return ApiError(
        409,
        "plan_changed",
        "The engine changed since the preview; nothing was done. Preview again.",
        changes=list(changes),
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def berth_error_code(error: BerthError) -> str:
    if isinstance(error, RegistryError):
        return f"registry_{error.kind}"
    return _snake(type(error).__name__)


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
}


def _messages(value: Any) -> list[str]:
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    return [str(value)]


def _drf_validation(exc: exceptions.ValidationError) -> Response:
    detail = exc.detail
    if isinstance(detail, dict):
        errors = {k: _messages(v) for k, v in detail.items()}
        field, messages = next(iter(errors.items()), ("", ["Invalid input."]))
        field_name = None if field in ("non_field_errors", "") else field
        message = messages[0] if messages else "Invalid input."
        return Response(error_body("invalid", message, field=field_name, errors=errors), status=400)
    messages = _messages(detail)
    return Response(error_body("invalid", messages[0] if messages else "Invalid input."), status=400)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error the API knows becomes the one JSON shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        return Response(error_body(exc.api_code, exc.message, **exc.extra), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        return _drf_validation(exc)
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", str(exc) or "Not found."), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("permission_denied", str(exc) or "Your role may not do this."), status=403)
    if isinstance(exc, BadReference):
        return Response(error_body("invalid", exc.message, field="reference"), status=400)
    if isinstance(exc, BerthError):
        if exc.http_status >= 500:
            logger.warning("%s on the API: %s", type(exc).__name__, exc.message)
        return Response(error_body(berth_error_code(exc), exc.message, title=exc.title), status=exc.http_status)
    if isinstance(exc, (redis.RedisError, OSError)) and not isinstance(exc, DatabaseError):
        logger.warning("Redis unavailable on the API: %s", exc)
        return Response(
            error_body("redis_unavailable", "Berth's job queue and progress store (Redis) is not answering."),
            status=503,
        )
    if isinstance(exc, DatabaseError):
        logger.error("Database error on the API: %s", exc)
        return Response(
            error_body(
                "database_unavailable",
                "Berth could not reach its database just now, so nothing was changed. Try again in a moment.",
            ),
            status=503,
        )
    return None


def json_error(request: HttpRequest, error: BerthError) -> JsonResponse:
    """For middleware answering an API request before any view (read-only mode)."""
    return JsonResponse(error_body(berth_error_code(error), error.message), status=error.http_status)
