"""The history page's filter form: every value validated, so bad input is a form error, never a 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from images_app.models import AuditEvent
from images_app.selectors.audit import AuditFilters

_ACTION = RegexValidator(r"^[a-z][a-z0-9_]*$", "Actions are snake_case words, like pull_requested.")
_ENVIRONMENT = RegexValidator(r"^[-a-zA-Z0-9_]+$", "Environment names are letters, digits, - and _.")
# The oldest and newest dates a filter accepts: beyond them dates overflow when made aware.
_MIN_DATE, _MAX_DATE = dt.date(1970, 1, 1), dt.date(9999, 12, 30)
# The largest primary key a database stores (signed 64-bit): bigger ones overflow SQLite's driver.
_MAX_PK = 2**63 - 1


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Actor")
    action = forms.CharField(required=False, max_length=50, validators=[_ACTION], label="Action")
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AuditEvent.Outcome.choices], label="Outcome"
    )
    environment = forms.CharField(required=False, max_length=50, validators=[_ENVIRONMENT], label="Environment")
    target = forms.CharField(required=False, max_length=512, label="Image or reference")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    pull_job = forms.IntegerField(
        required=False, min_value=1, max_value=_MAX_PK, widget=forms.HiddenInput, label="Pull job"
    )
    cleanup_request = forms.IntegerField(
        required=False, min_value=1, max_value=_MAX_PK, widget=forms.HiddenInput, label="Cleanup request"
    )
    removal_job = forms.IntegerField(
        required=False, min_value=1, max_value=_MAX_PK, widget=forms.HiddenInput, label="Removal job"
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day is not None and not (_MIN_DATE <= day <= _MAX_DATE):
                self.add_error(name, f"Choose a date between {_MIN_DATE} and {_MAX_DATE}.")
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> AuditFilters:
        """The validated filters (call after is_valid())."""
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            environment=data.get("environment") or "",
            target=(data.get("target") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            pull_job=data.get("pull_job"),
            cleanup_request=data.get("cleanup_request"),
            removal_job=data.get("removal_job"),
        )
