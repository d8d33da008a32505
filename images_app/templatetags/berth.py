from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static

from images_app import references
from images_app.sizes_and_ages import human_size, shown_age

register = template.Library()


@register.simple_tag
def asset(path: str) -> str:
    """`{% static path %}`, remembered: a static file's URL is fixed while a process runs (the
    manifest of hashed names is read once), yet working it out again was a tenth of a kept page's
    CPU (the storage's lookups and Django asking which apps are installed, each time)."""
    return _asset_url(path)


@lru_cache(maxsize=64)
def _asset_url(path: str) -> str:
    return static(path)


@receiver(setting_changed)
def _forget_asset_urls(*, setting: str, **kwargs: Any) -> None:
    if setting in {"STATIC_URL", "STATIC_ROOT", "STORAGES", "INSTALLED_APPS"}:
        _asset_url.cache_clear()


@register.filter
def filesize(value: int | None) -> str:
    return human_size(value)


@register.filter
def age(value: datetime | None) -> str:
    """`5 minutes ago`; in a kept part, a mark written as the age when the part is shown."""
    return shown_age(value)


@register.filter
def short_id(value: str | None) -> str:
    return references.short_id(value or "")


@register.filter
def percent(part: int | float | None, whole: int | float | None) -> int:
    if not whole:
        return 0
    return max(0, min(100, round(100 * float(part or 0) / float(whole))))
