"""The images list's filter and sort form (a GET form: the URL is the bookmark)."""

from __future__ import annotations

import re
from functools import lru_cache

from django import forms
from django.http import QueryDict

from images_app.errors import EngineError, ImageNotFound
from images_app.references import BadReference, is_image_id_like, parse_reference
from images_app.selectors.images import SORT_COLUMNS, STATUS_CHOICES, ImageListQuery
from images_app.selectors.usage import parse_duration

# The engine matches `reference=` patterns with Go's path.Match: `*` and `?` are
# wildcards; `[` opens a character class and a malformed one silently matches
# nothing, so brackets are refused here rather than giving a confusing empty list.
_REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9._/:@*?-]{1,255}", re.ASCII)
# A label key as the engine stores it: anything printable without "=" or spaces.
_LABEL_KEY = re.compile(r"[^\s=]{1,255}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean_image_pointer(value: str) -> str:
    """`before=`/`since=` name one image: an ID (short or full) or a reference."""
    value = value.strip()
    if not value:
        return ""
    if is_image_id_like(value):
        return value
    try:
        parse_reference(value)
    except BadReference as exc:
        raise forms.ValidationError(f"Not an image ID or reference: {exc.message}") from exc
    return value


class ImageFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search", strip=True)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *STATUS_CHOICES])
    reference = forms.CharField(
        required=False,
        max_length=255,
        help_text="As `docker image ls --filter reference=`: wildcards * and ?, e.g. `*/app:1.*`",
    )
    before = forms.CharField(required=False, max_length=300, help_text="Created before this image (ID or tag)")
    since = forms.CharField(required=False, max_length=300, help_text="Created after this image (ID or tag)")
    label = forms.CharField(required=False, max_length=600, help_text="`key` or `key=value`")
    unused_for = forms.CharField(
        required=False, max_length=12, help_text="Known unused at least this long: `30d`, `12h`, `2w`"
    )
    sort = forms.ChoiceField(required=False, choices=[(c, c) for c in SORT_COLUMNS])
    order = forms.ChoiceField(required=False, choices=[("asc", "ascending"), ("desc", "descending")])

    def clean_q(self) -> str:
        value: str = self.cleaned_data["q"]
        if _CONTROL.search(value):
            raise forms.ValidationError("Search text must not contain control characters.")
        return value

    def clean_reference(self) -> str:
        value: str = self.cleaned_data["reference"].strip()
        if value and not _REFERENCE_PATTERN.fullmatch(value):
            raise forms.ValidationError(
                "A reference pattern uses letters, digits, . _ - / : @ and the wildcards * and ? only."
            )
        return value

    def clean_before(self) -> str:
        return _clean_image_pointer(str(self.cleaned_data["before"]))

    def clean_since(self) -> str:
        return _clean_image_pointer(str(self.cleaned_data["since"]))

    def clean_label(self) -> str:
        value: str = self.cleaned_data["label"].strip()
        if not value:
            return ""
        key, _, label_value = value.partition("=")
        if not _LABEL_KEY.fullmatch(key):
            raise forms.ValidationError("A label filter is `key` or `key=value`; the key has no spaces.")
        if _CONTROL.search(label_value):
            raise forms.ValidationError("A label value must not contain control characters.")
        return value

    def clean_unused_for(self) -> str:
        value: str = self.cleaned_data["unused_for"].strip().lower()
        if value:
            try:
                parse_duration(value)
            except ValueError as exc:
                raise forms.ValidationError(f"Not a duration: {exc}.") from exc
        return value

    def query(self) -> ImageListQuery:
        """The validated query (call after is_valid())."""
        data = self.cleaned_data
        return ImageListQuery(
            text=data.get("q") or "",
            status=data.get("status") or "",
            reference=data.get("reference") or "",
            before=data.get("before") or "",
            since=data.get("since") or "",
            label=data.get("label") or "",
            unused_for=data.get("unused_for") or "",
            sort=data.get("sort") or ImageListQuery.sort,
            order=data.get("order") or ImageListQuery.order,
        )


@lru_cache(maxsize=256)
def list_query(query_string: str) -> ImageListQuery | None:
    """The validated query of the list's URL query string, or None when ImageFilterForm refuses it.

    The answer depends on the query string alone, so it is worked out once per string in each
    process: building the form (deep copies of its fields) and cleaning it was a tenth of a kept
    list page's CPU (bench.load). The form itself is built only to be drawn, or to say what it refused.
    """
    form = ImageFilterForm(QueryDict(query_string))
    return form.query() if form.is_valid() else None


def filter_rejection(query: ImageListQuery, error: EngineError | ImageNotFound) -> tuple[str | None, str]:
    """(field, message) for the engine's answer to a well-formed but unusable filter (page and API)."""
    message = error.message
    for name in ("before", "since"):
        value = getattr(query, name)
        if value and value in message:
            return name, f"No image {value!r} on this engine."
    return None, f"The engine refused these filters: {message}"
