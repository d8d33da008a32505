"""The images pages: the list, one image, and the environment's dashboard."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_safe

from images_app.environments import environment_for_page
from images_app.errors import EngineError, ImageNotFound
from images_app.forms.images import ImageFilterForm, filter_rejection, list_query
from images_app.kept_pages import Drawn, PageDraft, kept_page, kept_part, page_key, part_key
from images_app.models import Environment
from images_app.selectors.audit import history_url, image_history
from images_app.selectors.cleanup_requests import requests_of
from images_app.selectors.dashboard import dashboard_for
from images_app.selectors.images import (
    ImageListing,
    ImageListQuery,
    ImagePage,
    ImageRow,
    image_listing,
    image_page,
    image_page_stamp,
    listing_stamp,
    with_sort,
)
from images_app.selectors.pulls import pulls_running_banner
from images_app.selectors.updates import update_run_of, verdicts_for_image, verdicts_for_rows
from images_app.selectors.usage import image_use_page, watch_info

_COLUMNS = [
    ("repository", "Repository"),
    ("tag", "Tag"),
    ("id", "Image ID"),
    ("created", "Created"),
    ("size", "Size"),
    ("last_used", "Last used"),
    ("status", "Status"),
]


def _headers(query: ImageListQuery) -> list[dict[str, Any]]:
    headers = []
    for key, label in _COLUMNS:
        target = with_sort(query, key)
        active = query.sort == key
        headers.append(
            {
                "key": key,
                "label": label,
                "order": target.order,
                "active": active,
                "aria_sort": ("descending" if query.descending else "ascending") if active else "none",
                "numeric": key == "size",
            }
        )
    return headers


_FILTER_NAMES = [
    ("q", "search"),
    ("status", "status"),
    ("reference", "reference="),
    ("before", "before="),
    ("since", "since="),
    ("label", "label="),
    ("unused_for", "unused for"),
]


def _active_filters(request: HttpRequest) -> list[dict[str, Any]]:
    """Each filter in use, with the URL of this same view without it (the chips above the table)."""
    chips = []
    for key, label in _FILTER_NAMES:
        value = request.GET.get(key, "").strip()
        if value:
            params = request.GET.copy()
            params.pop(key, None)
            params.pop("page", None)
            chips.append({"label": label, "value": value, "remove": "?" + params.urlencode()})
    return chips


def _engine_rejected(form: ImageFilterForm, error: EngineError | ImageNotFound, query: ImageListQuery) -> None:
    """Turn the engine's answer to a well-formed but unusable filter into a form error."""
    field, message = filter_rejection(query, error)
    form.add_error(field, message)


@require_safe
def image_list(request: HttpRequest, env: str) -> HttpResponse:
    environment = environment_for_page(env)
    query_string = request.GET.urlencode()
    query = list_query(query_string)
    context: dict[str, Any] = {"environment": environment}

    @cache
    def form() -> ImageFilterForm:
        """Built only to draw the filter form or to say what was refused (list_query answered the rest)."""
        bound = ImageFilterForm(request.GET)
        bound.is_valid()  # cleaned: the engine's refusal of a filter is added to its errors
        return bound

    def stamp() -> tuple[Hashable, ...] | None:
        return listing_stamp(environment, query) if query is not None else None

    def listing() -> ImageListing:
        """The page's listing: read only when the table is drawn."""
        assert query is not None  # only drawn for a valid query
        return image_listing(environment, query)

    # The table (totals, chips, rows, pages) is kept while its data is unchanged; the ages in its
    # rows are written each time it is shown.
    table_key = part_key("images-table", stamp, query_string, request.user, shows_ages=True)

    # The title, actions and filter form show only the environment's name, the viewer's
    # permissions and the query string: kept under those (a third of a page's CPU otherwise).
    def named() -> tuple[Hashable, ...]:
        return (environment.name,)

    heading_key = part_key("images-heading", named, "", request.user, shows_ages=False)
    filters_key = part_key("images-filters", named, query_string, request.user, shows_ages=False)
    watch = watch_info(environment)

    def watched() -> tuple[Hashable, ...]:
        return (*watch.shown_stamp, timezone.get_current_timezone_name())  # the note shows dates

    note_key = part_key("images-watch-note", watched, "", request.user, shows_ages=False)
    update_run = update_run_of(environment)
    running_pulls = pulls_running_banner(environment)

    def shown() -> tuple[Hashable, ...] | None:
        """Everything the page shows: its parts' keys, the update bar's run and the running pulls' banner."""
        if None in (table_key, heading_key, filters_key, note_key):
            return None
        run = (update_run.pk, update_run.started_at, update_run.finished_at, update_run.error) if update_run else None
        pulls = tuple((job.pk, job.reference, job.status) for job in running_pulls)
        return (table_key, heading_key, filters_key, note_key, run, pulls)

    def draft() -> PageDraft:
        context["table"] = kept_part(table_key, lambda: _draw_table(request, environment, form, query, listing))
        context["heading"] = kept_part(heading_key, lambda: _draw("images/_list_heading.html", request, context))
        # A refused query string, or one the engine refused while the table was drawn: the form says which.
        if query is None or (form.cache_info().currsize and not form().is_valid()):
            context["form"] = form()
            context["filters"] = kept_part(None, lambda: _draw("images/_list_filters.html", request, context))
            return PageDraft("images/list.html", context, status=400, keep=False)
        context["query"] = query
        context["filters"] = kept_part(
            filters_key, lambda: _draw("images/_list_filters.html", request, {**context, "form": form()})
        )
        context["watch"] = watch
        context["watch_note"] = kept_part(note_key, lambda: _draw("images/_watch_note.html", request, {"watch": watch}))
        context["update_run"] = update_run
        context["running_pulls"] = running_pulls
        return PageDraft("images/list.html", context)

    # The whole page is kept too, while all it shows is unchanged (kept_pages).
    return kept_page(request, page_key("images-list", shown, request), draft)


