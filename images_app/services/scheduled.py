"""The periodic work Celery beat runs (config/celery.py): thin, idempotent, audited.

Each function calls the service that owns the rule and records what happened the same way the
management commands do (`expire_requests`, `audit_retention`, `verify_audit` stay for shells).
Running one twice, or from two beats at once, changes nothing twice: every change is a
conditional UPDATE or, for retention, a prefix that is already gone the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from images_app.models import AuditAction
from images_app.services.audit import audit_record
from images_app.services.audit_chain import (
    RetentionRefused,
    audit_archives_verify,
    audit_chain_verify,
    audit_retention_apply,
)
from images_app.services.cleanup_requests import requests_expire
from images_app.services.pulls import pulls_sweep_stale
from images_app.services.removal import removal_jobs_sweep_stale

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    pulls: int
    removal_jobs: int


def stale_jobs_sweep() -> SweepResult:
    """Fail pulls and removal jobs whose worker died (one audit event each)."""
    return SweepResult(pulls=pulls_sweep_stale(), removal_jobs=removal_jobs_sweep_stale())


def overdue_requests_expire() -> int:
    """Pending cleanup requests past their expiry become expired (one audit event each)."""
    return requests_expire()


def audit_retention_run() -> int:
    """Archive and drop events older than BERTH_AUDIT_RETENTION_DAYS; how many were dropped.

    A chain that does not verify is never dropped (that would hide tampering): the refusal is recorded.
    """
    days = settings.BERTH_AUDIT_RETENTION_DAYS
    try:
        return audit_retention_apply(days=days, archive_dir=Path(settings.BERTH_AUDIT_ARCHIVE_DIR)).dropped
    except RetentionRefused as exc:
        logger.error("Audit retention refused: %s", exc)
        audit_record(
            action=AuditAction.AUDIT_PRUNED, outcome="failure", parameters={"days": days}, message=str(exc)
        )
        return 0


def audit_verify_run() -> bool:
    """Check the hash chain and the retention archives; record the verdict in the history itself."""
    report = audit_chain_verify()
    problems = audit_archives_verify()
    if not report.ok:
        problems.insert(0, f"Audit chain broken at event #{report.event_id}: {report.problem}")
    ok = not problems
    if not ok:
        logger.error("Audit verification failed: %s", "; ".join(problems))
    audit_record(
        action=AuditAction.AUDIT_VERIFIED,
        outcome="success" if ok else "failure",
        parameters={"checked": report.checked, "head_id": report.head_id, "problems": problems},
        message=f"Audit chain OK: {report.checked} events" if ok else "; ".join(problems),
    )
    return ok
