"""The pull form: a reference as `docker pull` takes it, and optionally a registry's credentials.

The pull page and the API (images_app/api/) validate with this one form.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms

from images_app.models import Registry
from images_app.references import BadReference, parse_reference

_DOCKER_HUB_HOSTS = {"docker.io", "index.docker.io", "registry-1.docker.io"}


def registry_host(registry: Registry) -> str:
    """The host[:port] of a registry: "localhost:5000" from "http://localhost:5000/"."""
    url = registry.url.strip()
    url = url.split("://", 1)[1] if "://" in url else url
    return url.split("/", 1)[0].lower()


class PullForm(forms.Form):
    reference = forms.CharField(
        max_length=512,
        label="Image",
        help_text="As for docker pull: [registry/]repository[:tag][@digest]; the tag defaults to latest.",
    )
    registry = forms.ModelChoiceField(
        queryset=Registry.objects.none(),
        required=False,
        empty_label="None (public image)",
        help_text="Pull with this registry's stored credentials (sent for this pull only).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        registries = Registry.objects.all()
        if registries.exists():
            self.fields["registry"].queryset = registries
        else:
            del self.fields["registry"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        text = cleaned.get("reference")
        if not text:
            return cleaned
        try:
            ref = parse_reference(text)
            registry = cleaned.get("registry")
            if registry is not None:
                host = registry_host(registry)
                ref_host = ref.registry or "docker.io"
                same = ref_host == host or {ref_host, host} <= _DOCKER_HUB_HOSTS
                if ref.registry is None and host not in _DOCKER_HUB_HOSTS:
                    ref = dataclasses.replace(ref, registry=host)
                elif not same:
                    # Credentials go only to the registry they belong to.
                    self.add_error(
                        "registry",
                        f"This image is on {ref.registry or 'Docker Hub'}, not on {registry.name} ({host}).",
                    )
                    return cleaned
        except BadReference as exc:
            self.add_error("reference", exc.message)
            return cleaned
        cleaned["parsed"] = ref
        return cleaned
