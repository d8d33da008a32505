"""Retention policies: preview exactly what a policy removes, run exactly that, on demand or on schedule.

The facts come from the engine (images, containers, the exact disk report) and the watcher (last
use); retention_rules decides; the removal planner (services/removal/) turns the choice into what
`docker rmi` will do, and its drift check guards a run confirmed from a preview page. `ask` freezes
the plan into a removal request (four-eyes as for any request); `apply` removes at once.

Why one module over ~350 lines: preview and run must be read together (a run executes exactly a
preview); the rules themselves are pure, in retention_rules.py.
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from images_app import engine
from images_app.environments import environments_all
from images_app.errors import BerthError, ReadOnlyMode
from images_app.models import Environment, RetentionPolicy
from images_app.models.cleanup import RemovalKind
from images_app.retention_rules import KEEP, REMOVE, ImageFacts, Rules, Verdict, evaluate
from images_app.schedules import cron_due
from images_app.selectors.usage import LastUse, last_use_of, usage_values, watch_info
from images_app.services import removal
from images_app.services.audit import audit_record
from images_app.services.cleanup_requests import cleanup_request_create
from images_app.services.notifications import NotificationEvent, notify
from images_app.sizes_and_ages import human_size

logger = logging.getLogger(__name__)


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def rules_of(policy: RetentionPolicy) -> Rules:
    return Rules(
        unused_days=policy.unused_days,
        keep_newest=policy.keep_newest,
        dangling_hours=policy.dangling_hours,
        disk_budget_bytes=policy.disk_budget_bytes,
        unknown_as_unused=policy.unknown_as_unused,
        exclude_references=_lines(policy.exclude_references),
        exclude_labels=_lines(policy.exclude_labels),
        allow_force=policy.allow_force,
    )


def policy_environments(policy: RetentionPolicy) -> list[Environment]:
    return [policy.environment] if policy.environment is not None else environments_all()


# --- preview -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    image_id: str
    tags: tuple[str, ...]
    created: datetime
    verdict: Verdict
    last_use: LastUse
    running: int
    stopped: int
    unique_size: int
    freed: int  # exact bytes this image's removal frees (its unique size), 0 when kept or untagged
    blocked: str = ""  # the planner says the engine would refuse: kept

    @property
    def decision(self) -> str:
        return KEEP if self.blocked else self.verdict.decision

    @property
    def short_id(self) -> str:
        return self.image_id.removeprefix("sha256:")[:12]


@dataclass
class PolicyPreview:
    policy: RetentionPolicy
    environment: Environment
    rows: list[PreviewRow]
    plan: removal.RemovalPlan
    disk_total: int
    made_at: datetime = field(default_factory=timezone.now)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.decision for row in self.rows)

    @property
    def bytes_freed(self) -> int:
        return self.plan.bytes_freed

    @property
    def budget(self) -> int | None:
        return self.policy.disk_budget_bytes

    @property
    def disk_after(self) -> int:
        """What images take once the plan ran, as far as the unique sizes say (it can only be less)."""
        return max(self.disk_total - self.bytes_freed, 0)

    @property
    def budget_unmet(self) -> bool:
        """Even this plan leaves the images above the policy's disk budget (exclusions win over the budget)."""
        return self.budget is not None and self.disk_after > self.budget

    @property
    def removes_everything(self) -> bool:
        return bool(self.rows) and all(row.decision == REMOVE for row in self.rows)

    def snapshot(self) -> list[removal.FrozenItem]:
        # Force only where the planner needs it for what the policy allowed (several tags; stopped
        # containers only when allow_force, as the rules excluded them otherwise).
        return self.plan.snapshot(force=True)


