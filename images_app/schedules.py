"""Cron-like schedules (`minute hour day-of-month month day-of-week`), parsed by Celery's own crontab.

Celery beat runs Berth's periodic work; its crontab is the parser and the clock, so a schedule
Berth accepts is one beat understands, and "is it due" has one answer.
"""

from __future__ import annotations

import re
from datetime import datetime

from celery.schedules import crontab

_FIELD = re.compile(r"[0-9A-Za-z*/,\-]{1,60}", re.ASCII)


def parse_cron(text: str) -> crontab:
    """A crontab from five fields, e.g. "30 3 * * 1-5"; ValueError with a readable message otherwise."""
    fields = text.split()
    if len(fields) != 5:
        raise ValueError("a schedule has five fields: minute hour day-of-month month day-of-week")
    if not all(_FIELD.fullmatch(field) for field in fields):
        raise ValueError("schedule fields use digits, names, * / , and - only")
    from config.celery import app

    minute, hour, day_of_month, month, day_of_week = fields
    try:
        return crontab(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week, app=app
        )
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"not a valid schedule ({exc})") from exc


def cron_due(text: str, last_run: datetime) -> bool:
    """Whether a run is due now, the last one having been at `last_run`."""
    return bool(parse_cron(text).is_due(last_run).is_due)
