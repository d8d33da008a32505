"""Cleanup requests: operators ask, another person approves, the same removal code executes once.

This module uses removal (plans, jobs); removal never imports it: the job that executes a
request marks it executed itself (services.removal.jobs), so imports go one way.

Every state change is a conditional UPDATE on `status` (the model's TRANSITIONS), so two
admins approving at once, a double click or a retried task change nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from images_app import engine
from images_app.models import CleanupRequest, Environment, RemovalJob
from images_app.models.transitions import transition
from images_app.services import removal
from images_app.services.audit import audit_record_for_request
from images_app.services.notifications import NotificationEvent, notify

Status = CleanupRequest.Status


class RequestNotPending(Exception):
    """Someone else decided first, or the request expired."""

    def __init__(self, cleanup_request: CleanupRequest) -> None:
        super().__init__(f"Request #{cleanup_request.pk} is {cleanup_request.status}, not pending.")
        self.cleanup_request = cleanup_request


def cleanup_request_create(
    *,
    environment: Environment,
    kind: str,
    items: Sequence[removal.FrozenItem],
    reason: str,
    actor: User,
    request: HttpRequest | None = None,
) -> CleanupRequest:
    """Freeze the confirmed items into a pending request (nothing is removed)."""
    reason = reason.strip()
    if not reason:
        raise ValueError("A reason is required.")
    cleanup_request = CleanupRequest.objects.create(
        environment=environment,
        kind=kind,
        items=removal.items_to_json(items),
        reason=reason[:500],
        bytes_preview=sum(i.unique_size for i in items),
        requested_by=actor,
        expires_at=timezone.now() + timedelta(hours=settings.BERTH_REQUEST_EXPIRY_HOURS),
    )
    audit_record_for_request(
        cleanup_request,
        action="cleanup_requested",
        outcome="success",
        actor=actor,
        request=request,
        parameters={"kind": kind, "items": removal.items_to_json(items), "reason": cleanup_request.reason},
    )
    notify(NotificationEvent.REQUEST_PENDING, cleanup_request.pk)
    return cleanup_request


def may_approve(*, cleanup_request: CleanupRequest, user: User) -> bool:
    """Four-eyes: nobody approves their own request unless BERTH_ALLOW_SELF_APPROVAL."""
    if not user.has_perm("images_app.approve_cleanup"):
        return False
    return cleanup_request.requested_by_id != user.pk or settings.BERTH_ALLOW_SELF_APPROVAL


def cleanup_request_approve(
    *, cleanup_request: CleanupRequest, actor: User, request: HttpRequest | None = None
) -> RemovalJob:
    """Approve (once, whoever wins the race) and create the removal job that executes the frozen items.

    Raises PermissionDenied for self-approval, RequestNotPending when already decided or expired.
    """
    if not may_approve(cleanup_request=cleanup_request, user=actor):
        audit_record_for_request(
            cleanup_request,
            action="cleanup_approved",
            outcome="denied",
            actor=actor,
            request=request,
            message="Self-approval refused (four-eyes rule)."
            if cleanup_request.requested_by_id == actor.pk
            else "No permission to approve.",
        )
        raise PermissionDenied("You cannot approve your own request: another admin must (four-eyes rule).")
    requests_expire()
    # An engine that does not answer would turn the approval into a run of failures the
    # request can never retry: refuse (EngineUnavailable, 503) while it is still pending.
    engine.endpoint_ping(cleanup_request.environment)
    now = timezone.now()
    with transaction.atomic():
        won = transition(
            CleanupRequest,
            cleanup_request.pk,
            Status.APPROVED,
            where=Q(expires_at__gt=now),
            decided_by=actor,
            decided_at=now,
        )
        cleanup_request.refresh_from_db()
        if not won:
            raise RequestNotPending(cleanup_request)
        job = removal.removal_job_create(
            environment=cleanup_request.environment,
            kind=cleanup_request.kind,
            items=removal.items_from_json(cleanup_request.items),
            actor=actor,
            cleanup_request=cleanup_request,
        )
        audit_record_for_request(
            cleanup_request,
            action="cleanup_approved",
            outcome="success",
            actor=actor,
            request=request,
            parameters={"removal_job": job.pk, "requested_by": cleanup_request.requested_by.get_username()},
            removal_job=job,
        )
        notify(NotificationEvent.REQUEST_DECIDED, cleanup_request.pk)
    return job


def cleanup_request_reject(
    *, cleanup_request: CleanupRequest, actor: User, note: str, request: HttpRequest | None = None
) -> None:
    """Reject with a reason; RequestNotPending when already decided."""
    note = note.strip()
    if not note:
        raise ValueError("Say why the request is rejected.")
    requests_expire()
    now = timezone.now()
    won = transition(
        CleanupRequest, cleanup_request.pk, Status.REJECTED, decided_by=actor, decided_at=now, decision_note=note[:500]
    )
    cleanup_request.refresh_from_db()
    if not won:
        raise RequestNotPending(cleanup_request)
    audit_record_for_request(
        cleanup_request,
        action="cleanup_rejected",
        outcome="success",
        actor=actor,
        request=request,
        parameters={"note": note[:500]},
        message=note[:500],
    )
    notify(NotificationEvent.REQUEST_DECIDED, cleanup_request.pk)


def requests_expire() -> int:
    """Pending requests past expires_at become expired, one audit event each; how many expired."""
    now = timezone.now()
    count = 0
    for cleanup_request in CleanupRequest.objects.filter(status=Status.PENDING, expires_at__lte=now):
        if not transition(CleanupRequest, cleanup_request.pk, Status.EXPIRED, decided_at=now):
            continue  # decided meanwhile
        count += 1
        audit_record_for_request(
            cleanup_request,
            action="cleanup_expired",
            outcome="info",
            parameters={"expires_at": cleanup_request.expires_at.isoformat()},
        )
    return count


@dataclass(frozen=True)
class RequestedItemNow:
    """A requested item next to what removing it would do now, and how that drifted (empty: unchanged)."""

    requested: removal.FrozenItem
    now: removal.PlanItem
    changes: list[str]


def request_changes_now(*, cleanup_request: CleanupRequest) -> list[RequestedItemNow]:
    """Each requested item next to what removing it would do now (drift highlighted)."""
    items = removal.items_from_json(cleanup_request.items)
    plan = removal.removal_plan(
        environment=cleanup_request.environment, refs=[item.reference for item in items], sizes=False
    )
    return [RequestedItemNow(*row) for row in removal.request_drift(items=items, plan=plan)]