def policy_preview(policy: RetentionPolicy, environment: Environment, *, now: datetime | None = None) -> PolicyPreview:
    """Every image with its verdict, the deciding rule or exclusion, its last use and the exact bytes freed.

    Three engine calls, at once: all images, containers, the disk report (slow on big hosts).
    """
    now = now or timezone.now()
    # The three reads are independent and the disk report is the slow one (it walks every image):
    # asked at once, the preview waits for the slowest instead of their sum (bench.retention).
    # One read of all images (intermediate ones too) serves both the rules and the planner.
    with ThreadPoolExecutor(max_workers=3) as pool:
        images_read = pool.submit(engine.list_images, environment, include_intermediate=True)
        containers_read = pool.submit(engine.list_containers, environment)
        report_read = pool.submit(engine.disk_usage_report, environment)
        every_image, containers, report = images_read.result(), containers_read.result(), report_read.result()
    state = removal.EngineState(every_image, containers)
    listed = {img.id for img in state.top_level()}  # what `docker image ls` shows
    images = [image for image in every_image if image.id in listed]
    usage = usage_values(environment)
    horizon = watch_info(environment).horizon
    running = Counter(c.image_id for c in containers if c.running)
    stopped = Counter(c.image_id for c in containers if not c.running)
    facts, uses = [], {}
    for image in images:
        use = last_use_of(usage.get(image.id), horizon=horizon, created=image.created)
        uses[image.id] = use
        disk = report.images.get(image.id)
        facts.append(
            ImageFacts(
                id=image.id,
                tags=image.repo_tags,
                created=image.created,
                labels=image.labels,
                unique_size=disk.unique_size if disk else image.size,
                running=running[image.id],
                stopped=stopped[image.id],
                last_used=use.last_used,
                unused_since=use.unused_since,
            )
        )
    verdicts = evaluate(facts, rules_of(policy), now=now, disk_total=report.layers_size)
    refs = [ref for verdict in verdicts for ref in verdict.refs]
    plan = removal.removal_plan(environment=environment, refs=refs, sizes=False, state=state)
    for item in plan.items:
        disk = report.images.get(item.image_id)
        item.unique_size = disk.unique_size if disk else item.size
    by_image: dict[str, list[removal.PlanItem]] = {}
    for item in plan.items:
        by_image.setdefault(item.image_id, []).append(item)
    rows = []
    for fact, verdict in zip(facts, verdicts, strict=True):
        items = by_image.get(fact.id, [])
        blocked = "; ".join(i.blocked or i.missing for i in items if not i.actionable)
        freed = sum(i.unique_size for i in items if i.actionable and i.deletes)
        rows.append(
            PreviewRow(
                image_id=fact.id,
                tags=fact.tags,
                created=fact.created,
                verdict=verdict,
                last_use=uses[fact.id],
                running=fact.running,
                stopped=fact.stopped,
                unique_size=fact.unique_size,
                freed=freed,
                blocked=blocked,
            )
        )
    order = {REMOVE: 0, "untag": 1, KEEP: 2}
    rows.sort(key=lambda r: (order[r.decision], -r.freed, r.tags[:1] or ("~",)))
    return PolicyPreview(policy, environment, rows, plan, report.layers_size)


# --- running -----------------------------------------------------------------------------------


@dataclass
class PolicyRun:
    items: list[removal.FrozenItem]
    cleanup_request: Any = None
    removal_job: Any = None
    message: str = ""


def _actor_name(policy: RetentionPolicy) -> str:
    return f"policy:{policy.name}"


def policy_run(
    *,
    policy: RetentionPolicy,
    environment: Environment,
    snapshot: list[removal.FrozenItem] | None = None,
    trigger: str = "schedule",
    user: Any = None,
    request: Any = None,
) -> PolicyRun:
    """Run the policy: exactly `snapshot` (a confirmed preview; PlanChanged if the engine moved) or, on
    schedule, the plan of this moment. `ask` creates a request; `apply` removes. One audit event per run."""
    if settings.BERTH_READ_ONLY:
        raise ReadOnlyMode()
    preview = policy_preview(policy, environment)
    if snapshot is not None:
        items = removal.removal_confirm(plan=preview.plan, snapshot=snapshot, force=True)
    else:
        items = preview.snapshot()
    freed = sum(i.unique_size for i in items)
    parameters: dict[str, Any] = {
        "policy": policy.name,
        "action": policy.action,
        "trigger": trigger,
        "by": user.get_username() if user is not None else "",
        "items": len(items),
        "bytes": freed,
    }
    result = PolicyRun(items=items)
    if items and not policy.owner.is_active:
        # A deactivated owner's policy neither asks nor removes (an admin re-creates it under their name);
        # the history says why nothing happened.
        audit_record(
            action="retention_policy_run", outcome="denied", actor=policy.owner, actor_name=_actor_name(policy),
            environment=environment, parameters=parameters, request=request,
            message="The policy's owner is deactivated: nothing was asked or removed.",
        )  # fmt: skip
        raise PermissionError("The policy's owner is deactivated.")
    if not items:
        result.message = "Nothing to remove."
    elif policy.action == RetentionPolicy.Action.ASK:
        result.cleanup_request = cleanup_request_create(
            environment=environment,
            kind=RemovalKind.REMOVE,
            items=items,
            reason=f"Retention policy {policy.name}: {len(items)} item(s), {human_size(freed)} ({trigger})",
            actor=policy.owner,
        )
        parameters["cleanup_request"] = result.cleanup_request.pk
        result.message = f"Request #{result.cleanup_request.pk} created for an admin to approve."
    else:
        if not policy.owner.has_perm("images_app.remove_image"):
            audit_record(
                action="retention_policy_run", outcome="denied", actor=policy.owner, actor_name=_actor_name(policy),
                environment=environment, parameters=parameters, request=request,
                message="The policy's owner may no longer remove images: nothing was removed.",
            )  # fmt: skip
            raise PermissionError("The policy's owner may no longer remove images.")
        job = removal.removal_job_create(
            environment=environment, kind=RemovalKind.REMOVE, items=items, actor=policy.owner
        )
        parameters["removal_job"] = job.pk
        result.removal_job = job
        result.message = f"Removing {len(items)} item(s) (job #{job.pk})."
    audit_record(
        action="retention_policy_run", outcome="success" if items else "info", actor=policy.owner,
        actor_name=_actor_name(policy), environment=environment, parameters=parameters, request=request,
        cleanup_request=result.cleanup_request, removal_job=result.removal_job, message=result.message,
    )  # fmt: skip
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        last_run_summary=f"{environment.name}: {result.message}"[:500]
    )
    if items:
        # Admins hear of every run that removed or asked to remove something (after the commit).
        notify(NotificationEvent.POLICY_RUN, policy.pk)
    return result


