"""The API's one error shape: every error Berth knows maps to a stable code and the right status."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import Http404
from rest_framework import exceptions

from images_app.api.errors import ApiError, exception_handler, form_error
from images_app.errors import (
    BrokerUnavailable,
    EngineUnavailable,
    ImageNotFound,
    ReadOnlyMode,
    RegistryError,
    RemovalConflict,
    SearchUnavailable,
)
from images_app.references import BadReference


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (EngineUnavailable("unix:///x.sock", "refused"), 503, "engine_unavailable"),
        (BrokerUnavailable("redis down"), 503, "broker_unavailable"),
        (SearchUnavailable("index down"), 503, "search_unavailable"),
        (RegistryError("no answer", kind=RegistryError.UNREACHABLE), 503, "registry_unreachable"),
        (RegistryError("bad", kind=RegistryError.MISMATCH), 400, "registry_mismatch"),
        (ImageNotFound("abc"), 404, "image_not_found"),
        (RemovalConflict("in use", reason="running_container", forcible=False), 409, "removal_conflict"),
        (ReadOnlyMode(), 403, "read_only_mode"),
        (Http404("gone"), 404, "not_found"),
        (PermissionDenied("no"), 403, "permission_denied"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.AuthenticationFailed(), 401, "authentication_failed"),
        (exceptions.Throttled(wait=3), 429, "throttled"),
        (exceptions.MethodNotAllowed("DELETE"), 405, "method_not_allowed"),
        (OperationalError("database is locked"), 503, "database_unavailable"),
        (ApiError(409, "plan_changed", "moved", changes=["a moved"]), 409, "plan_changed"),
    ],
)
def test_each_error_has_its_status_and_stable_code(error: Exception, status: int, code: str) -> None:
    response = exception_handler(error, {})
    assert response is not None
    assert response.status_code == status
    assert response.data["code"] == code
    assert isinstance(response.data["message"], str) and response.data["message"]


def test_a_bad_reference_names_the_reference_field() -> None:
    response = exception_handler(BadReference("Uppercase is not allowed"), {})
    assert response.status_code == 400
    assert response.data == {"code": "invalid", "message": "Uppercase is not allowed", "field": "reference"}


def test_a_throttled_answer_says_when_to_come_back() -> None:
    response = exception_handler(exceptions.Throttled(wait=2.4), {})
    assert response["Retry-After"] == "3"


def test_validation_errors_name_their_first_field_and_list_all() -> None:
    response = exception_handler(exceptions.ValidationError({"snapshot": ["Expected a list."], "force": ["No."]}), {})
    assert response.status_code == 400
    assert response.data["field"] == "snapshot" and response.data["message"] == "Expected a list."
    assert response.data["errors"] == {"snapshot": ["Expected a list."], "force": ["No."]}


def test_form_errors_keep_the_pages_messages() -> None:
    class Form(forms.Form):
        name = forms.CharField()

    form = Form({})
    assert not form.is_valid()
    error = form_error(form)
    assert (error.status_code, error.api_code, error.extra["field"]) == (400, "invalid", "name")
    assert error.message == "This field is required."


def test_errors_it_does_not_know_are_left_to_django() -> None:
    assert exception_handler(ZeroDivisionError(), {}) is None
