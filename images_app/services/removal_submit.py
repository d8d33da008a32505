"""Acting on a confirmed removal: the confirmation page and the API submit through this one function.

The rules live here once: the snapshot is checked against a fresh plan (drift, force), nothing
to do is nothing, "remove every image" needs the environment's name, an operator's removal
is a request with a reason, and an admin's runs in the request when short or in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from images_app.models import CleanupRequest, Environment, RemovalJob
from images_app.models.cleanup import RemovalKind
from images_app.services import removal
from images_app.services.cleanup_requests import cleanup_request_create

NOTHING, REQUESTED, REMOVED, QUEUED = "nothing", "requested", "removed", "queued"


class SubmitRefused(Exception):
    """A confirmation that cannot be acted on as sent; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Submitted:
    outcome: str  # NOTHING, REQUESTED, REMOVED (in this request) or QUEUED (a worker runs it)
    items: list[removal.FrozenItem]
    job: RemovalJob | None = None
    cleanup_request: CleanupRequest | None = None
    gone: tuple[str, ...] = ()  # NOTHING because everything confirmed was already gone: what the engine says


def removal_submit(
    *,
    environment: Environment,
    actor: Any,
    mode: str,
    kind: str,
    refs: list[str],
    snapshot: list[removal.FrozenItem],
    force: bool,
    reason: str = "",
    confirm_name: str = "",
    request: Any = None,
) -> Submitted:
    """Remove exactly the confirmed snapshot (mode "remove") or ask an admin to (mode "request").

    Raises removal.PlanChanged (the engine changed since the confirmation), removal.ForceRequired,
    or SubmitRefused (a missing environment name or reason).
    """
    # The whole cleanup kind was confirmed as such: force where the shown item needed it.
    force = kind != RemovalKind.REMOVE or force
    reason = reason.strip()
    plan_refs = refs if kind == RemovalKind.REMOVE else [item.image_id for item in snapshot]
    plan_now = removal.removal_plan(environment=environment, refs=plan_refs, sizes=mode == "request")
    try:
        items = removal.removal_confirm(plan=plan_now, snapshot=snapshot, force=force)
    except removal.PlanChanged as exc:
        if all(not i.actionable for i in plan_now.items) and all("already gone" in c for c in exc.changes):
            return Submitted(NOTHING, [], gone=tuple(exc.changes))
        raise
    if not items:
        return Submitted(NOTHING, [])
    if kind == RemovalKind.REMOVE_ALL and confirm_name.strip() != environment.name:
        raise SubmitRefused(
            "confirm_name", f"Type the environment name ({environment.name}) to confirm removing every image."
        )
    if mode == "request":
        if not reason:
            raise SubmitRefused("reason", "Say why (a short reason).")
        cleanup_request = cleanup_request_create(
            environment=environment, kind=kind, items=items, reason=reason, actor=actor, request=request
        )
        return Submitted(REQUESTED, items, cleanup_request=cleanup_request)
    job = removal.removal_job_create(environment=environment, kind=kind, items=items, actor=actor)
    if removal.removal_job_start(job=job, request=request):
        return Submitted(REMOVED, items, job=job)
    return Submitted(QUEUED, items, job=job)
