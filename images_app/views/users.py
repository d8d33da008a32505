"""Admin pages for people: list, create, change role, deactivate/reactivate. No delete, anywhere."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from images_app.forms.users import RoleForm, UserCreateForm
from images_app.roles import AuthenticatedRequest
from images_app.selectors.users import user_get, users_for_list
from images_app.services.users import user_create, user_deactivate, user_reactivate, user_role_change

_MANAGE = ("auth.view_user", "auth.change_user")


@require_http_methods(["GET"])
@permission_required(_MANAGE, raise_exception=True)
def user_list(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "users/list.html", {"rows": users_for_list(), "role_form": RoleForm()})


@require_http_methods(["GET", "POST"])
@permission_required(("auth.add_user", *_MANAGE), raise_exception=True)
def user_new(request: AuthenticatedRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = user_create(
            actor=request.user,
            request=request,
            username=data["username"],
            email=data.get("email") or "",
            role=data["role"],
            password=data["password1"],
        )
        messages.success(request, f"Created {user.get_username()} as {data['role']}.")
        return redirect("user_list")
    return render(request, "users/new.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
@permission_required(_MANAGE, raise_exception=True)
def user_set_role(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = user_get(pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("user_list")
    user_role_change(actor=request.user, request=request, user=user, role=form.cleaned_data["role"])
    messages.success(request, f"{user.get_username()} is now {form.cleaned_data['role']}.")
    return redirect("user_list")


@require_POST
@permission_required(_MANAGE, raise_exception=True)
def user_set_active(request: AuthenticatedRequest, pk: int, active: bool) -> HttpResponse:
    user = user_get(pk)
    if active:
        user_reactivate(actor=request.user, request=request, user=user)
        messages.success(request, f"{user.get_username()} can log in again.")
    else:
        user_deactivate(actor=request.user, request=request, user=user)
        messages.success(request, f"{user.get_username()} is deactivated and can no longer log in.")
    return redirect("user_list")
