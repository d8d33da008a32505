"""The pull task: load the job, run the service. Idempotent: the job's state decides."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import connections

from images_app.services.pulls import pull_execute, pulls_sweep_stale

logger = logging.getLogger(__name__)


# acks_late + reject_on_worker_lost: a worker killed mid-pull gives the message back.
# No autoretry: a failure is recorded on the job, never looped on.
@shared_task(name="images_app.pull_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def pull_run(job_id: int) -> None:
    pull_execute(job_id)


@worker_ready.connect
def _sweep_at_start(**kwargs: object) -> None:
    # A worker that starts after a crash frees the jobs its predecessor left running.
    try:
        swept = pulls_sweep_stale()
        if swept:
            logger.warning("Marked %d abandoned pull(s) as failed", swept)
    except Exception:  # a worker must start even if the database is briefly locked
        logger.exception("Stale pull sweep at worker start failed")
    finally:
        # The main process forks pool children: it must not hold a connection they could share.
        connections.close_all()
