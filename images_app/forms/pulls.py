"""The pull form: a reference as `docker pull` takes it, and optionally a registry's credentials.

The pull page and the API (images_app/api/) validate with this one form.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from django import forms

from images_app.models import Registry
from images_app.references import BadReference, is_docker_hub, parse_reference
from images_app.selectors.registries import registries_all, registry_serves


class PullForm(forms.Form):
    reference = forms.CharField(
        max_length=512,
        label="Image",
        help_text="As for docker pull: [registry/]repository[:tag][@digest]; the tag defaults to latest.",
    )
    registry = forms.ModelChoiceField(
        queryset=registries_all().none(),
        required=False,
        empty_label="None (public image)",
        help_text="Pull with this registry's stored credentials (sent for this pull only).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        registries = registries_all()
        if registries.exists():
            cast("forms.ModelChoiceField[Registry]", self.fields["registry"]).queryset = registries
        else:
            del self.fields["registry"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        text = cleaned.get("reference")
        if not text:
            return cleaned
        try:
            ref = parse_reference(text)
            registry = cleaned.get("registry")
            if registry is not None and registry.host is None:
                self.add_error("registry", f"The stored address of {registry.name} is not valid: an admin must fix it.")
                return cleaned
            if registry is not None:
                host = registry.host
                if ref.registry is None and not is_docker_hub(host):
                    ref = dataclasses.replace(ref, registry=host)
                elif not registry_serves(registry, ref):
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
