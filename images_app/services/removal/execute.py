"""Executing frozen items: re-check each against the engine, remove it, record one audit event per item."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from django.contrib.auth.models import User
from django.http import HttpRequest

from images_app import engine
from images_app.errors import EngineError, EngineUnavailable, ImageNotFound, RemovalConflict
from images_app.models import AuditAction, CleanupRequest, Environment, RemovalJob
from images_app.references import short_id
from images_app.services.audit import audit_record
from images_app.services.removal.confirm import item_drift
from images_app.services.removal.contracts import FrozenItem, ItemResult, Outcome
from images_app.services.removal.engine_state import EngineState
from images_app.services.removal.plan import plan_item

# Execution re-reads the engine at least this often (seconds); between reads the
# effects of our own removals are simulated, so a 500-image cleanup does not list
# 500 images 500 times.
_STATE_MAX_AGE = 2.0

_AUDIT_ACTIONS = {
    Outcome.REMOVED: (AuditAction.IMAGE_REMOVED, "success"),
    Outcome.UNTAGGED: (AuditAction.IMAGE_UNTAGGED, "success"),
    Outcome.GONE: (AuditAction.IMAGE_REMOVE_SKIPPED, "info"),
    Outcome.SKIPPED: (AuditAction.IMAGE_REMOVE_FAILED, "failure"),
    Outcome.FAILED: (AuditAction.IMAGE_REMOVE_FAILED, "failure"),
}


def _conflict_message(conflict: RemovalConflict, state: EngineState) -> str:
    names = {c.id: c for c in state.containers}
    parts = []
    for c in conflict.containers:
        known = next((info for cid, info in names.items() if cid.startswith(c.id)), None)
        if known is not None:
            parts.append(f"{known.name} ({known.short_id}, {known.state})")
        else:
            parts.append(c.id)
    text = conflict.message
    if parts:
        text += " Containers: " + ", ".join(parts) + "."
    return text


def _result(item: FrozenItem, outcome: Outcome, message: str) -> ItemResult:
    return ItemResult(item.reference, item.image_id, outcome, message, force=item.force)


def _execute_one(environment: Environment, state: EngineState, item: FrozenItem) -> ItemResult:
    now = plan_item(state, item.reference)
    drift = item_drift(item, now)
    if now.missing:
        return _result(item, Outcome.GONE, "Already gone: nothing to do.")
    if drift:
        return _result(
            item, Outcome.SKIPPED, "Not removed, the engine changed since it was confirmed: " + " ".join(drift)
        )
    try:
        if not item.by_id:
            # Narrows the window between the check above and the removal: a tag is a moving pointer.
            current = engine.inspect_image(environment, item.reference).id
            if current != item.image_id:
                return _result(
                    item,
                    Outcome.SKIPPED,
                    f"Not removed: {item.reference} now points to another image ({short_id(current)}).",
                )
        report = engine.remove_image(environment, item.reference, force=item.force)
    except ImageNotFound:
        return _result(item, Outcome.GONE, "Already gone: nothing to do.")
    except RemovalConflict as conflict:
        return _result(item, Outcome.FAILED, _conflict_message(conflict, state))
    except EngineError as exc:
        return _result(item, Outcome.FAILED, exc.message)
    state.apply(now)
    return ItemResult(
        reference=item.reference,
        image_id=item.image_id,
        outcome=Outcome.REMOVED if report.image_deleted else Outcome.UNTAGGED,
        message="Deleted" if report.image_deleted else "Untagged",
        untagged=tuple(report.untagged),
        deleted=tuple(report.deleted),
        force=item.force,
    )


def removal_execute(
    *,
    environment: Environment,
    items: Sequence[FrozenItem],
    actor: User | None,
    request: HttpRequest | None = None,
    removal_job: RemovalJob | None = None,
    cleanup_request: CleanupRequest | None = None,
    on_result: Callable[[int, ItemResult], None] | None = None,
    skip: int = 0,
) -> list[ItemResult]:
    """Remove the frozen items in order, re-checking each against the engine; one audit event per item."""
    results: list[ItemResult] = []
    state: EngineState | None = None
    unavailable: EngineUnavailable | None = None
    for index, item in enumerate(items):
        if index < skip:
            continue
        if unavailable is not None:
            result = _result(item, Outcome.FAILED, unavailable.message)
        else:
            try:
                if state is None or time.monotonic() - state.loaded_at > _STATE_MAX_AGE:
                    state = EngineState.load(environment)
                result = _execute_one(environment, state, item)
            except EngineUnavailable as exc:
                unavailable = exc
                result = _result(item, Outcome.FAILED, exc.message)
        action, outcome = _AUDIT_ACTIONS[result.outcome]
        audit_record(
            action=action,
            outcome=outcome,
            actor=actor,
            request=request,
            environment=environment,
            target_reference=item.reference,
            target_image_id=item.image_id,
            parameters={
                "force": item.force,
                "tags": list(item.tags),
                "untagged": list(result.untagged),
                "deleted": list(result.deleted),
                "result": str(result.outcome),
            },
            message=result.message,
            removal_job=removal_job,
            cleanup_request=cleanup_request,
        )
        results.append(result)
        if on_result is not None:
            on_result(index, result)
    return results
