"""The tasks Celery beat sends (schedule: config/celery.py): thin, each one service call.

Idempotent by construction (see services/scheduled.py), so a late or doubled run is harmless.
No acks_late here: a run lost with its worker is simply done again at the next interval.
"""

from __future__ import annotations

from celery import shared_task

from images_app.services import scheduled


@shared_task(name="images_app.stale_jobs_sweep", ignore_result=True, acks_late=False)
def stale_jobs_sweep() -> dict[str, int]:
    result = scheduled.stale_jobs_sweep()
    return {"pulls": result.pulls, "removal_jobs": result.removal_jobs}


@shared_task(name="images_app.overdue_requests_expire", ignore_result=True, acks_late=False)
def overdue_requests_expire() -> int:
    return scheduled.overdue_requests_expire()


@shared_task(name="images_app.audit_retention", ignore_result=True, acks_late=False)
def audit_retention() -> int:
    return scheduled.audit_retention_run()


@shared_task(name="images_app.audit_verify", ignore_result=True, acks_late=False)
def audit_verify() -> bool:
    return scheduled.audit_verify_run()