def policies_run_due(*, now: datetime | None = None) -> int:
    """Run every enabled policy whose interval has passed (beat calls this every minute); how many ran.

    The claim is a conditional UPDATE on last_run_at, so two beats (or a slow run) never run one twice.
    """
    now = now or timezone.now()
    ran = 0
    scheduled = Q(interval_minutes__isnull=False) | ~Q(cron="")
    for policy in RetentionPolicy.objects.filter(scheduled, enabled=True).select_related("owner", "environment"):
        if not _due(policy, now):
            continue
        previous = Q(last_run_at__isnull=True) if policy.last_run_at is None else Q(last_run_at=policy.last_run_at)
        if not RetentionPolicy.objects.filter(previous, pk=policy.pk).update(last_run_at=now):
            continue
        ran += 1
        for environment in policy_environments(policy):
            try:
                run = policy_run(policy=policy, environment=environment, trigger="schedule")
                if run.removal_job is not None:
                    removal.removal_job_run(job_id=run.removal_job.pk)
            except PermissionError:
                continue  # already audited as denied by policy_run
            except (BerthError, removal.PlanChanged) as exc:
                message = getattr(exc, "message", str(exc))
                logger.warning("retention policy %s on %s: %s", policy.name, environment.name, message)
                audit_record(
                    action="retention_policy_run", outcome="failure", actor=policy.owner,
                    actor_name=_actor_name(policy), environment=environment,
                    parameters={"policy": policy.name, "trigger": "schedule"}, message=message[:500],
                )  # fmt: skip
    return ran


def _due(policy: RetentionPolicy, now: datetime) -> bool:
    if policy.cron:
        try:
            return cron_due(policy.cron, policy.last_run_at or policy.created_at)
        except ValueError:
            return False  # the form refuses bad schedules; a row edited by hand never runs
    return policy.last_run_at is None or policy.last_run_at + timedelta(minutes=policy.interval_minutes or 0) <= now


def policy_save(*, policy: RetentionPolicy, actor: Any, request: Any = None, created: bool) -> RetentionPolicy:
    """Save a policy (validated by its form) and audit the change."""
    if settings.BERTH_READ_ONLY:
        raise ReadOnlyMode()
    if created:
        policy.owner = actor
    policy.save()
    audit_record(
        action="retention_policy_created" if created else "retention_policy_changed",
        outcome="success",
        actor=actor,
        request=request,
        environment=policy.environment,
        parameters=policy_parameters(policy),
        message=f"Retention policy {policy.name}",
    )
    return policy


def policy_parameters(policy: RetentionPolicy) -> dict[str, Any]:
    rules = rules_of(policy)
    return {
        "name": policy.name,
        "environment": policy.environment.name if policy.environment is not None else "(all)",
        "enabled": policy.enabled,
        "unused_days": rules.unused_days,
        "keep_newest": rules.keep_newest,
        "dangling_hours": rules.dangling_hours,
        "disk_budget_bytes": rules.disk_budget_bytes,
        "unknown_as_unused": rules.unknown_as_unused,
        "exclude_references": list(rules.exclude_references),
        "exclude_labels": list(rules.exclude_labels),
        "allow_force": rules.allow_force,
        "action": policy.action,
        "interval_minutes": policy.interval_minutes,
        "cron": policy.cron,
    }
