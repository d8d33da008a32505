"""Removing images: the confirmation pages, the POST that acts (or asks), and job progress."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from images_app.environments import environment_get
from images_app.models import Environment, RemovalJob
from images_app.models.cleanup import RemovalKind
from images_app.removal_report import report_messages
from images_app.roles import AuthenticatedRequest, removal_mode, require_role
from images_app.selectors.audit import audit_events_for, history_url
from images_app.selectors.removal import removal_job_get
from images_app.services import removal
from images_app.services.removal_submit import NOTHING, REMOVED, REQUESTED, SubmitRefused, removal_submit

# More references than any list page sends at once; beyond it the request is refused.
MAX_REFS = 2000

CLEANUP_TITLES: dict[str, str] = {
    RemovalKind.REMOVE: "Remove images",
    RemovalKind.PRUNE_DANGLING: "Remove dangling images",
    RemovalKind.REMOVE_UNUSED: "Remove all unused images",
    RemovalKind.REMOVE_ALL: "Remove every image",
}


def _mode(user: Any, kind: str) -> str:
    """'remove' for admins, 'request' for operators; PermissionDenied (403) for everyone else."""
    return removal_mode(user, kind)


def _refs(request: AuthenticatedRequest) -> list[str]:
    source = request.POST if request.method == "POST" else request.GET
    refs = [r.strip() for r in source.getlist("ref") if r.strip()]
    if len(refs) > MAX_REFS:
        raise _BadForm(f"At most {MAX_REFS} images at once.")
    return refs


class _BadForm(Exception):
    pass


def _render_confirm(
    request: AuthenticatedRequest,
    environment: Environment,
    plan: removal.RemovalPlan,
    *,
    mode: str,
    refs: list[str],
    status: int = 200,
    changes: list[str] | None = None,
    error: str = "",
    reason: str = "",
) -> HttpResponse:
    snapshot = removal.items_to_json(plan.snapshot(force=plan.kind != RemovalKind.REMOVE))
    context = {
        "environment": environment,
        "plan": plan,
        "kind": plan.kind,
        # An operator's confirmation sends a request: the title says so.
        "title": ("Request: " if mode == "request" else "") + CLEANUP_TITLES.get(plan.kind, "Remove images"),
        "mode": mode,
        "refs": refs,
        "snapshot_json": json.dumps(snapshot),
        "changes": changes or [],
        "error": error,
        "reason": reason,
        "action_url": request.path + (("?" + request.GET.urlencode()) if request.GET else ""),
    }
    return render(request, "removal/confirm.html", context, status=status)


def _parse_snapshot(text: str) -> list[removal.FrozenItem]:
    try:
        data = json.loads(text)
        if not isinstance(data, list) or len(data) > MAX_REFS:
            raise ValueError("not a list of items")
        return removal.items_from_json(data)
    except (TypeError, ValueError):
        raise _BadForm("The confirmation form is damaged; open the page again.") from None


def _act(
    request: AuthenticatedRequest,
    environment: Environment,
    *,
    mode: str,
    kind: str,
    refs: list[str],
    page_plan: Callable[[], removal.RemovalPlan],
) -> HttpResponse:
    snapshot = _parse_snapshot(request.POST.get("snapshot", ""))
    reason = request.POST.get("reason", "").strip()
    try:
        done = removal_submit(
            environment=environment,
            actor=request.user,
            mode=mode,
            kind=kind,
            refs=refs,
            snapshot=snapshot,
            force=request.POST.get("force") == "on",
            reason=reason,
            confirm_name=request.POST.get("confirm_name", ""),
            request=request,
        )
    except removal.PlanChanged as exc:
        return _render_confirm(
            request, environment, page_plan(), mode=mode, refs=refs, status=409, changes=exc.changes, reason=reason
        )
    except removal.ForceRequired as exc:
        names = ", ".join(i.reference if not i.by_id else i.short_id for i in exc.items)
        return _render_confirm(
            request,
            environment,
            page_plan(),
            mode=mode,
            refs=refs,
            status=400,
            error=f"Removing {names} needs force. Tick the force option to go ahead, or go back.",
            reason=reason,
        )
    except SubmitRefused as exc:
        return _render_confirm(
            request, environment, page_plan(), mode=mode, refs=refs, status=400, error=exc.message, reason=reason
        )
    if done.outcome == NOTHING:
        if done.gone:
            messages.warning(request, "Nothing was removed: " + " ".join(done.gone))
        else:
            messages.info(request, "Nothing to remove.")
        return redirect("image_list", env=environment.name)
    if done.outcome == REQUESTED and done.cleanup_request is not None:
        messages.success(
            request, f"Request #{done.cleanup_request.pk} sent: an admin will review it. Nothing has been removed yet."
        )
        return redirect("request_detail", pk=done.cleanup_request.pk)
    if done.outcome == REMOVED and done.job is not None:
        report_messages(request, removal.results_from_json(done.job.results))
        return redirect("image_list", env=environment.name)
    assert done.job is not None  # QUEUED always carries its job
    messages.info(request, f"Removing {len(done.items)} images: follow the progress below.")
    return redirect("removal_job_detail", env=environment.name, pk=done.job.pk)


@require_http_methods(["GET", "POST"])
def image_remove_confirm(request: AuthenticatedRequest, env: str) -> HttpResponse:
    """Confirm removing the given references (`?ref=repo:tag&ref=<image id>`), then remove or request."""
    environment = environment_get(env)
    mode = _mode(request.user, RemovalKind.REMOVE)
    try:
        refs = _refs(request)
        if not refs:
            raise _BadForm("Choose at least one image to remove.")

        def page_plan() -> removal.RemovalPlan:
            return removal.removal_plan(environment=environment, refs=refs, sizes=True, layers=True)

        if request.method == "GET":
            return _render_confirm(request, environment, page_plan(), mode=mode, refs=refs)
        return _act(
            request,
            environment,
            mode=mode,
            kind=RemovalKind.REMOVE,
            refs=refs,
            page_plan=page_plan,
        )
    except _BadForm as exc:
        return render(request, "errors/berth_error.html", {"title": "Cannot remove", "message": str(exc)}, status=400)


@require_http_methods(["GET", "POST"])
def image_cleanup_confirm(request: AuthenticatedRequest, env: str, kind: str) -> HttpResponse:
    """Prune dangling / remove unused / remove every image: a preview of exactly which, then act."""
    environment = environment_get(env)
    mode = _mode(request.user, kind)

    def page_plan() -> removal.RemovalPlan:
        return removal.cleanup_plan(environment=environment, kind=kind, sizes=True)

    try:
        if request.method == "GET":
            return _render_confirm(request, environment, page_plan(), mode=mode, refs=[])
        return _act(request, environment, mode=mode, kind=kind, refs=[], page_plan=page_plan)
    except _BadForm as exc:
        return render(request, "errors/berth_error.html", {"title": "Cannot remove", "message": str(exc)}, status=400)


@require_GET
def removal_job_detail(request: AuthenticatedRequest, env: str, pk: int) -> HttpResponse:
    """Progress of a removal job: done/total and each item's result; refreshes itself while running."""
    environment = environment_get(env)
    require_role(request.user)
    job = removal_job_get(pk)
    if job.environment_id != environment.pk:
        return redirect(reverse("removal_job_detail", kwargs={"env": job.environment.name, "pk": job.pk}))
    running = job.status in (RemovalJob.Status.QUEUED, RemovalJob.Status.RUNNING)
    context = {
        "environment": environment,
        "job": job,
        "total": len(job.items),
        "running": running,
        "summary": removal.results_summary(removal.results_from_json(job.results)),
        "title": CLEANUP_TITLES.get(job.kind, "Removal"),
        "audit_events": audit_events_for(removal_job=job, cleanup_request=job.cleanup_request_id),
        "audit_all_url": history_url(removal_job=job.pk),
    }
    return render(request, "removal/job.html", context)
