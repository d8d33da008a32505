"""Adding and changing a registry. The password field is never filled back in."""

from __future__ import annotations

from typing import Any

from django import forms

from images_app.models import Registry
from images_app.registry_client import parse_registry_url


class RegistryForm(forms.ModelForm[Registry]):
    password = forms.CharField(
        label="Password or token",
        required=False,
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again.",
    )
    clear_password = forms.BooleanField(label="Remove the stored password", required=False)

    class Meta:
        model = Registry
        fields = ["name", "url", "username"]
        labels = {"url": "Address", "name": "Name"}
        help_texts = {
            "name": "A short name: letters, digits, - and _.",
            "url": "e.g. registry.example.com, https://ghcr.io or localhost:5000 "
            "(plain HTTP for localhost, HTTPS otherwise unless you write http://).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            has_secret = bool(self.instance.secret_encrypted)
            self.fields["password"].help_text = (
                "Leave blank to keep the stored one." if has_secret else "No password is stored."
            ) + " Stored encrypted and never shown again."
            if not has_secret:
                del self.fields["clear_password"]
        else:
            del self.fields["clear_password"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        try:
            _, host = parse_registry_url(url)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        # One row per host (the column is unique): pulls and searches find a registry's credentials by its host.
        other = Registry.objects.exclude(pk=self.instance.pk).filter(host=host).first()
        if other is not None:
            raise forms.ValidationError(f"The registry {other.name} already has the address {host}.")
        return url

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("password") and not data.get("username", "").strip():
            self.add_error(
                "username", "A password or token needs a username (for a token, the name the registry expects)."
            )
        if data.get("password") and data.get("clear_password"):
            self.add_error("clear_password", "Either type a new password or remove the stored one, not both.")
        return data

    def service_fields(self) -> dict[str, str]:
        """What registry_create takes from a valid form (the page and the API submit through this one map)."""
        data = self.cleaned_data
        return {"name": data["name"], "url": data["url"], "username": data["username"], "password": data["password"]}

    def change_fields(self) -> dict[str, Any]:
        """What registry_update takes: the same, and whether to forget the stored password."""
        return {**self.service_fields(), "clear_password": self.cleaned_data.get("clear_password", False)}
