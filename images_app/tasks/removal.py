"""Removal jobs on a worker: thin, idempotent (the service claims the row with a conditional UPDATE)."""

from __future__ import annotations

from celery import shared_task

from images_app.services.removal import removal_job_run


@shared_task(name="images_app.removal_job_execute", acks_late=True)
def removal_job_execute(job_id: int) -> None:
    removal_job_run(job_id=job_id)
