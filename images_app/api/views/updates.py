"""Update checks: what the registries serve newer than this engine has, and "check now"."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.permissions import require_perm
from images_app.api.schemas import AcceptedOut, UpdatesOut
from images_app.api.views.base import ApiView, errors
from images_app.api.views.images import ENV
from images_app.environments import environment_get
from images_app.selectors.updates import outdated_for_environment, update_run_of
from images_app.services.updates import updates_check_request


class UpdateList(ApiView):
    @extend_schema(
        operation_id="updates_list",
        tags=["updates"],
        summary="Local tags whose registry serves a newer image (from the stored checks; nothing is pulled)",
        parameters=[ENV],
        responses={200: UpdatesOut, **errors(404)},
    )
    def get(self, request: Request, env: str) -> Response:
        environment = environment_get(env)
        run = update_run_of(environment)
        return Response(
            {
                "last_check": present._when(run.finished_at) if run is not None else None,
                "outdated": [present.outdated_tag(item) for item in outdated_for_environment(environment)],
            }
        )


class UpdateCheck(ApiView):
    @extend_schema(
        operation_id="updates_check",
        tags=["updates"],
        summary="Check this engine's tags against their registries now (in a worker; operators and admins)",
        parameters=[ENV],
        request=None,
        responses={202: AcceptedOut, **errors(404)},
    )
    def post(self, request: Request, env: str) -> Response:
        require_perm(request, "images_app.check_updates", "Only operators and admins start update checks.")
        environment = environment_get(env)
        updates_check_request(user=request.user, environment=environment, request=request)
        return Response({"message": "Update check started."}, status=202)