def _draw_table(
    request: HttpRequest,
    environment: Environment,
    form: Callable[[], ImageFilterForm],
    query: ImageListQuery | None,
    listing_of: Callable[[], ImageListing],
) -> Drawn:
    """The list's table, totals, chips and pagination; on a filter the engine refuses, an error on `form()`."""
    context: dict[str, Any] = {"environment": environment, "rows": [], "page": None, "listing": None}
    if query is not None:
        try:
            listing = listing_of()
        except ImageNotFound as error:
            # Only `before=`/`since=` name images on this path; anything else is a real 404.
            if not (query.before or query.since):
                raise
            _engine_rejected(form(), error, query)
        except EngineError as error:
            if error.status_code != 400:
                raise
            _engine_rejected(form(), error, query)
        else:
            page = _page_of(request, listing)
            context.update(listing=listing, rows=listing.rows, page=page, headers=_headers(query), query=query)
            context["updates"] = verdicts_for_rows(list(page.object_list))
            context["chips"] = _active_filters(request)
    if context["listing"] is None:
        context["headers"] = _headers(ImageListQuery())
    html = render_to_string("images/_list_table.html", context, request)
    return Drawn(html, keep=context["listing"] is not None)


def _draw(template: str, request: HttpRequest, context: dict[str, Any]) -> Drawn:
    return Drawn(render_to_string(template, context, request), keep=True)


def _page_of(request: HttpRequest, listing: ImageListing) -> Page[ImageRow]:
    return Paginator(listing.rows, settings.BERTH_PAGE_SIZE).get_page(request.GET.get("page"))


@require_safe
def image_detail(request: HttpRequest, env: str, image_id: str) -> HttpResponse:
    environment = environment_for_page(env)
    view = image_page(environment, image_id)
    key = part_key(
        "image-page",
        lambda: image_page_stamp(environment, view),
        request.GET.urlencode(),
        request.user,
        shows_ages=True,
    )

    def shown() -> tuple[Hashable, ...] | None:
        # The title names the image's first tag (or its short ID), which the body's stamp follows too.
        return None if key is None else (key, tuple(view.detail.repo_tags), view.detail.short_id)

    def draft() -> PageDraft:
        body = kept_part(key, lambda: _draw_image(request, environment, view))
        return PageDraft("images/detail.html", {"environment": environment, "view": view, "body": body})

    # The whole page is kept too, while all it shows is unchanged (kept_pages).
    return kept_page(request, page_key("image-page-whole", shown, request), draft)


def _draw_image(request: HttpRequest, environment: Environment, view: ImagePage) -> Drawn:
    context = {
        "environment": environment,
        "view": view,
        "audit_events": image_history(image_id=view.detail.id, tags=view.detail.repo_tags),
        "usage": image_use_page(environment, view.detail.id, view.detail.created),
        "audit_all_url": history_url(target=view.detail.id),
        "updates": verdicts_for_image(view.detail.repo_tags, view.detail.repo_digests),
    }
    return Drawn(render_to_string("images/_detail_body.html", context, request), keep=True)


@require_safe
def env_home(request: HttpRequest, env: str) -> HttpResponse:
    environment = environment_for_page(env)
    dashboard = dashboard_for(environment, measure_disk=request.GET.get("measure") == "1")
    context = {
        "environment": environment,
        "dashboard": dashboard,
        "my_requests": requests_of(request.user),
        "watch": watch_info(environment),
        "update_run": update_run_of(environment),
    }
    return render(request, "images/dashboard.html", context)
