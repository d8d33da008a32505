"""Removal jobs: a queued row of frozen items, run once (claimed by a conditional UPDATE), inline or on a worker.

A job that executes a cleanup request marks the request executed itself, so this module never
imports cleanup_requests (that one uses removal: imports go one way).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from images_app.errors import BrokerUnavailable
from images_app.models import AuditAction, CleanupRequest, Environment, RemovalJob
from images_app.models.transitions import transition
from images_app.services.audit import audit_record, audit_record_for_request
from images_app.services.removal.contracts import (
    FrozenItem,
    ItemResult,
    Outcome,
    items_from_json,
    items_to_json,
    results_from_json,
    results_summary,
)
from images_app.services.removal.execute import removal_execute


def removal_job_create(
    *,
    environment: Environment,
    kind: str,
    items: Sequence[FrozenItem],
    actor: User,
    cleanup_request: CleanupRequest | None = None,
) -> RemovalJob:
    """A queued job for these frozen items (nothing runs yet)."""
    return RemovalJob.objects.create(
        environment=environment,
        kind=kind,
        items=items_to_json(items),
        created_by=actor,
        cleanup_request=cleanup_request,
    )


def removal_job_should_inline(items: Sequence[object]) -> bool:
    """Short removals run in the request; longer ones go to a worker with a progress page."""
    return len(items) <= settings.BERTH_REMOVAL_INLINE_MAX


def removal_job_start(*, job: RemovalJob, request: HttpRequest | None = None) -> bool:
    """Run a short job now, in the request, or queue a long one; True when it ran here (results on `job`)."""
    if removal_job_should_inline(job.items):
        if removal_job_run(job_id=job.pk, request=request) is not None:
            job.refresh_from_db()
        return True
    removal_job_enqueue(job)
    return False


def removal_job_enqueue(job: RemovalJob) -> None:
    """Hand the job to a worker once the row is committed."""
    from images_app.tasks.removal import removal_job_execute

    def publish() -> None:
        try:
            removal_job_execute.delay(job.pk)
        except Exception as exc:
            transition(
                RemovalJob,
                job.pk,
                RemovalJob.Status.FAILED,
                only_from=[RemovalJob.Status.QUEUED],
                finished_at=timezone.now(),
                error_message=f"The job queue is not answering; nothing was removed ({exc.__class__.__name__}).",
            )
            raise BrokerUnavailable("The job queue (Redis) is not answering; nothing was removed.") from exc

    transaction.on_commit(publish)


def _claim(job_id: int) -> bool:
    now = timezone.now()
    claimed = transition(RemovalJob, job_id, RemovalJob.Status.RUNNING, started_at=now, heartbeat_at=now)
    if claimed:
        return True
    # A worker that died mid-job leaves it running; a redelivery after the stale time resumes it.
    stale = now - timedelta(seconds=settings.BERTH_PULL_STALE_SECONDS)
    return bool(
        RemovalJob.objects.filter(pk=job_id, status=RemovalJob.Status.RUNNING, heartbeat_at__lt=stale).update(
            heartbeat_at=now
        )
    )


def removal_jobs_sweep_stale(*, now: datetime | None = None) -> int:
    """End running jobs whose worker stopped reporting for BERTH_REMOVAL_STALE_SECONDS; how many (audited).

    A job reports after every item, so silence that long means its worker died. Without this a job
    stays "running" until Redis redelivers its task (the visibility timeout, an hour by default).
    """
    now = now or timezone.now()
    seconds = settings.BERTH_REMOVAL_STALE_SECONDS
    silent = Q(heartbeat_at__lt=now - timedelta(seconds=seconds))
    swept = 0
    for job in RemovalJob.objects.filter(silent, status=RemovalJob.Status.RUNNING).select_related("environment"):
        done = results_from_json(job.results or [])
        status = RemovalJob.Status.PARTIAL if any(r.ok for r in done) else RemovalJob.Status.FAILED
        message = (
            f"The worker stopped responding (nothing for {seconds} s): the job was abandoned "
            f"after {len(done)} of {len(job.items)} items; ask again for the rest."
        )
        with transaction.atomic():
            # Re-checked in the UPDATE: a job that reported meanwhile is left alone.
            moved = transition(
                RemovalJob,
                job.pk,
                status,
                only_from=[RemovalJob.Status.RUNNING],
                where=silent,
                finished_at=now,
                error_message=message,
                done_count=len(done),
            )
            if not moved:
                continue
            audit_record(
                action=AuditAction.REMOVAL_JOB_ABANDONED,
                outcome="failure",
                environment=job.environment,
                parameters={"done": len(done), "items": len(job.items)},
                message=message,
                removal_job=job,
                cleanup_request=job.cleanup_request,
            )
        swept += 1
        job.refresh_from_db()
        if job.cleanup_request is not None:
            _cleanup_request_finish(cleanup_request=job.cleanup_request, job=job)
    return swept


def removal_job_run(*, job_id: int, request: HttpRequest | None = None) -> RemovalJob | None:
    """Run a queued job exactly once (conditional UPDATE claims it); None when someone else has it."""
    if not _claim(job_id):
        return None
    job = RemovalJob.objects.select_related("environment", "created_by", "cleanup_request").get(pk=job_id)
    done = results_from_json(job.results or [])

    def record(index: int, result: ItemResult) -> None:
        done.append(result)
        RemovalJob.objects.filter(pk=job.pk).update(
            results=[r.to_json() for r in done], done_count=F("done_count") + 1, heartbeat_at=timezone.now()
        )

    try:
        removal_execute(
            environment=job.environment,
            items=items_from_json(job.items),
            actor=job.created_by,
            request=request,
            removal_job=job,
            cleanup_request=job.cleanup_request,
            on_result=record,
            skip=len(done),
        )
        error = ""
    except Exception as exc:  # noqa: BLE001  (the job must end in a final state whatever happens)
        error = f"{exc.__class__.__name__}: {exc}"
    ok = [r for r in done if r.ok]
    if error or not ok and done:
        status = RemovalJob.Status.FAILED if not ok else RemovalJob.Status.PARTIAL
    else:
        status = RemovalJob.Status.SUCCEEDED if len(ok) == len(done) else RemovalJob.Status.PARTIAL
    transition(
        RemovalJob,
        job.pk,
        status,
        only_from=[RemovalJob.Status.RUNNING],
        finished_at=timezone.now(),
        error_message=error,
        results=[r.to_json() for r in done],
        done_count=len(done),
    )
    job.refresh_from_db()
    if job.cleanup_request is not None:
        _cleanup_request_finish(cleanup_request=job.cleanup_request, job=job)
    return job


def _cleanup_request_finish(*, cleanup_request: CleanupRequest, job: RemovalJob) -> None:
    """Store the job's per-item results on the request and mark it executed (once)."""
    won = transition(
        CleanupRequest,
        cleanup_request.pk,
        CleanupRequest.Status.EXECUTED,
        executed_at=timezone.now(),
        results=job.results,
    )
    if not won:
        return
    results = results_from_json(job.results)
    summary = results_summary(results)
    failed = summary[Outcome.FAILED] + summary[Outcome.SKIPPED]
    audit_record_for_request(
        cleanup_request,
        action="cleanup_executed",
        outcome="success" if not failed and not job.error_message else "failure",
        actor=job.created_by,
        parameters={
            "summary": summary,
            "items": [{"reference": r.reference, "image_id": r.image_id, "outcome": str(r.outcome)} for r in results],
        },
        message=job.error_message,
        removal_job=job,
    )
