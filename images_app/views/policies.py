"""Retention policies: admins (manage_retention) define them, preview them on an environment and run them."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from images_app.environments import environment_get, environments_all
from images_app.forms.policies import RetentionPolicyForm
from images_app.models import RetentionPolicy
from images_app.selectors.policies import policies_all, policy_get
from images_app.services import removal
from images_app.services.retention import policy_environments, policy_preview, policy_run, policy_save

MANAGE = "images_app.manage_retention"
MAX_ITEMS = 20_000


def _require_policy_admin(request: HttpRequest) -> None:
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied("Only admins define, preview and run retention policies.")


@require_safe
def policy_list(request: HttpRequest) -> HttpResponse:
    _require_policy_admin(request)
    policies = policies_all()
    environments = environments_all()
    rows = [(p, [p.environment] if p.environment_id else environments) for p in policies]
    return render(request, "policies/list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_policy_admin(request)
    policy = get_object_or_404(RetentionPolicy, pk=pk) if pk is not None else None
    form = RetentionPolicyForm(request.POST or None, instance=policy, environments=environments_all())
    if request.method == "POST" and form.is_valid():
        saved = policy_save(policy=form.save(commit=False), actor=request.user, request=request, created=policy is None)
        messages.success(request, f"Policy {saved.name} saved. Preview it before it runs.")
        return redirect("policy_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "policies/form.html", {"form": form, "policy": policy}, status=status)


def _parse_snapshot(text: str) -> list[removal.FrozenItem] | None:
    """The previewed plan as posted back, or None when it is not one (damaged or forged)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, list) or len(data) > MAX_ITEMS:
        return None
    try:
        return removal.items_from_json(data)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


@require_http_methods(["GET", "POST"])
def policy_preview_view(request: HttpRequest, pk: int, env: str) -> HttpResponse:
    """GET: the preview. POST: run exactly the previewed plan (or say what changed since)."""
    _require_policy_admin(request)
    policy = policy_get(pk)
    environment = environment_get(env)
    if environment not in policy_environments(policy):
        raise PermissionDenied(f"Policy {policy.name} is not for {environment.name}.")
    changes: list[str] = []
    status = 200
    if request.method == "POST":
        snapshot = _parse_snapshot(request.POST.get("snapshot", ""))
        if snapshot is None:
            changes = ["The preview form is damaged; open the preview again."]
            status = 400
        else:
            try:
                run = policy_run(
                    policy=policy, environment=environment, snapshot=snapshot, trigger="run_now", user=request.user,
                    request=request,
                )  # fmt: skip
            except removal.PlanChanged as exc:
                changes, status = exc.changes, 409
            except PermissionError as exc:
                raise PermissionDenied(str(exc)) from exc
            else:
                messages.success(request, f"Policy {policy.name} ran: {run.message}")
                if run.cleanup_request is not None:
                    return redirect("request_detail", pk=run.cleanup_request.pk)
                if run.removal_job is not None:
                    job = run.removal_job
                    if removal.removal_job_should_inline(run.items):
                        removal.removal_job_run(job_id=job.pk, request=request)
                    else:
                        removal.removal_job_enqueue(job)
                    return redirect("removal_job_detail", env=environment.name, pk=job.pk)
                return redirect("policy_list")
    preview = policy_preview(policy, environment)
    context = {
        "policy": policy,
        "environment": environment,
        "preview": preview,
        "snapshot_json": json.dumps(removal.items_to_json(preview.snapshot())),
        "changes": changes,
    }
    return render(request, "policies/preview.html", context, status=status)
