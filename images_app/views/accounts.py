"""Login, logout and the first-run setup page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from images_app.selectors.users import users_exist
from images_app.services.users import AlreadySetUp, user_first_admin_create


class FirstAdminForm(UserCreationForm[User]):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    email = forms.EmailField(required=False)


@login_not_required
def setup(request: HttpRequest) -> HttpResponse:
    """Create the first admin. Exists only while Berth has no user at all."""
    if users_exist():
        raise Http404("Berth is already set up")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_first_admin_create(
                request=request,
                username=form.cleaned_data["username"],
                email=form.cleaned_data.get("email") or "",
                password=form.cleaned_data["password1"],
            )
        except AlreadySetUp:
            raise Http404("Berth is already set up") from None
        login(request, user, backend="images_app.roles.RoleBackend")
        messages.success(request, f"Welcome, {user.get_username()}. You are Berth's first admin.")
        return redirect("home")
    return render(request, "accounts/setup.html", {"form": form})
