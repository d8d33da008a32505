"""The audit history: the page's filters, keyset (cursor) paging, one event, and the export stream."""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError
from images_app.api.schemas import AuditEventOut, AuditPageOut, AuditQueryIn
from images_app.api.views.base import ApiView, errors, id_parameter, valid_form
from images_app.audit_export import async_chunks, csv_chunks, export_rows, jsonl_chunks
from images_app.forms.audit import AuditFilterForm
from images_app.models import AuditEvent
from images_app.selectors.audit import audit_count, audit_event_get, audit_events_filtered, audit_page
from images_app.services.audit import audit_record

_MAX_PK = 2**63 - 1
EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", csv_chunks),
    "jsonl": ("application/x-ndjson; charset=utf-8", jsonl_chunks),
}


def _cursor(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) <= _MAX_PK:
        raise ApiError(400, "invalid", f"{name} is an event id (a positive whole number).", field=name)
    return int(value)


def _filters(request: Request):
    params = request.query_params.copy()
    for name in ("before", "after"):
        params.pop(name, None)
    return valid_form(AuditFilterForm(params)).filters()


class AuditList(ApiView):
    @extend_schema(
        operation_id="audit_events_list",
        tags=["audit"],
        summary="The history: filters and cursor paging",
        parameters=[AuditQueryIn],
        responses={200: AuditPageOut, **errors(400)},
    )
    def get(self, request: Request) -> Response:
        filters = _filters(request)
        qs = audit_events_filtered(filters)
        page = audit_page(
            qs, before=_cursor(request, "before"), after=_cursor(request, "after"), size=settings.BERTH_PAGE_SIZE
        )
        count, capped = audit_count(qs)
        return Response(
            {
                "results": [present.audit_event(e) for e in page.events],
                "older": page.older,
                "newer": page.newer,
                "count": count,
                "count_capped": capped,
            }
        )


class AuditDetail(ApiView):
    @extend_schema(
        operation_id="audit_events_retrieve",
        tags=["audit"],
        summary="One audit event",
        parameters=[id_parameter("pk", "Event id")],
        responses={200: AuditEventOut, **errors(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(present.audit_event(audit_event_get(pk)))


class _ExportRenderer(BaseRenderer):
    charset = "utf-8"

    def render(self, data: object, accepted_media_type: str | None = None, renderer_context: object = None) -> bytes:
        import json

        return json.dumps(data).encode()


class CsvRenderer(_ExportRenderer):
    media_type = "text/csv"
    format = "csv"


class JsonLinesRenderer(_ExportRenderer):
    media_type = "application/x-ndjson"
    format = "jsonl"


class AuditExport(ApiView):
    renderer_classes = [JSONRenderer, CsvRenderer, JsonLinesRenderer]

    @extend_schema(
        operation_id="audit_events_export",
        tags=["audit"],
        summary="Export the filtered history as CSV or JSON Lines (admins)",
        parameters=[
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(EXPORT_FORMATS), description="csv or jsonl"),
            AuditQueryIn(partial=True),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Every filtered event (admins)."),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One JSON event a line."),
            **errors(400, 404),
        },
    )
    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        if fmt not in EXPORT_FORMATS:
            raise ApiError(404, "not_found", "Unknown export format: csv or jsonl.")
        if not request.user.has_perm("images_app.export_auditevent"):
            raise ApiError(403, "permission_denied", "Only admins export the history.")
        filters = _filters(request)
        # The export shows the history as it was when asked for, without its own event (as the page).
        last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        audit_record(
            action="audit_exported",
            outcome="success",
            request=request,
            parameters={"format": fmt, "filters": filters.as_parameters(), "up_to_event": last_id},
        )
        content_type, render_chunks = EXPORT_FORMATS[fmt]
        chunks = render_chunks(export_rows(audit_events_filtered(filters).filter(id__lte=last_id)))
        content = async_chunks(chunks) if isinstance(request._request, ASGIRequest) else chunks
        response = StreamingHttpResponse(content, content_type=content_type)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="berth-audit-{stamp}.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response
