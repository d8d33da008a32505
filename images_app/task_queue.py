"""Sending a Celery task without letting a Redis outage hang the page that sends it."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from images_app.errors import BrokerUnavailable


def enqueue_fail_fast(task: Any, *args: Any, what: str = "the job", **options: Any) -> None:
    """Send `task(*args)` now, or BrokerUnavailable within a few seconds if Redis does not take it.

    kombu's default keeps reconnecting for broker_connection_timeout, and the socket may wait
    longer still: a clear 503 beats a page that hangs.
    """
    from config.celery import app

    try:
        fail_fast = {"max_retries": 0, "socket_connect_timeout": 2, "socket_timeout": 3}
        with app.connection_for_write(settings.CELERY_BROKER_URL, transport_options=fail_fast) as conn:
            task.apply_async(
                args=list(args), connection=conn, retry=False, queue=settings.CELERY_TASK_DEFAULT_QUEUE, **options
            )
    except Exception as exc:
        raise BrokerUnavailable(f"The job queue (Redis) did not accept {what}: {exc}") from exc
