"""Retention policies (admins): list them, preview one on an environment, run exactly that preview."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError, form_error, plan_changed_error
from images_app.api.permissions import require_perm
from images_app.api.schemas import PolicyIn, PolicyOut, PolicyPreviewOut, PolicyRunIn, PolicyRunOut
from images_app.api.views.base import ApiView, errors, id_parameter
from images_app.api.views.images import ENV
from images_app.environments import environment_get, environments_all
from images_app.forms.policies import RetentionPolicyForm
from images_app.models import Environment, RetentionPolicy
from images_app.selectors.policies import policies_all, policy_get
from images_app.services import removal
from images_app.services.retention import policy_environments, policy_preview, policy_run, policy_save

MANAGE = "images_app.manage_retention"
REFUSED = "Only admins define, preview and run retention policies."
PK = id_parameter("pk", "The policy's id.")


def _policy_on(pk: int, env: str) -> tuple[RetentionPolicy, Environment]:
    policy = policy_get(pk)
    environment = environment_get(env)
    if environment not in policy_environments(policy):
        raise ApiError(404, "not_found", f"Policy {policy.name} is not for {environment.name}.")
    return policy, environment


def _save(request: Request, policy: RetentionPolicy | None) -> RetentionPolicy:
    """Validate the body with the policy page's own form, then save through the same service (audited)."""
    body = PolicyIn(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    environments = environments_all()
    by_name = {e.name: e for e in environments}
    if data["environment"] is not None and data["environment"] not in by_name:
        raise ApiError(400, "invalid", f"No environment {data['environment']!r}.", field="environment")
    fields: dict[str, Any] = {
        "name": data["name"],
        "environment": by_name[data["environment"]].pk if data["environment"] is not None else "",
        "exclude_references": "\n".join(data["exclude_references"]),
        "exclude_labels": "\n".join(data["exclude_labels"]),
        "action": data["action"],
        "cron": data["cron"],
    }
    for name in ("unused_days", "keep_newest", "dangling_hours", "disk_budget_gb", "interval_minutes"):
        fields[name] = "" if data[name] is None else str(data[name])
    for name in ("enabled", "unknown_as_unused", "allow_force"):
        if data[name]:
            fields[name] = "on"  # a checkbox: absent is off
    form = RetentionPolicyForm(fields, instance=policy, environments=environments)
    if not form.is_valid():
        raise form_error(form)
    return policy_save(policy=form.save(commit=False), actor=request.user, request=request, created=policy is None)


class PolicyList(ApiView):
    @extend_schema(
        operation_id="policies_list",
        tags=["policies"],
        summary="Every retention policy (admins)",
        responses={200: PolicyOut(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        require_perm(request, MANAGE, REFUSED)
        return Response([present.policy(p) for p in policies_all()])

    @extend_schema(
        operation_id="policies_create",
        tags=["policies"],
        summary="Define a policy (admins; its owner is the caller; audited)",
        request=PolicyIn,
        responses={201: PolicyOut, **errors(400)},
    )
    def post(self, request: Request) -> Response:
        require_perm(request, MANAGE, REFUSED)
        return Response(present.policy(_save(request, None)), status=201)


class PolicyDetail(ApiView):
    @extend_schema(
        operation_id="policies_get",
        tags=["policies"],
        summary="One retention policy (admins)",
        parameters=[PK],
        responses={200: PolicyOut, **errors(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        require_perm(request, MANAGE, REFUSED)
        return Response(present.policy(policy_get(pk)))

    @extend_schema(
        operation_id="policies_update",
        tags=["policies"],
        summary="Change a policy: the whole policy, as for create (admins; audited)",
        parameters=[PK],
        request=PolicyIn,
        responses={200: PolicyOut, **errors(400, 404)},
    )
    def put(self, request: Request, pk: int) -> Response:
        require_perm(request, MANAGE, REFUSED)
        return Response(present.policy(_save(request, policy_get(pk))))


class PolicyPreview(ApiView):
    @extend_schema(
        operation_id="policies_preview",
        tags=["policies"],
        summary="What the policy would do on this engine now: every image's verdict, the bytes freed, a snapshot",
        parameters=[PK, ENV],
        responses={200: PolicyPreviewOut, **errors(404)},
    )
    def get(self, request: Request, pk: int, env: str) -> Response:
        require_perm(request, MANAGE, REFUSED)
        policy, environment = _policy_on(pk, env)
        return Response(present.policy_preview(policy_preview(policy, environment)))


class PolicyRun(ApiView):
    @extend_schema(
        operation_id="policies_run",
        tags=["policies"],
        summary="Run exactly a preview's snapshot: a removal request (ask) or the removal (apply); 409 if it drifted",
        parameters=[PK, ENV],
        request=PolicyRunIn,
        responses={200: PolicyRunOut, **errors(400, 404, 409)},
    )
    def post(self, request: Request, pk: int, env: str) -> Response:
        require_perm(request, MANAGE, REFUSED)
        policy, environment = _policy_on(pk, env)
        form = PolicyRunIn(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            snapshot = removal.items_from_json([dict(item) for item in form.validated_data["snapshot"]])
        except ValueError as exc:
            raise ApiError(400, "invalid", f"The snapshot is not a preview's: {exc}.", field="snapshot") from exc
        try:
            run = policy_run(
                policy=policy,
                environment=environment,
                snapshot=snapshot,
                trigger="run_now",
                user=request.user,
                request=request,
            )
        except removal.PlanChanged as exc:
            raise plan_changed_error(exc.changes) from exc
        except PermissionError as exc:
            raise ApiError(403, "permission_denied", str(exc)) from exc
        return Response(
            {
                "message": run.message,
                "request": run.cleanup_request.pk if run.cleanup_request is not None else None,
                "removal_job": run.removal_job.pk if run.removal_job is not None else None,
            }
        )
