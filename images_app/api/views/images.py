"""Images: the list (the page's filters, sort and paging) and one image."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError, form_error
from images_app.api.schemas import ImageDetailOut, ImageListOut, ImageListQueryIn
from images_app.api.views.base import ApiView, errors
from images_app.environments import environment_get
from images_app.errors import EngineError, ImageNotFound
from images_app.forms.images import ImageFilterForm, filter_rejection
from images_app.selectors.images import ImageListQuery, image_listing, image_page
from images_app.selectors.updates import verdicts_for_rows

ENV = OpenApiParameter("env", str, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$", description="Environment name")
IMAGE_ID = OpenApiParameter(
    "image_id",
    str,
    OpenApiParameter.PATH,
    pattern=r"^(sha256:)?[0-9a-f]{12,64}$",
    description="Full or short image ID (12-64 hex, optional sha256:)",
)


def _rejected_filter(query: ImageListQuery, error: EngineError | ImageNotFound) -> ApiError:
    field, message = filter_rejection(query, error)
    return ApiError(400, "invalid", message, field=field)


class ImageList(ApiView):
    @extend_schema(
        operation_id="images_list",
        tags=["images"],
        summary="The images list: the page's filters, sort and paging, with in-use counts",
        parameters=[ENV, ImageListQueryIn],
        responses={200: ImageListOut, **errors(400, 404)},
    )
    def get(self, request: Request, env: str) -> Response:
        environment = environment_get(env)
        form = ImageFilterForm(request.query_params)
        if not form.is_valid():
            raise form_error(form)
        query = form.query()
        try:
            listing = image_listing(environment, query)
        except ImageNotFound as error:
            # Only `before=`/`since=` name images on this path; anything else is a real 404.
            if not (query.before or query.since):
                raise
            raise _rejected_filter(query, error) from error
        except EngineError as error:
            if error.status_code != 400:
                raise
            raise _rejected_filter(query, error) from error
        paginator = Paginator(listing.rows, settings.BERTH_PAGE_SIZE)
        page = paginator.get_page(request.query_params.get("page"))
        updates = verdicts_for_rows(list(page.object_list))  # the stored checks of this page's tags: one query
        return Response(
            {
                "count": paginator.count,
                "page": page.number,
                "pages": paginator.num_pages,
                "page_size": settings.BERTH_PAGE_SIZE,
                "engine_total": listing.engine_total,
                "filtered": listing.filtered,
                "totals": present.totals(listing.totals),
                "results": [present.image_row(row, updates.get(row.reference)) for row in page.object_list],
            }
        )


class ImageDetail(ApiView):
    @extend_schema(
        operation_id="images_retrieve",
        tags=["images"],
        summary="One image: inspect facts, history, containers, unique size",
        parameters=[ENV, IMAGE_ID],
        responses={200: ImageDetailOut, **errors(404)},
    )
    def get(self, request: Request, env: str, image_id: str) -> Response:
        environment = environment_get(env)
        # Containers read live: the API returns the engine's status text ("Up 3 minutes") as of now.
        return Response(present.image_detail(image_page(environment, image_id, live_containers=True)))
