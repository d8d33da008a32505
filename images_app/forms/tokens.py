"""The tokens page's form: a name and an optional expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

MAX_DAYS = 3650


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “ci-deploy” or “nightly cleanup”.")
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        initial=90,
        label="Expires in (days)",
        help_text="Empty: never expires (revoke it when it is no longer needed).",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name or any(ord(c) < 32 for c in name):
            raise forms.ValidationError("A name of printable characters, please.")
        return name

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None
