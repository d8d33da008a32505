"""The audit history: list with filters, one event, and exports of what the filter shows."""

from __future__ import annotations

from collections.abc import Hashable

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from images_app.audit_export import async_chunks, csv_chunks, export_rows, jsonl_chunks
from images_app.environments import configured_environments
from images_app.forms.audit import AuditFilterForm
from images_app.kept_pages import Drawn, PageDraft, kept_page, kept_part, page_key, part_key
from images_app.selectors.audit import (
    AuditFilters,
    audit_count,
    audit_event_get,
    audit_events_filtered,
    audit_page,
)
from images_app.selectors.stamps import records_stamp
from images_app.services.audit import KNOWN_ACTIONS, audit_export_start

EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv", csv_chunks),
    "jsonl": ("application/x-ndjson; charset=utf-8", "jsonl", jsonl_chunks),
}


def _cursor(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**63 else None


def _filter_query(request: HttpRequest) -> str:
    """The current filters as a query string, without the page cursors."""
    query = request.GET.copy()
    for name in ("before", "after"):
        query.pop(name, None)
    return query.urlencode()


@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """Every logged-in role may read the history (viewers "see everything")."""
    form = AuditFilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    filter_query = _filter_query(request)
    environment_names = [name for name, _ in configured_environments()]
    context: dict[str, object] = {
        "form": form,
        "valid": valid,
        "filter_query": filter_query,
        "known_actions": KNOWN_ACTIONS,
        "environment_names": environment_names,
    }
    if not valid:
        return render(request, "audit/list.html", context, status=400)
    key = part_key(
        "history-events",
        lambda: (records_stamp().history,),
        request.GET.urlencode(),
        request.user,
        shows_ages=False,
    )

    def shown() -> tuple[Hashable, ...] | None:
        # The filter form shows the query string (in the page's key) and the environments' names.
        return None if key is None else (key, tuple(environment_names))

    def draft() -> PageDraft:
        context["events"] = kept_part(key, lambda: _draw_events(request, form, filter_query))
        return PageDraft("audit/list.html", context)

    # The whole page is kept too, while all it shows is unchanged (kept_pages).
    return kept_page(request, page_key("history-page", shown, request), draft)


def _draw_events(request: HttpRequest, form: AuditFilterForm, filter_query: str) -> Drawn:
    """The count, one page of events and the links to the next ones (kept while no event is written)."""
    filters = form.filters() if request.GET else AuditFilters()
    qs = audit_events_filtered(filters)
    page = audit_page(
        qs, before=_cursor(request, "before"), after=_cursor(request, "after"), size=settings.BERTH_PAGE_SIZE
    )
    count, capped = audit_count(qs)
    context = {"page": page, "count": count, "count_capped": capped, "filter_query": filter_query}
    return Drawn(render_to_string("audit/_list_events.html", context, request), keep=True)


@require_GET
def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = audit_event_get(pk)
    return render(request, "audit/detail.html", {"event": event})


@require_GET
@permission_required("images_app.export_auditevent", raise_exception=True)
def audit_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """Stream the filtered history as CSV or JSON Lines; the export itself is an audit event."""
    if fmt not in EXPORT_FORMATS:
        raise Http404("Unknown export format")
    form = AuditFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "audit/list.html", {"form": form, "page": None}, status=400)
    filters = form.filters() if request.GET else AuditFilters()
    last_id = audit_export_start(request=request, fmt=fmt, filters=filters.as_parameters())
    content_type, extension, render_chunks = EXPORT_FORMATS[fmt]
    chunks = render_chunks(export_rows(audit_events_filtered(filters).filter(id__lte=last_id)))
    content = async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="berth-audit-{stamp}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response
