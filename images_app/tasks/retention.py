"""Retention on schedule: beat calls this every minute; the service runs the policies that are due."""

from __future__ import annotations

from celery import shared_task

from images_app.services.retention import policies_run_due


@shared_task(name="images_app.retention_run_due", acks_late=True)
def retention_run_due() -> int:
    return policies_run_due()
