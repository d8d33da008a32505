"""Cleanup requests: list, one (with what it would do now), approve and reject (four-eyes)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError
from images_app.api.schemas import ApproveOut, RejectIn, RequestDetailOut, RequestListOut
from images_app.api.views.base import ApiView, errors, id_parameter
from images_app.errors import BerthError
from images_app.models import CleanupRequest
from images_app.services import removal
from images_app.services.cleanup_requests import (
    RequestNotPending,
    cleanup_request_approve,
    cleanup_request_reject,
    may_approve,
    request_changes_now,
    requests_expire,
)

PK = id_parameter("pk", "Request id")
LIST_LIMIT = 200
_BASE = CleanupRequest.objects.select_related("environment", "requested_by", "decided_by", "removal_job")


def _not_pending(exc: RequestNotPending) -> ApiError:
    return ApiError(409, "not_pending", str(exc))


class RequestList(ApiView):
    @extend_schema(
        operation_id="requests_list",
        tags=["requests"],
        summary="Removal requests",
        parameters=[
            OpenApiParameter(
                "status", str, enum=[c for c, _ in CleanupRequest.Status.choices], description="Only these"
            ),
            OpenApiParameter("mine", bool, description="Only the caller's own requests"),
        ],
        responses={200: RequestListOut, **errors(400)},
    )
    def get(self, request: Request) -> Response:
        requests_expire()
        qs = _BASE.order_by("-created_at")
        status = request.query_params.get("status", "")
        if status:
            if status not in CleanupRequest.Status.values:
                raise ApiError(400, "invalid", f"Unknown status {status!r}.", field="status")
            qs = qs.filter(status=status)
        mine = request.query_params.get("mine", "")
        if mine not in ("", "true", "false", "1", "0"):
            raise ApiError(400, "invalid", "mine is true or false.", field="mine")
        if mine in ("true", "1"):
            qs = qs.filter(requested_by=request.user)
        return Response({"results": [present.cleanup_request(r) for r in qs[:LIST_LIMIT]]})


class RequestDetail(ApiView):
    @extend_schema(
        operation_id="requests_retrieve",
        tags=["requests"],
        summary="One request, next to what it would do now",
        parameters=[PK],
        responses={200: RequestDetailOut, **errors(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        requests_expire()
        cleanup_request = get_object_or_404(_BASE, pk=pk)
        rows, engine_error = None, ""
        if cleanup_request.status == CleanupRequest.Status.PENDING:
            try:
                rows = request_changes_now(cleanup_request=cleanup_request)
            except BerthError as exc:
                # Readable while the engine is down, as the page; approving would fail anyway.
                engine_error = exc.message
        body = present.cleanup_request(cleanup_request)
        body["may_approve"] = may_approve(cleanup_request=cleanup_request, user=request.user)
        body["now"] = (
            [
                {
                    "requested": present.frozen_item(row.requested),
                    "now": present.plan_item(row.now),
                    "changes": list(row.changes),
                }
                for row in rows
            ]
            if rows is not None
            else None
        )
        body["engine_error"] = engine_error
        return Response(body)


class RequestApprove(ApiView):
    @extend_schema(
        operation_id="requests_approve",
        tags=["requests"],
        summary="Approve a request (another admin than the requester) and run it",
        parameters=[PK],
        request=None,
        responses={200: ApproveOut, 202: ApproveOut, **errors(404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        if not request.user.has_perm("images_app.approve_cleanup"):
            raise ApiError(403, "permission_denied", "Only admins approve requests.")
        cleanup_request = get_object_or_404(_BASE, pk=pk)
        try:
            job = cleanup_request_approve(cleanup_request=cleanup_request, actor=request.user, request=request)
        except RequestNotPending as exc:
            raise _not_pending(exc) from exc
        if removal.removal_job_should_inline(job.items):
            job = removal.removal_job_run(job_id=job.pk, request=request) or job
            outcome, status = "removed", 200
        else:
            removal.removal_job_enqueue(job)
            outcome, status = "queued", 202
        fresh = get_object_or_404(_BASE, pk=pk)
        return Response(
            {"outcome": outcome, "request": present.cleanup_request(fresh), "job": present.removal_job(job)},
            status=status,
        )


class RequestReject(ApiView):
    @extend_schema(
        operation_id="requests_reject",
        tags=["requests"],
        summary="Reject a request, with a note",
        parameters=[PK],
        request=RejectIn,
        responses={200: RequestDetailOut, **errors(400, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        if not request.user.has_perm("images_app.approve_cleanup"):
            raise ApiError(403, "permission_denied", "Only admins reject requests.")
        cleanup_request = get_object_or_404(_BASE, pk=pk)
        body = RejectIn(data=request.data)
        body.is_valid(raise_exception=True)
        note = body.validated_data["note"].strip()
        if not note:
            raise ApiError(400, "invalid", "Say why you reject the request.", field="note")
        try:
            cleanup_request_reject(cleanup_request=cleanup_request, actor=request.user, note=note, request=request)
        except RequestNotPending as exc:
            raise _not_pending(exc) from exc
        fresh = get_object_or_404(_BASE, pk=pk)
        out = present.cleanup_request(fresh)
        out.update(may_approve=False, now=None, engine_error="")
        return Response(out)
