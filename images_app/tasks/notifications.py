"""Notification tasks: build one event's notification; deliver one delivery, retrying with backoff."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings

from images_app.notification_payloads import backoff_seconds
from images_app.services import notifications


@shared_task(name="images_app.notification_build", acks_late=True, ignore_result=True)
def notification_build(event: str, object_id: int) -> None:
    notifications.notification_build(event, object_id)


# The Delivery row's state decides (pending/sending/sent/failed), so a redelivered message or a
# retry after the row is done changes nothing; max_retries=None because the row counts attempts.
@shared_task(bind=True, name="images_app.notification_deliver", acks_late=True, ignore_result=True, max_retries=None)
def notification_deliver(self: Task[Any, Any], delivery_id: int) -> None:
    outcome, attempts = notifications.delivery_attempt(delivery_id)
    if outcome == "retry":
        raise self.retry(countdown=backoff_seconds(attempts, settings.BERTH_NOTIFY_RETRY_SECONDS))
