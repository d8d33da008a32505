"""Plain JSON of Berth's objects, as images_app/api/schemas.py documents them.

Dicts, not serializer instances: the images list builds 50 rows per request on a host of
thousands, and DRF's field machinery costs several times the dict (bench.api).

Why one module over ~350 lines: one small function per documented shape, mirroring schemas.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from images_app.models import AuditEvent, CleanupRequest, PullJob, RemovalJob, RetentionPolicy
from images_app.selectors.images import ImagePage, ImageRow, SpaceSummary
from images_app.selectors.registries import RegistryRow
from images_app.selectors.search import SearchResults
from images_app.selectors.updates import OutdatedTag
from images_app.selectors.usage import LastUse
from images_app.services import removal
from images_app.services.removal import FrozenItem
from images_app.services.retention import PolicyPreview
from images_app.update_state import Verdict as UpdateVerdict


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def totals(summary: SpaceSummary) -> dict[str, int]:
    return {
        "images": summary.images,
        "tags": summary.tags,
        "size": summary.size,
        "in_use": summary.in_use,
        "in_use_size": summary.in_use_size,
        "unused": summary.unused,
        "unused_size": summary.unused_size,
        "dangling": summary.dangling,
        "dangling_size": summary.dangling_size,
        "reclaimable": summary.reclaimable,
    }


def last_use(use: LastUse | None) -> dict[str, Any] | None:
    if use is None:
        return None
    return {
        "last_used": _when(use.last_used),
        "container": use.container_name,
        "in_use_now": use.in_use_now,
        "watched_since": _when(use.horizon),
        "unused_since": _when(use.unused_since),
    }


def update_state(verdict: UpdateVerdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "state": str(verdict.state),
        "reason": str(verdict.reason),
        "remote_digest": verdict.remote_digest,
        "checked_at": _when(verdict.checked_at),
    }


def image_row(row: ImageRow, update: UpdateVerdict | None = None) -> dict[str, Any]:
    image = row.image
    return {
        "id": image.id,
        "short_id": image.short_id,
        "repository": row.repository,
        "tag": row.tag,
        "reference": row.reference,
        "created": image.created.isoformat(),
        "size": image.size,
        "status": row.status,
        "containers": row.containers,
        "running_containers": row.running_containers,
        "stopped_containers": row.stopped_containers,
        "tag_count": row.tag_count,
        "other_tags": [t for t in image.repo_tags if t != row.reference],
        "repo_digests": list(image.repo_digests),
        "labels": dict(image.labels),
        "last_use": last_use(row.last_use),
        "update": update_state(update),
    }


def image_detail(view: ImagePage) -> dict[str, Any]:
    d = view.detail
    return {
        "id": d.id,
        "short_id": d.short_id,
        "repo_tags": list(d.repo_tags),
        "repo_digests": list(d.repo_digests),
        "created": _when(d.created),
        "size": d.size,
        "architecture": d.architecture,
        "os": d.os,
        "variant": d.variant,
        "author": d.author,
        "labels": dict(d.labels),
        "entrypoint": list(d.entrypoint),
        "cmd": list(d.cmd),
        "env": list(d.env),
        "exposed_ports": list(d.exposed_ports),
        "working_dir": d.working_dir,
        "user": d.user,
        "layers": list(d.layers),
        "parent_id": d.parent_id,
        "status": view.status,
        "running_containers": view.running_containers,
        "stopped_containers": view.stopped_containers,
        "history": [
            {
                "id": h.id,
                "created": _when(h.created),
                "created_by": h.created_by,
                "size": h.size,
                "tags": list(h.tags),
                "comment": h.comment,
                "empty": h.empty,
            }
            for h in view.history
        ],
        "containers": [
            {
                "id": use.container.id,
                "name": use.container.name,
                "state": use.container.state,
                "status": use.container.status,
                "running": use.container.running,
                "created": use.container.created.isoformat(),
                "created_from": use.created_from,
            }
            for use in view.containers
        ],
        "disk": (
            {
                "size": view.disk.size,
                "shared_size": view.disk.shared_size,
                "unique_size": view.disk.unique_size,
                "containers": view.disk.containers,
            }
            if view.disk is not None
            else None
        ),
        "disk_error": view.disk_error,
    }


def pull(job: PullJob, *, can_cancel: bool) -> dict[str, Any]:
    env = job.environment.name
    return {
        "id": job.pk,
        "environment": env,
        "reference": job.reference,
        "registry": job.registry.name if job.registry_id and job.registry else None,
        "status": job.status,
        "requested_by": job.requested_by.get_username(),
        "created_at": _when(job.created_at),
        "started_at": _when(job.started_at),
        "finished_at": _when(job.finished_at),
        "image_id": job.image_id,
        "digest": job.digest,
        "status_line": job.status_line,
        "bytes_downloaded": job.bytes_downloaded,
        "bytes_total": job.bytes_total,
        "error": job.error_message,
        "cancel_requested": job.cancel_requested,
        "can_cancel": can_cancel and job.is_active,
        "events_url": reverse("api:pull_events", kwargs={"env": env, "pk": job.pk}),
    }


def pull_state(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": str(state.get("status", "")),
        "layers": list(state.get("layers") or []),
        "overall": dict(state.get("overall") or {}),
        "digest": state.get("digest") or "",
        "status_line": state.get("status_line") or "",
        "message": state.get("message") or "",
        "error": state.get("error") or "",
        "image_id": state.get("image_id") or "",
        "seq": int(state.get("seq") or 0),
    }


def plan_item(item: removal.PlanItem) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "reference": item.reference,
        "image_id": item.image_id,
        "by_id": item.by_id,
        "action": item.action,
        "tags": list(item.tags),
        "remaining_tags": list(item.remaining_tags),
        "containers": [{"id": c.id, "name": c.name, "state": c.state} for c in item.containers],
        "force_reasons": list(item.force_reasons),
        "needs_force": item.needs_force,
        "blocked": item.blocked,
        "missing": item.missing,
        "size": item.size,
        "unique_size": item.unique_size,
        "layers": list(item.layers),
    }


def frozen_item(frozen: FrozenItem | dict[str, Any]) -> dict[str, Any]:
    item = frozen.to_json() if isinstance(frozen, FrozenItem) else frozen
    return {
        "image_id": str(item.get("image_id", "")),
        "reference": str(item.get("reference", "")),
        "tags": [str(t) for t in item.get("tags") or []],
        "force": bool(item.get("force")),
        "action": str(item.get("action") or ""),
        "by_id": bool(item.get("by_id")),
        "containers": [str(c) for c in item.get("containers") or []],
        "unique_size": int(item.get("unique_size") or 0),
    }


def item_result(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "reference": str(result.get("reference", "")),
        "image_id": str(result.get("image_id", "")),
        "outcome": str(result.get("outcome", "")),
        "ok": bool(result.get("ok")),
        "message": str(result.get("message") or ""),
        "untagged": list(result.get("untagged") or []),
        "deleted": list(result.get("deleted") or []),
        "force": bool(result.get("force")),
    }


def removal_job(job: RemovalJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "environment": job.environment.name,
        "kind": job.kind,
        "status": job.status,
        "created_by": job.created_by.get_username(),
        "created_at": _when(job.created_at),
        "started_at": _when(job.started_at),
        "finished_at": _when(job.finished_at),
        "total": len(job.items or []),
        "done_count": job.done_count,
        "items": [frozen_item(i) for i in job.items or []],
        "results": [item_result(r) for r in job.results or []],
        "summary": removal.results_summary(removal.results_from_json(job.results or [])),
        "error": job.error_message,
        "cleanup_request": job.cleanup_request_id,
    }


def cleanup_request(req: CleanupRequest) -> dict[str, Any]:
    job = getattr(req, "removal_job", None)
    return {
        "id": req.pk,
        "environment": req.environment.name,
        "kind": req.kind,
        "status": req.status,
        "reason": req.reason,
        "requested_by": req.requested_by.get_username(),
        "created_at": _when(req.created_at),
        "expires_at": _when(req.expires_at),
        "decided_by": _username(req.decided_by),
        "decided_at": _when(req.decided_at),
        "decision_note": req.decision_note,
        "executed_at": _when(req.executed_at),
        "bytes_preview": req.bytes_preview,
        "items": [frozen_item(i) for i in req.items or []],
        "results": [item_result(r) for r in (req.results or (job.results if job else []) or [])],
        "removal_job": job.pk if job else None,
    }


def search(results: SearchResults) -> dict[str, Any]:
    return {
        "term": results.query.term,
        "index": results.query.index_name,
        "from_cache": results.from_cache,
        "fetched_at": results.fetched_at.isoformat(),
        "results": [
            {
                "name": row.hit.name,
                "description": row.hit.description,
                "star_count": row.hit.star_count,
                "is_official": row.hit.is_official,
                "is_automated": row.hit.is_automated,
                "pull_reference": row.pull_reference,
            }
            for row in results.rows
        ],
    }


def registry(row: RegistryRow) -> dict[str, Any]:
    r = row.registry
    return {
        "id": r.pk,
        "name": r.name,
        "url": r.url,
        "host": row.host,
        "username": r.username,
        "has_password": row.has_password,
        "created_at": _when(r.created_at),
        "updated_at": _when(r.updated_at),
    }


def audit_event(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "created_at": _when(event.created_at),
        "actor": event.actor_name,
        "client_address": event.client_address,
        "environment": event.environment,
        "action": event.action,
        "outcome": event.outcome,
        "target_reference": event.target_reference,
        "target_image_id": event.target_image_id,
        "parameters": event.parameters,
        "message": event.message,
        "pull_job": event.pull_job_id,
        "cleanup_request": event.cleanup_request_id,
        "removal_job": event.removal_job_id,
        "hash": event.hash,
        "prev_hash": event.prev_hash,
    }


def page_size() -> int:
    return settings.BERTH_PAGE_SIZE


def outdated_tag(item: OutdatedTag) -> dict[str, Any]:
    return {
        "reference": item.reference,
        "image_id": item.image_id,
        "remote_digest": item.verdict.remote_digest,
        "remote_created": _when(item.verdict.remote_created),
        "checked_at": _when(item.verdict.checked_at),
    }


def policy(p: RetentionPolicy) -> dict[str, Any]:
    return {
        "id": p.pk,
        "name": p.name,
        "environment": p.environment.name if p.environment is not None else None,
        "enabled": p.enabled,
        "action": p.action,
        "unused_days": p.unused_days,
        "keep_newest": p.keep_newest,
        "dangling_hours": p.dangling_hours,
        "disk_budget_bytes": p.disk_budget_bytes,
        "exclude_references": [line for line in p.exclude_references.splitlines() if line.strip()],
        "exclude_labels": [line for line in p.exclude_labels.splitlines() if line.strip()],
        "interval_minutes": p.interval_minutes,
        "cron": p.cron,
        "owner": p.owner.get_username(),
        "last_run_at": _when(p.last_run_at),
        "last_run_summary": p.last_run_summary,
    }


def policy_preview(preview: PolicyPreview) -> dict[str, Any]:
    return {
        "policy": policy(preview.policy),
        "environment": preview.environment.name,
        "removes_everything": preview.removes_everything,
        "bytes_freed": preview.bytes_freed,
        "counts": dict(preview.counts),
        "rows": [
            {
                "image_id": row.image_id,
                "tags": list(row.tags),
                "decision": row.decision,
                "reason": row.verdict.reason,
                "blocked": row.blocked,
                "last_use": last_use(row.last_use),
                "running_containers": row.running,
                "stopped_containers": row.stopped,
                "freed": row.freed,
            }
            for row in preview.rows
        ],
        "snapshot": [frozen_item(item) for item in preview.snapshot()],
    }
