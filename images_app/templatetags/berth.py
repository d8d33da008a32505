from __future__ import annotations

from datetime import datetime

from django import template

from images_app import references
from images_app.sizes_and_ages import human_age, human_size

register = template.Library()


@register.filter
def filesize(value: int | None) -> str:
    return human_size(value)


@register.filter
def age(value: datetime | None) -> str:
    return human_age(value)


@register.filter
def short_id(value: str | None) -> str:
    return references.short_id(value or "")


@register.filter
def percent(part: int | float | None, whole: int | float | None) -> int:
    if not whole:
        return 0
    return max(0, min(100, round(100 * float(part or 0) / float(whole))))
