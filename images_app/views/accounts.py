"""Login, logout and the first-run setup page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from images_app.roles import ADMIN, assign_role
from images_app.services.audit import audit_record


class FirstAdminForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    email = forms.EmailField(required=False)


@login_not_required
def setup(request: HttpRequest) -> HttpResponse:
    """Create the first admin. Exists only while Berth has no user at all."""
    user_model = get_user_model()
    if user_model.objects.exists():
        raise Http404("Berth is already set up")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if user_model.objects.select_for_update().exists():
                raise Http404("Berth is already set up")
            user = form.save(commit=False)
            user.is_staff = True
            user.is_superuser = True
            user.save()
            assign_role(user, ADMIN)
            audit_record(
                action="user_created",
                outcome="success",
                actor=user,
                request=request,
                target_reference=user.get_username(),
                parameters={"role": ADMIN, "via": "first-run setup"},
            )
        login(request, user, backend="images_app.roles.RoleBackend")
        messages.success(request, f"Welcome, {user.get_username()}. You are Berth's first admin.")
        return redirect("home")
    return render(request, "accounts/setup.html", {"form": form})
