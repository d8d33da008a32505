"""The search form: what `docker search [--filter ...] [--limit N] TERM` takes, validated."""

from __future__ import annotations

import unicodedata
from typing import Any, cast

from django import forms

from images_app.references import is_docker_hub, looks_like_registry
from images_app.selectors.registries import registries_all, registry_for_host, registry_get_or_none
from images_app.selectors.search import SearchQuery

MAX_TERM_LENGTH = 200
MAX_STARS = 10_000_000


class SearchForm(forms.Form):
    term = forms.CharField(
        max_length=MAX_TERM_LENGTH,
        label="Search for",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. nginx", "autofocus": True}),
        help_text="Searches Docker Hub; to search a registered registry's index, pick it or write its host first.",
    )
    index = forms.ChoiceField(label="Index", required=False)
    official = forms.BooleanField(label="Official images only", required=False)
    min_stars = forms.IntegerField(label="Minimum stars", required=False, min_value=0, max_value=MAX_STARS)
    limit = forms.IntegerField(label="Results", required=False, min_value=1, max_value=100, initial=25)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Docker Hub")]
        for registry in registries_all():
            if registry.host is not None:  # an address that no longer parses names no index
                choices.append((str(registry.pk), f"{registry.name} ({registry.host})"))
        cast(forms.ChoiceField, self.fields["index"]).choices = choices

    def clean_term(self) -> str:
        term: str = self.cleaned_data["term"]
        bad = next((ch for ch in term if unicodedata.category(ch).startswith("C")), None)
        if bad is not None:
            raise forms.ValidationError(f"The search term contains an invisible control character ({ascii(bad)}).")
        return term

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        term = data.get("term")
        if not term:
            return data
        registry = None
        if data.get("index"):
            registry = registry_get_or_none(data["index"])
            if registry is not None and registry.host is None:
                registry = None
        first, slash, rest = term.partition("/")
        if slash and looks_like_registry(first):
            host = first.lower()
            if not rest.strip():
                self.add_error("term", f"Write what to search for after {first}/")
                return data
            term = rest.strip()
            if is_docker_hub(host):
                named = None
            else:
                named = registry_for_host(host)
                if named is None:
                    # The engine would call any host named here; only admins decide which ones it may.
                    self.add_error(
                        "term",
                        f"{first} is not a registered registry: Berth searches Docker Hub and the registries "
                        "an admin has added.",
                    )
                    return data
            if registry is not None and named != registry:
                self.add_error("term", f"The term names {first} but the index chosen is {registry.name}.")
                return data
            registry = named
        index_host = registry.host if registry is not None else None
        if index_host is not None and is_docker_hub(index_host):
            index_host = None  # Docker Hub registered for its credentials: the engine's default index
        data["query"] = SearchQuery(
            term=term,
            index_host=index_host,
            registry_id=registry.pk if registry is not None else None,
            official_only=bool(data.get("official")),
            min_stars=data.get("min_stars") or 0,
            limit=data.get("limit") or 25,
        )
        return data
