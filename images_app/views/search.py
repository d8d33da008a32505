"""Searching an image index (Docker Hub or a registered registry's) through the engine."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from images_app.environments import environment_get
from images_app.errors import SearchUnavailable
from images_app.forms.search import SearchForm
from images_app.selectors.search import search_images


@require_safe
def search(request: HttpRequest, env: str) -> HttpResponse:
    environment = environment_get(env)
    form = SearchForm(request.GET if "term" in request.GET else None)
    context: dict[str, object] = {"environment": environment, "form": form}
    status = 200
    if form.is_bound:
        if form.is_valid():
            query = form.cleaned_data["query"]
            context["query"] = query
            try:
                context["results"] = search_images(
                    environment=environment, query=query, refresh=request.GET.get("refresh") == "1"
                )
            except SearchUnavailable as exc:
                # The search page itself, with the form to retry, but an honest 503: the
                # upstream index failed, not Berth, and monitors and scripts see it.
                context["unavailable"] = exc.message
                status = 503
            refresh = request.GET.copy()
            refresh["refresh"] = "1"
            context["refresh_query"] = refresh.urlencode()
        else:
            status = 400
    return render(request, "search/search.html", context, status=status)
