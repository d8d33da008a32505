"""Pulls: asked for on the web, run by a Celery worker, watched live.

State first, as everywhere in Berth: the PullJob row moves through its
TRANSITIONS with conditional UPDATEs (a redelivered task or a double click
changes nothing twice), the worker heartbeats, and a sweep fails jobs whose
worker died, so no job stays "running" forever.

Why one module over ~350 lines: it is one job's life, read top to bottom (start or join, enqueue,
cancel, claim, run with heartbeat and stall watch, finish, sweep); the parsing of the engine's stream
lives in pull_progress.py and the snapshot in pull_snapshot.py. Splitting it further is left for
when scheduled sweeps (Celery beat) move here, so the two changes do not collide.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from images_app import engine, pull_stream
from images_app.engine.pulls import PullCancelled
from images_app.errors import (
    BerthError,
    BrokerUnavailable,
    EngineUnavailable,
    ImageNotFound,
    PullFailed,
    ReadOnlyMode,
)
from images_app.models import AuditAction, Environment, PullJob, Registry
from images_app.models.transitions import transition
from images_app.pull_progress import PullProgress, StallWatch
from images_app.references import ImageReference, parse_reference
from images_app.selectors.pulls import job_state
from images_app.selectors.registries import registry_auth_for_pull
from images_app.services.audit import audit_record
from images_app.services.notifications import NotificationEvent, notify

logger = logging.getLogger(__name__)

Status = PullJob.Status

HEARTBEAT_SECONDS = 2.0
# The database copy of the progress is for pages opened after Redis lost it: once a second is plenty.
PERSIST_SECONDS = 1.0
# A redelivered job whose heartbeat is this old has no live worker: the new delivery takes it over.
TAKEOVER_SECONDS = 3 * HEARTBEAT_SECONDS
MAX_ATTEMPTS = 3
STALE_MESSAGE = "The worker stopped responding (no heartbeat for {seconds} s): the pull was abandoned."


# --- asking for a pull ---------------------------------------------------------


def broker_check() -> None:
    """Raise BrokerUnavailable unless Redis answers within a second."""
    url = settings.CELERY_BROKER_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise BrokerUnavailable(f"The job queue (Redis) is not answering, so the pull was not queued: {exc}") from exc
    finally:
        client.close()


def _active_job(environment: Environment, reference: str) -> PullJob | None:
    return PullJob.objects.filter(environment=environment, reference=reference, status__in=PullJob.ACTIVE).first()


def pull_start(
    *,
    user: User,
    environment: Environment,
    reference: str | ImageReference,
    registry: Registry | None = None,
    request: HttpRequest | None = None,
) -> tuple[PullJob, bool]:
    """Queue a pull, or join the one already active for this reference; returns (job, joined).

    Raises BadReference, PermissionDenied, ReadOnlyMode, or BrokerUnavailable (no job left behind).
    """
    if settings.BERTH_READ_ONLY:
        raise ReadOnlyMode()
    if not user.has_perm("images_app.pull_image"):
        raise PermissionDenied("Your role may not pull images.")
    ref = reference if isinstance(reference, ImageReference) else parse_reference(reference)
    canonical = str(ref)
    parameters = {"reference": canonical, "registry": registry.name if registry else ""}

    # A dead worker's job still holds the "one active pull" slot: free it first.
    pulls_sweep_stale()
    existing = _active_job(environment, canonical)
    if existing is not None:
        return _joined(existing, user, request, parameters), True

    try:
        broker_check()
    except BrokerUnavailable as exc:
        audit_record(
            action="pull_requested",
            outcome="failure",
            actor=user,
            request=request,
            environment=environment,
            target_reference=canonical,
            parameters=parameters,
            message=exc.message,
        )
        raise

    try:
        with transaction.atomic():
            job = PullJob.objects.create(
                environment=environment, reference=canonical, registry=registry, requested_by=user
            )
            audit_record(
                action="pull_requested",
                outcome="success",
                actor=user,
                request=request,
                environment=environment,
                target_reference=canonical,
                parameters=parameters,
                pull_job=job,
            )
            # Only a committed row may be worked on: the task is sent after COMMIT.
            transaction.on_commit(lambda: _enqueue(job))
    except IntegrityError:
        # Someone queued the same reference between our check and our INSERT.
        existing = _active_job(environment, canonical)
        if existing is None:
            raise
        return _joined(existing, user, request, parameters), True
    return job, False


def _joined(job: PullJob, user: User, request: HttpRequest | None, parameters: dict[str, Any]) -> PullJob:
    audit_record(
        action="pull_requested",
        outcome="info",
        actor=user,
        request=request,
        environment=job.environment,
        target_reference=job.reference,
        parameters=parameters,
        pull_job=job,
        message=f"Already being pulled: joined pull #{job.pk}",
    )
    return job


def _enqueue(job: PullJob) -> None:
    """Send the task; if Redis refuses now, the job fails at once instead of pretending to be queued."""
    from config.celery import app
    from images_app.tasks.pulls import pull_run

    pull_stream.forget(job.pk)
    try:
        # The URL is read now (not at import), and neither kombu nor the socket may wait long:
        # kombu's default keeps reconnecting for broker_connection_timeout, a 503 beats a hang.
        fail_fast = {"max_retries": 0, "socket_connect_timeout": 2, "socket_timeout": 3}
        with app.connection_for_write(settings.CELERY_BROKER_URL, transport_options=fail_fast) as conn:
            pull_run.apply_async(
                args=(job.pk,),
                connection=conn,  # type: ignore[call-arg]  # celery-types lacks `connection`
                retry=False,
                queue=settings.CELERY_TASK_DEFAULT_QUEUE,
            )
    except Exception as exc:  # kombu/redis/socket errors all mean "not queued"
        message = f"The job queue (Redis) did not accept the pull: {exc}"
        _finish(job, Status.FAILED, from_statuses=(Status.QUEUED,), error=message, actor=job.requested_by)
        raise BrokerUnavailable(message) from exc


# --- cancelling --------------------------------------------------------------


def pull_can_cancel(user: User, job: PullJob) -> bool:
    if user.has_perm("images_app.cancel_any_pull"):
        return True
    return job.requested_by_id == user.pk and user.has_perm("images_app.pull_image")


def pull_cancel(*, user: User, job: PullJob, request: HttpRequest | None = None) -> str:
    """Cancel a pull: "cancelled" (it was queued), "cancelling" (the worker will stop) or "finished"."""
    if not pull_can_cancel(user, job):
        audit_record(
            action="pull_cancel",
            outcome="denied",
            actor=user,
            request=request,
            environment=job.environment,
            target_reference=job.reference,
            pull_job=job,
            message="Only the person who started a pull, or an admin, may cancel it",
        )
        raise PermissionDenied("Only the person who started this pull, or an admin, may cancel it.")
    message = f"Cancelled by {user.get_username()}"
    if _finish(job, Status.CANCELLED, from_statuses=(Status.QUEUED,), error=message, actor=user, request=request):
        return "cancelled"
    updated = PullJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(cancel_requested=True)
    if not updated:
        return "finished"
    pull_stream.request_cancel(job.pk)
    audit_record(
        action="pull_cancel_requested",
        outcome="info",
        actor=user,
        request=request,
        environment=job.environment,
        target_reference=job.reference,
        pull_job=job,
        message="The worker stops the pull at its next progress event",
    )
    return "cancelling"


# --- finishing and sweeping ----------------------------------------------------


# Each final status, as the audit event that records it.
_FINISHED_AUDIT = {
    Status.SUCCEEDED: (AuditAction.PULL_SUCCEEDED, "success"),
    Status.FAILED: (AuditAction.PULL_FAILED, "failure"),
    Status.CANCELLED: (AuditAction.PULL_CANCELLED, "success"),
}


def _finish(
    job: PullJob,
    status: str,
    *,
    from_statuses: tuple[str, ...] = (Status.RUNNING,),  # within PullJob.TRANSITIONS
    error: str = "",
    actor: User | None = None,
    request: HttpRequest | None = None,
    progress: PullProgress | None = None,
    image_id: str = "",
) -> bool:
    """Move the job to a final status (if it is still in one of from_statuses), audit and announce it once."""
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "finished_at": now, "heartbeat_at": now, "error_message": error}
    if progress is not None:
        snapshot = progress.snapshot()
        fields.update(
            progress=snapshot.to_json(),
            digest=progress.digest[:100],
            status_line=progress.status_line[:300],
            bytes_downloaded=snapshot.overall.bytes_done,
            bytes_total=snapshot.overall.bytes_total,
        )
    if image_id:
        fields["image_id"] = image_id
    if status == Status.CANCELLED:
        fields["cancel_requested"] = True
    with transaction.atomic():
        if not transition(PullJob, job.pk, fields.pop("status"), only_from=from_statuses, **fields):
            return False
        job.refresh_from_db()
        action, outcome = _FINISHED_AUDIT[Status(status)]
        audit_record(
            action=action,
            outcome=outcome,
            actor=actor,
            request=request,
            environment=job.environment,
            target_reference=job.reference,
            target_image_id=job.image_id,
            parameters={"digest": job.digest, "bytes": job.bytes_total} if status == Status.SUCCEEDED else None,
            message=error or job.status_line,
            pull_job=job,
        )
        if status == Status.FAILED:
            notify(NotificationEvent.PULL_FAILED, job.pk)  # to whoever asked, once the failure is committed
    state = job_state(job)
    pull_stream.publish_quietly(job.pk, {"type": "end", "t": time.time(), **state}, state)
    return True


def pulls_sweep_stale(*, now: datetime | None = None) -> int:
    """Fail running jobs whose worker stopped heartbeating; returns how many."""
    now = now or timezone.now()
    seconds = settings.BERTH_PULL_STALE_SECONDS
    cutoff = now - timedelta(seconds=seconds)
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    stale = Q(status=Status.RUNNING) & silent
    swept = 0
    for job in PullJob.objects.filter(stale).select_related("environment"):
        # _finish re-checks the status in its UPDATE: a job finishing right now is left alone.
        if _finish(job, Status.FAILED, error=STALE_MESSAGE.format(seconds=seconds)):
            swept += 1
    return swept


# --- running (in the worker) ---------------------------------------------------


def _claim(job_id: int) -> PullJob | None:
    """queued -> running; or take over a running job whose worker died (a redelivery)."""
    now = timezone.now()
    claim: dict[str, Any] = {
        "started_at": Coalesce(F("started_at"), Value(now)),
        "heartbeat_at": now,
        "attempts": F("attempts") + 1,
    }
    # A takeover keeps the status (running -> running is no transition): only the heartbeat and attempts move.
    takeover = Q(pk=job_id, status=Status.RUNNING, attempts__lt=MAX_ATTEMPTS) & Q(
        heartbeat_at__lt=now - timedelta(seconds=TAKEOVER_SECONDS)
    )
    updated = transition(PullJob, job_id, Status.RUNNING, **claim) or PullJob.objects.filter(takeover).update(**claim)
    if not updated:
        return None
    return PullJob.objects.select_related("environment", "registry", "requested_by").get(pk=job_id)


def registry_credentials(job: PullJob) -> dict[str, str] | None:
    """Credentials for this pull only: the chosen registry's, or the one registered for the reference's host."""
    return registry_auth_for_pull(job.reference, job.registry)


def failure_text(exc: BerthError) -> str:
    """The engine's message, with what it means in plain words in front."""
    text = exc.message
    lower = text.lower()
    if isinstance(exc, EngineUnavailable):
        return text
    if isinstance(exc, ImageNotFound) or "manifest unknown" in lower or "not found" in lower:
        meaning = "The registry has no such image or tag"
    elif any(s in lower for s in ("no basic auth credentials", "unauthorized", "authentication required", "denied")):
        meaning = "The registry requires valid credentials"
    elif any(
        s in lower
        for s in ("connection refused", "no such host", "i/o timeout", "dial tcp", "timeout", "connection lost")
    ):
        meaning = "The registry could not be reached"
    elif "no space left" in lower:
        meaning = "The engine's disk is full"
    else:
        meaning = "The pull failed"
    return f"{meaning}: {text}"


