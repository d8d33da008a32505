"""What the pull pages show."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from images_app import pull_stream
from images_app.models import Environment, PullJob
from images_app.services.pulls import job_state


def pulls_running(environment: Environment) -> QuerySet[PullJob]:
    """Queued and running pulls of an environment, oldest first (the images list shows them)."""
    return (
        PullJob.objects.filter(environment=environment, status__in=PullJob.ACTIVE)
        .select_related("requested_by", "environment")
        .order_by("created_at")
    )


def pulls_recent(environment: Environment, *, limit: int = 50) -> QuerySet[PullJob]:
    return (
        PullJob.objects.filter(environment=environment)
        .select_related("requested_by", "environment")
        .order_by("-created_at")[:limit]
    )


def pull_get(environment: Environment, job_id: int) -> PullJob | None:
    return PullJob.objects.filter(environment=environment, pk=job_id).select_related("requested_by", "registry").first()


def pull_state(job: PullJob) -> dict[str, Any]:
    """The job's current state: Redis's live snapshot while it runs, the database's otherwise."""
    if job.is_active:
        snapshot = pull_stream.read_snapshot(job.pk)
        if snapshot is not None and snapshot.get("status") == job.status:
            return snapshot
    return {"seq": 0, **job_state(job)}
