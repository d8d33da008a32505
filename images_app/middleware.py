"""Cross-cutting request handling, one middleware per job: Berth errors as pages, read-only mode, security headers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import resolve
from django.utils.deprecation import MiddlewareMixin

from images_app.errors import BerthError, EngineUnavailable, ReadOnlyMode
from images_app.references import BadReference

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)

# POSTs that change nothing on any engine, allowed even in read-only mode.
_READ_ONLY_ALLOWED = {"login", "logout", "setup"}


def render_berth_error(request: HttpRequest, error: BerthError) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        # The JSON API's one error shape, also for what this middleware refuses (read-only mode).
        from images_app.api.errors import json_error

        return json_error(request, error)
    context = {"error": error, "title": error.title, "message": error.message}
    if isinstance(error, EngineUnavailable):
        context["endpoint"] = error.endpoint
        context["detail"] = error.detail
        template = "errors/engine_unavailable.html"
    else:
        template = "errors/berth_error.html"
    return render(request, template, context, status=error.http_status)


class EngineErrorMiddleware(MiddlewareMixin):
    """Any Berth error a view lets through becomes a clear page with its HTTP status.

    Sync-only on purpose, and last in MIDDLEWARE: Django then runs the whole middleware chain
    in one thread under ASGI. Were every middleware async-capable, each sync hook (session,
    CSRF, auth, messages...) would be a hop from the event loop to a thread and back:
    18 hops a page, a third of a list page's time (bench.load).
    """

    async_capable = False

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, BadReference):
            context = {"title": "Not a valid image reference", "message": exception.message}
            return render(request, "errors/berth_error.html", context, status=400)
        if isinstance(exception, DatabaseError):
            # Locked or unreachable database: the request changed nothing durable
            # (its transaction rolled back), so say so instead of a bare 500.
            logger.error("Database error on %s: %s", request.path, exception)
            context = {
                "title": "The database is busy or unavailable",
                "message": "Berth could not reach its database just now, so nothing was changed. "
                "Try again in a moment.",
            }
            return render(request, "errors/berth_error.html", context, status=503)
        if isinstance(exception, BerthError):
            if exception.http_status >= 500:
                logger.warning("%s on %s: %s", type(exception).__name__, request.path, exception.message)
            return render_berth_error(request, exception)
        return None


class ReadOnlyModeMiddleware(MiddlewareMixin):
    """BERTH_READ_ONLY=1: every request that could change something is refused (403) before any view runs."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if settings.BERTH_READ_ONLY and request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                url_name = resolve(request.path_info).url_name
            except Exception:  # noqa: BLE001  (unknown URL: let the 404 happen later)
                return None
            if url_name not in _READ_ONLY_ALLOWED:
                return render_berth_error(request, ReadOnlyMode())
        return None


class SecurityHeadersMiddleware(MiddlewareMixin):
    """The Content-Security-Policy (no inline script) and Permissions-Policy on every response."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response
