"""Cleanup requests: the queue, one request next to what it would do now, approve and reject."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from images_app.errors import BerthError
from images_app.removal_report import report_messages
from images_app.roles import AuthenticatedRequest, require_role
from images_app.selectors.audit import audit_events_for, history_url
from images_app.selectors.cleanup_requests import request_get, requests_for_list
from images_app.services import removal
from images_app.services.cleanup_requests import (
    RequestNotPending,
    cleanup_request_approve,
    cleanup_request_reject,
    may_approve,
    request_changes_now,
)


@require_GET
def request_list(request: AuthenticatedRequest) -> HttpResponse:
    """Pending requests first (the admins' queue), then the user's own, then recent decisions."""
    require_role(request.user)
    # Read only: overdue requests are expired by the scheduled task; until then they are not shown as waiting.
    return render(request, "requests/list.html", requests_for_list(request.user))


@require_GET
def request_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    require_role(request.user)
    cleanup_request = request_get(pk)
    rows, engine_error = None, ""
    if cleanup_request.is_awaiting_decision:
        try:
            rows = request_changes_now(cleanup_request=cleanup_request)
        except BerthError as exc:
            # The request stays readable when the engine is down; approving would fail anyway.
            engine_error = exc.message
    job = getattr(cleanup_request, "removal_job", None)
    context = {
        "req": cleanup_request,
        "rows": rows,
        "engine_error": engine_error,
        "drifted": any(row.changes for row in rows or []),
        "can_decide": request.user.has_perm("images_app.approve_cleanup") and cleanup_request.is_awaiting_decision,
        "may_approve": may_approve(cleanup_request=cleanup_request, user=request.user),
        "job": job,
        "summary": removal.results_summary(
            removal.results_from_json(cleanup_request.results or (job.results if job else []))
        ),
        "results": cleanup_request.results or (job.results if job else []),
        "audit_events": audit_events_for(cleanup_request=cleanup_request, removal_job=job),
        "audit_all_url": history_url(cleanup_request=cleanup_request.pk),
    }
    return render(request, "requests/detail.html", context)


@require_POST
@permission_required("images_app.approve_cleanup", raise_exception=True)
def request_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    cleanup_request = request_get(pk)
    try:
        job = cleanup_request_approve(cleanup_request=cleanup_request, actor=request.user, request=request)
    except RequestNotPending as exc:
        messages.warning(request, f"Nothing done: {exc}")
        return redirect("request_detail", pk=pk)
    if removal.removal_job_start(job=job, request=request):
        messages.success(request, f"Request #{pk} approved and executed.")
        report_messages(request, removal.results_from_json(job.results))
        return redirect("request_detail", pk=pk)
    messages.success(request, f"Request #{pk} approved: {len(job.items)} images are being removed.")
    return redirect("removal_job_detail", env=cleanup_request.environment.name, pk=job.pk)


@require_POST
@permission_required("images_app.approve_cleanup", raise_exception=True)
def request_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    cleanup_request = request_get(pk)
    note = request.POST.get("note", "").strip()
    if not note:
        messages.error(request, "Say why you reject the request.")
        return redirect("request_detail", pk=pk)
    try:
        cleanup_request_reject(cleanup_request=cleanup_request, actor=request.user, note=note, request=request)
    except RequestNotPending as exc:
        messages.warning(request, f"Nothing done: {exc}")
        return redirect("request_detail", pk=pk)
    messages.success(request, f"Request #{pk} rejected.")
    return redirect("request_detail", pk=pk)
