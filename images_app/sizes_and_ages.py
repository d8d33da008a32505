"""Sizes and ages written the way the Docker CLI writes them."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

_DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]


def human_size(size: int | float | None) -> str:
    """Decimal units with three significant digits, as `docker image ls` ("77.9MB", "1.23GB")."""
    if size is None:
        return ""
    value = float(size)
    if value < 0:
        return "-" + human_size(-value)
    unit = 0
    while value >= 1000 and unit < len(_DECIMAL_UNITS) - 1:
        value /= 1000
        unit += 1
    text = f"{value:.3g}"
    if "e" in text:  # 3 significant digits of 999.5 round up to "1e+03"
        text = f"{value:.0f}"
    return f"{text}{_DECIMAL_UNITS[unit]}"


def human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration: "Less than a second", "About an hour", "5 months"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def human_age(moment: datetime | None, now: datetime | None = None) -> str:
    """`5 months ago`, as the CLI's CREATED column."""
    if moment is None:
        return "N/A"
    now = now or timezone.now()
    return f"{human_duration((now - moment).total_seconds())} ago"
