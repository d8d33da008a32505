"""Removal: a preview (the confirmation page's plan and snapshot) and the removal of exactly that.

Admins remove; operators send the same confirmation as a request for an admin to approve.
The rules are the confirmation page's (images_app.views.removal): who may, force only where
the engine needs it, the environment's name for "remove every image", a reason for a request,
and a 409 with what changed when the engine moved since the preview.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError
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
from images_app.services.cleanup_requests import cleanup_request_create


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
        body = RemovalCreateIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        kind = data["kind"]
        mode = removal_mode(request.user, kind)
        refs = _clean_refs(data.get("refs") or [])
        if kind == RemovalKind.REMOVE and not refs:
            raise ApiError(400, "invalid", "Choose at least one image to remove.", field="refs")
        snapshot = [dict(item) for item in data["snapshot"]]
        # The whole cleanup kind was confirmed as such: force where the previewed item needed it.
        force = kind != RemovalKind.REMOVE or data["force"]
        reason = data["reason"].strip()
        if kind == RemovalKind.REMOVE:
            plan_now = removal.removal_plan(environment=environment, refs=refs, sizes=mode == "request")
        else:
            ids = [item["image_id"] for item in snapshot]
            plan_now = removal.removal_plan(environment=environment, refs=ids, sizes=mode == "request")
        try:
            items = removal.removal_confirm(plan=plan_now, snapshot=snapshot, force=force)
        except removal.PlanChanged as exc:
            raise ApiError(
                409,
                "plan_changed",
                "The engine changed since the preview; nothing was done. Preview again.",
                changes=exc.changes,
            ) from exc
        except removal.ForceRequired as exc:
            names = ", ".join(i.reference if not i.by_id else i.short_id for i in exc.items)
            raise ApiError(
                400,
                "force_required",
                f"Removing {names} needs force: send force=true, or do not remove.",
                field="force",
            ) from exc
        if not items:
            return Response({"outcome": "nothing", "job": None, "request": None})
        if kind == RemovalKind.REMOVE_ALL and data["confirm_name"].strip() != environment.name:
            raise ApiError(
                400,
                "invalid",
                f"Type the environment name ({environment.name}) to confirm removing every image.",
                field="confirm_name",
            )
        if mode == "request":
            if not reason:
                raise ApiError(400, "invalid", "Say why (a short reason).", field="reason")
            cleanup_request = cleanup_request_create(
                environment=environment, kind=kind, items=items, reason=reason, actor=request.user, request=request
            )
            return Response(
                {"outcome": "requested", "job": None, "request": present.cleanup_request(cleanup_request)}, status=201
            )
        job = removal.removal_job_create(environment=environment, kind=kind, items=items, actor=request.user)
        if removal.removal_job_should_inline(items):
            job = removal.removal_job_run(job_id=job.pk, request=request) or job
            return Response({"outcome": "removed", "job": present.removal_job(job), "request": None})
        removal.removal_job_enqueue(job)
        return Response({"outcome": "queued", "job": present.removal_job(job), "request": None}, status=202)


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
