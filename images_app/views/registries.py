"""Registries: everyone signed in browses them; admins (manage_registries) add, change and remove them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from images_app.errors import RegistryError
from images_app.forms.registries import RegistryForm
from images_app.models import Registry
from images_app.roles import AuthenticatedRequest
from images_app.selectors.registries import (
    registries_for_list,
    registry_catalog,
    registry_get,
    registry_tag_rows,
)
from images_app.services.registries import (
    registry_create as registry_create_service,
)
from images_app.services.registries import (
    registry_delete as registry_delete_service,
)
from images_app.services.registries import (
    registry_denied,
    registry_update,
)

MANAGE = "images_app.manage_registries"


def _require_manage(request: AuthenticatedRequest, action: str, name: str = "") -> None:
    if request.user.has_perm(MANAGE):
        return
    if request.method == "POST":
        # A refused change is still something that happened: it goes in the history.
        registry_denied(action=action, actor=request.user, request=request, name=name)
    raise PermissionDenied("Only admins manage registries")


def _host(registry: Registry) -> str:
    return registry.host or ""


@require_safe
def registry_list(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "registries/list.html", {"rows": registries_for_list()})


@require_http_methods(["GET", "POST"])
def registry_create(request: AuthenticatedRequest) -> HttpResponse:
    _require_manage(request, "registry_added", request.POST.get("name", ""))
    form = RegistryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        registry = registry_create_service(
            actor=request.user,
            request=request,
            **form.service_fields(),
        )
        messages.success(request, f"Registry {registry.name} added.")
        return redirect("registry_list")
    status = 400 if form.is_bound else 200
    return render(request, "registries/form.html", {"form": form, "registry": None}, status=status)


@require_http_methods(["GET", "POST"])
def registry_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registry = registry_get(pk)
    _require_manage(request, "registry_changed", registry.name)
    form = RegistryForm(request.POST or None, instance=registry)
    if request.method == "POST" and form.is_valid():
        registry_update(
            registry=registry,
            actor=request.user,
            request=request,
            **form.change_fields(),
        )
        messages.success(request, f"Registry {registry.name} saved.")
        return redirect("registry_list")
    status = 400 if form.is_bound else 200
    return render(request, "registries/form.html", {"form": form, "registry": registry}, status=status)


@require_http_methods(["GET", "POST"])
def registry_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registry = registry_get(pk)
    _require_manage(request, "registry_removed", registry.name)
    if request.method == "POST":
        name = registry.name
        registry_delete_service(registry=registry, actor=request.user, request=request)
        messages.success(request, f"Registry {name} removed.")
        return redirect("registry_list")
    return render(request, "registries/confirm_delete.html", {"registry": registry})


@require_safe
def registry_browse(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registry = registry_get(pk)
    repository = request.GET.get("repository", "").strip().strip("/")
    if repository:
        # "Open a repository by name": needed when the catalog is disabled.
        return redirect(reverse("registry_tags", kwargs={"pk": registry.pk, "repository": repository}))
    context: dict[str, object] = {"registry": registry, "host": _host(registry)}
    status = 200
    try:
        context["catalog"] = registry_catalog(registry=registry, last=request.GET.get("last") or None)
    except RegistryError as exc:
        # The page stays useful (open by name, edit credentials) with the registry's status.
        context["error"] = exc
        status = exc.http_status
    return render(request, "registries/browse.html", context, status=status)


@require_safe
def registry_tags(request: AuthenticatedRequest, pk: int, repository: str) -> HttpResponse:
    registry = registry_get(pk)
    context: dict[str, object] = {"registry": registry, "host": _host(registry), "repository": repository}
    status = 200
    try:
        context["rows"] = registry_tag_rows(registry=registry, repository=repository)
    except RegistryError as exc:
        context["error"] = exc
        status = exc.http_status
    return render(request, "registries/tags.html", context, status=status)
