"""What the pull pages show."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from images_app import pull_stream
from images_app.models import Environment, PullJob
from images_app.pull_snapshot import ProgressSnapshot
from images_app.selectors.prepared import PreparedRows


def pulls_running(environment: Environment) -> QuerySet[PullJob]:
    """Queued and running pulls of an environment, oldest first (the images list shows them)."""
    return (
        PullJob.objects.filter(environment=environment, status__in=PullJob.ACTIVE)
        .select_related("requested_by", "environment")
        .order_by("created_at")
    )


_RUNNING_BANNER = PreparedRows(
    PullJob,
    "{environment_id} = %s AND {status} IN (" + ", ".join(["%s"] * len(PullJob.ACTIVE)) + ")",
    params=("environment_id", *["status"] * len(PullJob.ACTIVE)),
    order_by="{created_at}",
    limit=10,
    # A running pull's per-layer progress is kilobytes of JSON rewritten as it goes: decoding it
    # on every list page was a tenth of the page's CPU while a pull ran (bench.load). Not shown here.
    leave_out=("progress", "error_message"),
)


def pulls_running_banner(environment: Environment) -> list[PullJob]:
    """The first ten of pulls_running, without their requester: the images list's banner.

    Every list page reads it, so the read is prepared once (selectors.prepared).
    """
    jobs = _RUNNING_BANNER.all(environment.pk, *PullJob.ACTIVE)
    for job in jobs:
        PullJob._meta.get_field("environment").set_cached_value(job, environment)
    return jobs


def pulls_recent(environment: Environment, *, limit: int = 50) -> QuerySet[PullJob]:
    return (
        PullJob.objects.filter(environment=environment)
        .select_related("requested_by", "environment")
        .order_by("-created_at")[:limit]
    )


def pull_get(environment: Environment, job_id: int) -> PullJob | None:
    return PullJob.objects.filter(environment=environment, pk=job_id).select_related("requested_by", "registry").first()


async def pull_get_fresh(job_id: int) -> PullJob:
    """The job as the database has it now (the event stream's fallback when Redis has no snapshot)."""
    return await PullJob.objects.select_related("requested_by").aget(pk=job_id)


async def pull_is_active(job_id: int) -> bool:
    return await PullJob.objects.filter(pk=job_id, status__in=PullJob.ACTIVE).aexists()


def pull_state(job: PullJob) -> dict[str, Any]:
    """The job's current state: Redis's live snapshot while it runs, the database's otherwise."""
    if job.is_active:
        snapshot = pull_stream.read_snapshot(job.pk)
        if snapshot is not None and snapshot.get("status") == job.status:
            return snapshot
    return {"seq": 0, **job_state(job)}


def job_state(job: PullJob) -> dict[str, Any]:
    """The whole state of a job as pages and streams draw it (JSON; no "seq": the publisher adds it)."""
    try:
        progress = ProgressSnapshot.from_json(job.progress)
    except ValueError:
        progress = None  # a damaged row still shows its status and counters
    if progress is None:
        # Nothing reported yet: the row's own counters.
        overall: dict[str, Any] = {"bytes_done": job.bytes_downloaded, "bytes_total": job.bytes_total}
        return {
            "status": job.status,
            "layers": [],
            "overall": overall,
            "digest": job.digest,
            "status_line": job.status_line,
            "message": "",
            "error": job.error_message,
            "image_id": job.image_id,
        }
    return {
        "status": job.status,
        "layers": [layer.to_json() for layer in progress.layers],
        "overall": progress.overall.to_json(),
        "digest": job.digest or progress.digest,
        "status_line": job.status_line or progress.status_line,
        "message": progress.message,
        "error": job.error_message,
        "image_id": job.image_id,
    }
