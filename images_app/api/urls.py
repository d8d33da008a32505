"""/api/v1/: the JSON API, its OpenAPI schema and a browsable documentation page.

Every API view is exempt from LoginRequiredMiddleware (which would redirect a script to the
login page; DRF's views are exempt already, the wrapper says so here too): the API
authenticates itself and answers 401 as JSON instead. The docs page is a page like the
others: login required.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required, login_required
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import images_app.urls.images  # noqa: F401  (registers the `imageid` path converter)
from images_app.api.errors import error_body
from images_app.api.views import (
    audit,
    environments,
    images,
    policies,
    pulls,
    registries,
    removal,
    requests,
    search,
    updates,
)
from images_app.api.views.base import IdConverter

app_name = "api"
register_converter(IdConverter, "apiid")


def _api(route: str, view: Callable[..., Any], name: str) -> URLPattern:
    return path(route, login_not_required(view), name=name)


@login_not_required
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)


E = "v1/environments/<slug:env>/"
urlpatterns = [
    _api("v1/me/", environments.Me.as_view(), "me"),
    _api("v1/environments/", environments.EnvironmentList.as_view(), "environments"),
    _api(E + "images/", images.ImageList.as_view(), "image_list"),
    _api(E + "images/<imageid:image_id>/", images.ImageDetail.as_view(), "image_detail"),
    _api(E + "pulls/", pulls.PullList.as_view(), "pull_list"),
    _api(E + "pulls/<apiid:pk>/", pulls.PullDetail.as_view(), "pull_detail"),
    _api(E + "pulls/<apiid:pk>/cancel/", pulls.PullCancel.as_view(), "pull_cancel"),
    _api(E + "pulls/<apiid:pk>/events/", pulls.PullEvents.as_view(), "pull_events"),
    _api(E + "removals/preview/", removal.RemovalPreview.as_view(), "removal_preview"),
    _api(E + "removals/", removal.RemovalCreate.as_view(), "removal_create"),
    _api(E + "removals/<apiid:pk>/", removal.RemovalJobDetail.as_view(), "removal_job"),
    _api(E + "search/", search.Search.as_view(), "search"),
    _api(E + "updates/", updates.UpdateList.as_view(), "updates"),
    _api(E + "updates/check/", updates.UpdateCheck.as_view(), "updates_check"),
    _api("v1/policies/", policies.PolicyList.as_view(), "policy_list"),
    _api("v1/policies/<apiid:pk>/", policies.PolicyDetail.as_view(), "policy_detail"),
    _api("v1/policies/<apiid:pk>/environments/<slug:env>/preview/", policies.PolicyPreview.as_view(), "policy_preview"),
    _api("v1/policies/<apiid:pk>/environments/<slug:env>/run/", policies.PolicyRun.as_view(), "policy_run"),
    _api("v1/requests/", requests.RequestList.as_view(), "request_list"),
    _api("v1/requests/<apiid:pk>/", requests.RequestDetail.as_view(), "request_detail"),
    _api("v1/requests/<apiid:pk>/approve/", requests.RequestApprove.as_view(), "request_approve"),
    _api("v1/requests/<apiid:pk>/reject/", requests.RequestReject.as_view(), "request_reject"),
    _api("v1/registries/", registries.RegistryList.as_view(), "registry_list"),
    _api("v1/registries/<apiid:pk>/", registries.RegistryDetail.as_view(), "registry_detail"),
    _api("v1/audit/events/", audit.AuditList.as_view(), "audit_list"),
    _api("v1/audit/events/<apiid:pk>/", audit.AuditDetail.as_view(), "audit_detail"),
    _api("v1/audit/export/<str:fmt>/", audit.AuditExport.as_view(), "audit_export"),
    _api("v1/schema/", SpectacularAPIView.as_view(), "schema"),
    # The docs page: Swagger UI served from Berth itself (drf-spectacular-sidecar), its script
    # a separate file so the page's CSP (script-src 'self') holds.
    # DRF exempts its views from LoginRequiredMiddleware; this one is a page, so it asks for login itself.
    path("v1/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    re_path(r"^(?P<rest>.*)$", not_found, name="not_found"),
]
