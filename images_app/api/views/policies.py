"""Retention policies (admins): list them, preview one on an environment, run exactly that preview."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError
from images_app.api.permissions import require_perm
from images_app.api.schemas import PolicyOut, PolicyPreviewOut, PolicyRunIn, PolicyRunOut
from images_app.api.views.base import ApiView, errors, id_parameter
from images_app.api.views.images import ENV
from images_app.environments import environment_get
from images_app.models import Environment, RetentionPolicy
from images_app.selectors.policies import policies_all, policy_get
from images_app.services import removal
from images_app.services.retention import policy_environments, policy_preview, policy_run

MANAGE = "images_app.manage_retention"
REFUSED = "Only admins define, preview and run retention policies."
PK = id_parameter("pk", "The policy's id.")


def _policy_on(pk: int, env: str) -> tuple[RetentionPolicy, Environment]:
    policy = policy_get(pk)
    environment = environment_get(env)
    if environment not in policy_environments(policy):
        raise ApiError(404, "not_found", f"Policy {policy.name} is not for {environment.name}.")
    return policy, environment


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
            raise ApiError(
                409,
                "plan_changed",
                "The engine changed since the preview; nothing was done. Preview again.",
                changes=list(exc.changes),
            ) from exc
        except PermissionError as exc:
            raise ApiError(403, "permission_denied", str(exc)) from exc
        return Response(
            {
                "message": run.message,
                "request": run.cleanup_request.pk if run.cleanup_request is not None else None,
                "removal_job": run.removal_job.pk if run.removal_job is not None else None,
            }
        )
