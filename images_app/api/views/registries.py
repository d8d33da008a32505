"""Registries: everyone with a role reads them; admins add, change and remove them. Passwords are write-only."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from images_app.api import present
from images_app.api.errors import ApiError
from images_app.api.schemas import RegistryIn, RegistryOut
from images_app.api.views.base import ApiView, errors, id_parameter, valid_form
from images_app.forms.registries import RegistryForm
from images_app.models import Registry
from images_app.selectors.registries import RegistryRow, registries_for_list
from images_app.services.registries import registry_create, registry_delete, registry_denied, registry_update

MANAGE = "images_app.manage_registries"
PK = id_parameter("pk", "Registry id")


def _require_manage(request: Request, action: str, name: str = "") -> None:
    if request.user.has_perm(MANAGE):
        return
    # A refused change is still something that happened: it goes in the history (as on the pages).
    registry_denied(action=action, actor=request.user, request=request, name=name)
    raise ApiError(403, "permission_denied", "Only admins manage registries.")


def _row(registry: Registry) -> dict[str, Any]:
    row = next((r for r in registries_for_list() if r.registry.pk == registry.pk), None)
    return present.registry(row or RegistryRow(registry=registry, host="", has_password=False))


def _form_data(request: Request) -> dict[str, Any]:
    body = RegistryIn(data=request.data)
    body.is_valid(raise_exception=True)
    data = dict(body.validated_data)
    data["clear_password"] = "on" if data.get("clear_password") else ""
    return data


class RegistryList(ApiView):
    @extend_schema(
        operation_id="registries_list",
        tags=["registries"],
        summary="Registered registries (passwords never shown)",
        responses={200: RegistryOut(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        return Response([present.registry(row) for row in registries_for_list()])

    @extend_schema(
        operation_id="registries_create",
        tags=["registries"],
        summary="Add a registry (admins)",
        request=RegistryIn,
        responses={201: RegistryOut, **errors(400)},
    )
    def post(self, request: Request) -> Response:
        name = request.data.get("name", "") if isinstance(request.data, dict) else ""
        _require_manage(request, "registry_added", str(name)[:50])
        form = valid_form(RegistryForm(_form_data(request)))
        registry = registry_create(
            actor=request.user,
            request=request,
            **form.service_fields(),
        )
        return Response(_row(registry), status=201)


class RegistryDetail(ApiView):
    @extend_schema(
        operation_id="registries_retrieve",
        tags=["registries"],
        summary="One registry",
        parameters=[PK],
        responses={200: RegistryOut, **errors(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_row(get_object_or_404(Registry, pk=pk)))

    @extend_schema(
        operation_id="registries_update",
        tags=["registries"],
        summary="Change a registry (admins); an empty password keeps the stored one",
        parameters=[PK],
        request=RegistryIn,
        responses={200: RegistryOut, **errors(400, 404)},
    )
    def put(self, request: Request, pk: int) -> Response:
        registry = get_object_or_404(Registry, pk=pk)
        _require_manage(request, "registry_changed", registry.name)
        form = valid_form(RegistryForm(_form_data(request), instance=registry))
        registry_update(
            registry=registry,
            actor=request.user,
            request=request,
            **form.change_fields(),
        )
        return Response(_row(get_object_or_404(Registry, pk=pk)))

    @extend_schema(
        operation_id="registries_destroy",
        tags=["registries"],
        summary="Remove a registry (admins)",
        parameters=[PK],
        responses={204: None, **errors(404)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        registry = get_object_or_404(Registry, pk=pk)
        _require_manage(request, "registry_removed", registry.name)
        registry_delete(registry=registry, actor=request.user, request=request)
        return Response(status=204)