class _Heartbeat(threading.Thread):
    """Beats while the pull runs, even when the engine is silent (a slow registry)."""

    def __init__(self, job_id: int, stop_pull: threading.Event) -> None:
        super().__init__(name=f"pull-{job_id}-heartbeat", daemon=True)
        self.job_id = job_id
        self.stop_pull = stop_pull
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(HEARTBEAT_SECONDS):
                alive = PullJob.objects.filter(pk=self.job_id, status=Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
                cancelled = PullJob.objects.filter(pk=self.job_id, cancel_requested=True).exists()
                if not alive or cancelled:
                    # Swept, or cancelled while Redis (the fast path) was unavailable.
                    self.stop_pull.set()
        except Exception:  # a lost beat must not kill the pull; the sweep is the backstop
            logger.exception("Heartbeat of pull %s failed", self.job_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


def pull_execute(job_id: int) -> PullJob | None:
    """Run the pull of a queued job to its end; a job not claimable (done, or alive elsewhere) is left alone."""
    job = _claim(job_id)
    if job is None:
        return None
    progress = PullProgress()
    stop = threading.Event()
    heartbeat = _Heartbeat(job.pk, stop)
    heartbeat.start()
    try:
        ref = parse_reference(job.reference)
        repository, tag = ref.pull_args()
        auth = registry_credentials(job)
        _publish_progress(job, progress, None, time.time())
        last_persist = time.monotonic()
        stall = StallWatch(settings.BERTH_PULL_STALL_SECONDS)
        events = engine.pull_events(job.environment, repository, tag, auth=auth, should_stop=stop.is_set)
        for event in events:
            received = time.time()
            layer = progress.apply(event)
            if _publish_progress(job, progress, layer, received):
                stop.set()
            if (waited := stall.stalled_for(progress, time.monotonic())) is not None:
                events.close()  # closes the connection: the engine abandons the pull
                raise PullFailed(
                    f"no data from the registry for {waited:.0f} s while the engine kept retrying "
                    "(connection lost mid-pull); try again once the registry is back"
                )
            if time.monotonic() - last_persist >= PERSIST_SECONDS:
                last_persist = time.monotonic()
                _persist(job, progress)
        _finish(job, Status.SUCCEEDED, actor=job.requested_by, progress=progress, image_id=_image_id(job, ref))
    except PullCancelled:
        _finish(job, Status.CANCELLED, error="Cancelled on request while pulling", progress=progress)
    except (PullFailed, BerthError) as exc:
        _finish(job, Status.FAILED, error=failure_text(exc), actor=job.requested_by, progress=progress)
    except Exception as exc:  # whatever happens, the job must not stay running
        logger.exception("Pull %s crashed", job.pk)
        _finish(job, Status.FAILED, error=f"Unexpected error in the worker: {exc}", progress=progress)
    finally:
        heartbeat.stop()
    job.refresh_from_db()
    return job


def _image_id(job: PullJob, ref: ImageReference) -> str:
    """The pulled image's ID; the pull stands even if the image vanished right after it."""
    repository, tag = ref.pull_args()
    separator = "@" if ref.digest else ":"
    try:
        return engine.inspect_image(job.environment, f"{repository}{separator}{tag}").id
    except BerthError as exc:
        logger.warning("Pulled %s but could not inspect it: %s", job.reference, exc.message)
        return ""


def _publish_progress(job: PullJob, progress: PullProgress, layer: Any, received: float) -> bool:
    """Announce one event; True when a cancel was asked for."""
    snapshot = progress.snapshot()
    message = {
        "type": "progress",
        "t": received,  # when the worker got it from the engine: the benchmark measures the relay from here
        "status": Status.RUNNING,
        "layer": layer.snapshot().to_json() if layer is not None else None,
        "overall": snapshot.overall.to_json(),
        "digest": snapshot.digest,
        "status_line": snapshot.status_line,
        "message": snapshot.message,
    }
    state = {"status": Status.RUNNING, **snapshot.to_json(), "error": "", "image_id": ""}
    return pull_stream.publish_quietly(job.pk, message, state)


def _persist(job: PullJob, progress: PullProgress) -> None:
    snapshot = progress.snapshot()
    PullJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        progress=snapshot.to_json(),
        bytes_downloaded=snapshot.overall.bytes_done,
        bytes_total=snapshot.overall.bytes_total,
        digest=progress.digest[:100],
        heartbeat_at=timezone.now(),
    )
