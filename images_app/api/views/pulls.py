"""Pulls: create (the page's form and dedupe), list, get, cancel, and the page's live event stream."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError
from images_app.api.schemas import PullCancelOut, PullCreatedOut, PullCreateIn, PullDetailOut, PullListOut
from images_app.api.views.base import ApiView, errors, id_parameter, valid_form
from images_app.api.views.images import ENV
from images_app.environments import environment_get
from images_app.forms.pulls import PullForm
from images_app.models import Environment, PullJob
from images_app.pull_events import pull_event_stream
from images_app.selectors.pulls import pull_get, pull_state, pulls_recent, pulls_running
from images_app.services.pulls import pull_can_cancel, pull_cancel, pull_start, pulls_sweep_stale

PK = id_parameter("pk", "Pull id")


def _job_or_404(environment: Environment, pk: int) -> PullJob:
    job = pull_get(environment, pk)
    if job is None:
        raise Http404("No such pull in this environment.")
    return job


def _pull(request: Request, job: PullJob) -> dict[str, Any]:
    return present.pull(job, can_cancel=pull_can_cancel(request.user, job))


class PullList(ApiView):
    @extend_schema(
        operation_id="pulls_list",
        tags=["pulls"],
        summary="Running and recent pulls",
        parameters=[ENV],
        responses={200: PullListOut, **errors(404)},
    )
    def get(self, request: Request, env: str) -> Response:
        environment = environment_get(env)
        pulls_sweep_stale()
        return Response(
            {
                "running": [_pull(request, job) for job in pulls_running(environment)],
                "recent": [_pull(request, job) for job in pulls_recent(environment)],
            }
        )

    @extend_schema(
        operation_id="pulls_create",
        tags=["pulls"],
        summary="Pull an image (joins the pull already running for the same reference)",
        parameters=[ENV],
        request=PullCreateIn,
        responses={
            201: OpenApiResponse(PullCreatedOut, description="Queued."),
            200: OpenApiResponse(PullCreatedOut, description="Joined the pull already running for this reference."),
            **errors(400, 404),
        },
    )
    def post(self, request: Request, env: str) -> Response:
        environment = environment_get(env)
        if not request.user.has_perm("images_app.pull_image"):
            raise ApiError(403, "permission_denied", "Your role may not pull images.")
        body = PullCreateIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = {"reference": body.validated_data["reference"]}
        if body.validated_data.get("registry"):
            data["registry"] = str(body.validated_data["registry"])
        form = valid_form(PullForm(data))
        job, joined = pull_start(
            user=request.user,
            environment=environment,
            reference=form.cleaned_data["parsed"],
            registry=form.cleaned_data.get("registry"),
            request=request,
        )
        job = pull_get(environment, job.pk) or job
        return Response({**_pull(request, job), "joined": joined}, status=200 if joined else 201)


class PullDetail(ApiView):
    @extend_schema(
        operation_id="pulls_retrieve",
        tags=["pulls"],
        summary="One pull, with its live state",
        parameters=[ENV, PK],
        responses={200: PullDetailOut, **errors(404)},
    )
    def get(self, request: Request, env: str, pk: int) -> Response:
        environment = environment_get(env)
        pulls_sweep_stale()
        job = _job_or_404(environment, pk)
        return Response({**_pull(request, job), "state": present.pull_state(pull_state(job))})


class PullCancel(ApiView):
    @extend_schema(
        operation_id="pulls_cancel",
        tags=["pulls"],
        summary="Cancel a pull (your own; admins: any)",
        parameters=[ENV, PK],
        request=None,
        responses={200: PullCancelOut, **errors(404)},
    )
    def post(self, request: Request, env: str, pk: int) -> Response:
        environment = environment_get(env)
        job = _job_or_404(environment, pk)
        outcome = pull_cancel(user=request.user, job=job, request=request)
        job = _job_or_404(environment, pk)
        return Response({"outcome": outcome, "pull": _pull(request, job)})


class EventStreamRenderer(BaseRenderer):
    """Lets a client ask for `Accept: text/event-stream`; errors still come as the one JSON shape."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data).encode()


class PullEvents(ApiView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="pulls_events",
        tags=["pulls"],
        summary="The pull's live progress as server-sent events",
        parameters=[ENV, PK],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR,
                description="Server-sent events, as the pull page receives them: `snapshot` (the whole state) "
                "at once, then `progress` events, keepalive comments, and `end` when the pull ends.",
            ),
            **errors(404),
        },
    )
    def get(self, request: Request, env: str, pk: int) -> StreamingHttpResponse:
        environment = environment_get(env)
        pulls_sweep_stale()
        job = _job_or_404(environment, pk)

        # The same stream as the pull page's.
        stream = pull_event_stream(job)
        response = StreamingHttpResponse(stream, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
