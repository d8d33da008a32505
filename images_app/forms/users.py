"""Forms of the users pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from images_app.roles import ROLE_DESCRIPTIONS, ROLES, VIEWER

ROLE_CHOICES = [(role, f"{role} — {ROLE_DESCRIPTIONS[role]}") for role in ROLES]


class UserCreateForm(UserCreationForm[User]):
    """Username (unique, case-insensitively), email, role and an initial password checked by Django's validators."""

    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=VIEWER)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(role, role) for role in ROLES])
