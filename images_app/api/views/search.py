"""Search an image index (Docker Hub through the engine, or a registered registry's) with the page's form."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.schemas import SearchOut, SearchQueryIn
from images_app.api.views.base import ApiView, errors, valid_form
from images_app.api.views.images import ENV
from images_app.environments import environment_get
from images_app.forms.search import SearchForm
from images_app.selectors.search import search_images

_TRUE = {"1", "true", "on", "yes"}


class Search(ApiView):
    @extend_schema(
        operation_id="search",
        tags=["search"],
        summary="Search Docker Hub or a registered registry's index",
        parameters=[ENV, SearchQueryIn],
        responses={200: SearchOut, **errors(400, 404)},
    )
    def get(self, request: Request, env: str) -> Response:
        environment = environment_get(env)
        params = request.query_params.copy()
        # The form's checkbox reads "on"; the API documents a boolean.
        if params.get("official", "").lower() in _TRUE:
            params["official"] = "on"
        else:
            params.pop("official", None)
        form = valid_form(SearchForm(params))
        results = search_images(
            environment=environment,
            query=form.cleaned_data["query"],
            refresh=request.query_params.get("refresh", "").lower() in _TRUE,
        )
        return Response(present.search(results))
