"""Notification channels (admins) and a person's own preferences."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.validators import validate_email

from images_app.models import NotificationChannel, NotificationEvent

Kind = NotificationChannel.Kind


class ChannelForm(forms.Form):
    name = forms.SlugField(max_length=50, help_text="Letters, digits, - and _ (e.g. ops-slack)")
    kind = forms.ChoiceField(choices=Kind.choices)
    url = forms.CharField(
        required=False,
        max_length=2000,
        label="Webhook URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="A secret (it carries the receiver's token): stored encrypted, never shown back.",
    )
    email_to = forms.CharField(required=False, max_length=500, label="Email to", help_text="Comma-separated")
    events = forms.MultipleChoiceField(
        choices=NotificationEvent.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, channel: NotificationChannel | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel is not None:
            self.fields["url"].help_text = f"Stored: {channel.url_hint or 'none'}. Leave blank to keep the stored one."

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        others = NotificationChannel.objects.filter(name=name)
        if self.channel is not None:
            others = others.exclude(pk=self.channel.pk)
        if others.exists():
            raise forms.ValidationError("A channel with this name exists.")
        return name

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        if not url:
            return ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise forms.ValidationError("Enter an http:// or https:// URL.")
        return url

    def clean_email_to(self) -> str:
        addresses: list[str] = [a.strip() for a in self.cleaned_data["email_to"].split(",") if a.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"Not an email address: {address}") from None
        return ", ".join(addresses)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == Kind.EMAIL and not cleaned.get("email_to") and "email_to" not in self.errors:
            self.add_error("email_to", "An email channel needs at least one address.")
        if kind in (Kind.WEBHOOK, Kind.SLACK) and not cleaned.get("url") and "url" not in self.errors:
            if self.channel is None or not self.channel.url_encrypted:
                self.add_error("url", "A webhook channel needs its URL.")
        return cleaned


class PreferencesForm(forms.Form):
    def __init__(self, *args: Any, current: dict[str, bool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for value, label in NotificationEvent.choices:
            self.fields[value] = forms.BooleanField(
                required=False, label=label, initial=(current or {}).get(value, True)
            )

    def choices(self) -> dict[str, bool]:
        return {value: bool(self.cleaned_data.get(value)) for value in NotificationEvent.values}
