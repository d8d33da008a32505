"""Removal: a preview (the confirmation page's plan and snapshot) and the removal of exactly that.

Admins remove; operators send the same confirmation as a request for an admin to approve.
The rules are the confirmation page's, in one place (roles.removal_mode, services.removal_submit):
who may, force only where the engine needs it, the environment's name for "remove every image",
a reason for a request, and a 409 with what changed when the engine moved since the preview.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError, plan_changed_error
from images_app.api.schemas import (
    RemovalCreateIn,
    RemovalJobOut,
    RemovalOutcomeOut,
    RemovalPreviewOut,
    RemovalPreviewQueryIn,
)
from images_app.api.views.base import ApiView, errors, id_parameter
from images_app.api.views.images import ENV
from images_app.environments import environment_get
from images_app.models import Environment, RemovalJob
from images_app.models.cleanup import RemovalKind
from images_app.roles import removal_mode
from images_app.services import removal
from images_app.services.removal_submit import QUEUED, REQUESTED, SubmitRefused, removal_submit


def _plan(environment: Environment, kind: str, refs: list[str], *, sizes: bool, layers: bool) -> removal.RemovalPlan:
    if kind == RemovalKind.REMOVE:
        return removal.removal_plan(environment=environment, refs=refs, sizes=sizes, layers=layers)
    return removal.cleanup_plan(environment=environment, kind=kind, sizes=sizes)


def _clean_refs(refs: list[str]) -> list[str]:
    return [r.strip() for r in refs if r and r.strip()]


class RemovalPreview(ApiView):
    @extend_schema(
        operation_id="removals_preview",
        tags=["removals"],
        summary="Preview a removal: the confirmation page's plan and its snapshot",
        parameters=[ENV, RemovalPreviewQueryIn],
        responses={200: RemovalPreviewOut, **errors(400, 404)},
    )
    def get(self, request: Request, env: str) -> Response:
        environment = environment_get(env)
        query = RemovalPreviewQueryIn(
            data={
                "kind": request.query_params.get("kind", RemovalKind.REMOVE),
                "ref": request.query_params.getlist("ref"),
            }
        )
        query.is_valid(raise_exception=True)
        kind = query.validated_data["kind"]
        mode = removal_mode(request.user, kind)
        refs = _clean_refs(query.validated_data.get("ref") or [])
        if kind == RemovalKind.REMOVE and not refs:
            raise ApiError(400, "invalid", "Choose at least one image to remove.", field="ref")
        plan = _plan(environment, kind, refs, sizes=True, layers=kind == RemovalKind.REMOVE)
        return Response(
            {
                "kind": kind,
                "mode": mode,
                "items": [present.plan_item(i) for i in plan.items],
                "excluded": [present.plan_item(i) for i in plan.excluded],
                "needs_force": plan.needs_force,
                "bytes_freed": plan.bytes_freed,
                "deleted_count": plan.deleted_count,
                # What the confirmation page embeds in its form: send it back to remove exactly this.
                "snapshot": [present.frozen_item(i) for i in plan.snapshot(force=kind != RemovalKind.REMOVE)],
            }
        )


class RemovalCreate(ApiView):
    @extend_schema(
        operation_id="removals_create",
        tags=["removals"],
        summary="Remove exactly the previewed plan (admins), or ask for it (operators)",
        parameters=[ENV],
        request=RemovalCreateIn,
        responses={
            200: OpenApiResponse(RemovalOutcomeOut, description="Removed in this request, or nothing to remove."),
            201: OpenApiResponse(RemovalOutcomeOut, description="A request for an admin to approve (operators)."),
            202: OpenApiResponse(RemovalOutcomeOut, description="A worker removes them: follow the job."),
            **errors(400, 404, 409),
        },
    )
    def post(self, request: Request, env: str) -> Response:
        environment = environment_get(env)
        form = RemovalCreateIn(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        kind = data["kind"]
        mode = removal_mode(request.user, kind)
        refs = _clean_refs(data.get("refs") or [])
        if kind == RemovalKind.REMOVE and not refs:
            raise ApiError(400, "invalid", "Choose at least one image to remove.", field="refs")
        try:
            snapshot = removal.items_from_json([dict(item) for item in data["snapshot"]])
        except ValueError as exc:
            raise ApiError(400, "invalid", f"The snapshot is not a preview's: {exc}.", field="snapshot") from exc
        try:
            done = removal_submit(
                environment=environment,
                actor=request.user,
                mode=mode,
                kind=kind,
                refs=refs,
                snapshot=snapshot,
                force=data["force"],
                reason=data["reason"],
                confirm_name=data["confirm_name"],
                request=request,
            )
        except removal.PlanChanged as exc:
            raise plan_changed_error(exc.changes) from exc
        except removal.ForceRequired as exc:
            names = ", ".join(i.reference if not i.by_id else i.short_id for i in exc.items)
            raise ApiError(
                400,
                "force_required",
                f"Removing {names} needs force: send force=true, or do not remove.",
                field="force",
            ) from exc
        except SubmitRefused as exc:
            raise ApiError(400, "invalid", exc.message, field=exc.field) from exc
        body = {
            "outcome": done.outcome,
            "job": present.removal_job(done.job) if done.job is not None else None,
            "request": present.cleanup_request(done.cleanup_request) if done.cleanup_request is not None else None,
            "message": " ".join(done.gone) if done.gone else "",
        }
        status = {REQUESTED: 201, QUEUED: 202}.get(done.outcome, 200)
        return Response(body, status=status)


class RemovalJobDetail(ApiView):
    @extend_schema(
        operation_id="removals_retrieve",
        tags=["removals"],
        summary="One removal job and its per-item results",
        parameters=[ENV, id_parameter("pk", "Removal job id")],
        responses={200: RemovalJobOut, **errors(404)},
    )
    def get(self, request: Request, env: str, pk: int) -> Response:
        environment = environment_get(env)
        job = get_object_or_404(
            RemovalJob.objects.select_related("environment", "created_by"), pk=pk, environment=environment
        )
        return Response(present.removal_job(job))
