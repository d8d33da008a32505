"""Update checks: which local tags still match what their registry serves (stored, audited, scheduled).

A run lists each environment's images (one engine call each), gathers the tags that have a
digest recorded for their repository, asks each (registry, repository, tag) once whatever
the number of environments holding it (images_app.update_checker), stores the answers in
UpdateCheck and records one audit event. It never pulls and never changes an image.

Why one module over ~350 lines: one run from the image lists to the stored answers; the rule
(update_state.py) and the HTTP (update_checker.py, registry_client.py) already live elsewhere.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from images_app import engine
from images_app.engine import ImageInfo
from images_app.environments import environments_all
from images_app.errors import BerthError, ReadOnlyMode, RegistryError
from images_app.models import Environment, UpdateCheck, UpdateRun
from images_app.registry_client import RegistryTarget, parse_registry_url
from images_app.selectors.registries import registry_for_reference, registry_target
from images_app.services.audit import audit_record
from images_app.task_queue import enqueue_fail_fast
from images_app.update_checker import Question, ask_registries
from images_app.update_state import (
    DOCKER_HUB,
    CheckKey,
    RemoteAnswer,
    UpdateState,
    Verdict,
    check_key,
    decide,
    local_digests,
)

logger = logging.getLogger(__name__)

# Environments coming due together share their tags' checks; a scheduled run also reuses an
# answer younger than this (another environment's run just asked), a "check now" never does.
SHARED_CHECK_SECONDS = 300
# A run that started this long ago and never finished died with its worker: run again.
RUN_STALE_SECONDS = 900
DOCKER_HUB_API = "https://registry-1.docker.io"


# --- configuration ---------------------------------------------------------------


def check_intervals() -> dict[str, int]:
    """Minutes between scheduled checks per environment name (BERTH_UPDATE_CHECK_INTERVALS overrides)."""
    intervals: dict[str, int] = {}
    for entry in settings.BERTH_UPDATE_CHECK_INTERVALS.split(","):
        if not entry.strip():
            continue
        name, sep, minutes = entry.partition("=")
        if not sep or not minutes.strip().isdigit() or int(minutes) < 1:
            raise ImproperlyConfigured(f"BERTH_UPDATE_CHECK_INTERVALS entry {entry.strip()!r} is not name=minutes")
        intervals[name.strip()] = int(minutes)
    return intervals


def environments_due(now: datetime | None = None) -> list[Environment]:
    """Environments whose last check started longer ago than their interval (and none is running)."""
    now = now or timezone.now()
    intervals = check_intervals()
    runs = {run.environment_id: run for run in UpdateRun.objects.all()}
    due = []
    for environment in environments_all():
        run = runs.get(environment.pk)
        if run is None or run.started_at is None:
            due.append(environment)
            continue
        if run.running and run.started_at > now - timedelta(seconds=RUN_STALE_SECONDS):
            continue
        minutes = intervals.get(environment.name, settings.BERTH_UPDATE_CHECK_MINUTES)
        if run.started_at <= now - timedelta(minutes=minutes):
            due.append(environment)
    return due


def registry_target_for_host(host: str) -> RegistryTarget:
    """Where to ask about images on `host`, with a registered registry's credentials if there is one."""
    sample = "library/berth:x" if host == DOCKER_HUB else f"{host}/berth:x"
    registry = registry_for_reference(sample)
    if host == DOCKER_HUB:
        # Docker Hub's images are named docker.io but served by registry-1.docker.io.
        target = registry_target(registry) if registry else None
        return RegistryTarget(
            base_url=DOCKER_HUB_API,
            host=DOCKER_HUB,
            username=target.username if target else "",
            password=target.password if target else "",
        )
    if registry is not None:
        return registry_target(registry)
    try:
        base_url, canonical = parse_registry_url(host)
    except ValueError as exc:
        raise RegistryError(f"{host} is not a registry address Berth can ask: {exc}") from None
    return RegistryTarget(base_url=base_url, host=canonical)


# --- a run -----------------------------------------------------------------------


@dataclass
class LocalTag:
    environment: Environment
    repo_tag: str
    image: ImageInfo
    key: CheckKey


@dataclass
class RunSummary:
    environments: list[str] = field(default_factory=list)
    local_tags: int = 0  # tags with a digest recorded for their repository
    asked: int = 0  # distinct (registry, repository, tag) asked this run
    reused: int = 0  # answered by another environment's fresh check
    unknown: Counter[str] = field(default_factory=Counter)
    outdated: dict[str, list[tuple[LocalTag, Verdict]]] = field(default_factory=dict)
    engine_errors: dict[str, str] = field(default_factory=dict)


def _local_tags(environment: Environment, images: Iterable[ImageInfo]) -> list[LocalTag]:
    tags = []
    for image in images:
        for repo_tag in image.repo_tags:
            key = check_key(repo_tag)
            if key is not None and local_digests(key, image.repo_digests):
                tags.append(LocalTag(environment, repo_tag, image, key))
    return tags


def _claim_runs(environments: list[Environment], actor: Any, now: datetime) -> None:
    for environment in environments:
        UpdateRun.objects.update_or_create(
            environment=environment, defaults={"started_at": now, "requested_by": actor, "error": ""}
        )


def _answers_of(rows: Iterable[UpdateCheck]) -> dict[CheckKey, UpdateCheck]:
    return {CheckKey(r.registry, r.repository, r.tag): r for r in rows}


def stored_checks(keys: Iterable[CheckKey]) -> dict[CheckKey, UpdateCheck]:
    """The stored checks for these keys (one query)."""
    keys = set(keys)
    if not keys:
        return {}
    rows = UpdateCheck.objects.filter(repository__in={k.repository for k in keys})
    return {k: row for k, row in _answers_of(rows).items() if k in keys}


def remote_answer(row: UpdateCheck) -> RemoteAnswer:
    return RemoteAnswer(
        digest=row.remote_digest,
        reason=row.reason,
        checked_at=row.checked_at,
        created=row.remote_created,
        message=row.message,
    )


def _store(answers: dict[CheckKey, RemoteAnswer], previous: dict[CheckKey, UpdateCheck], now: datetime) -> None:
    rows = []
    for key, answer in answers.items():
        before = previous.get(key)
        changed = answer.digest and (before is None or before.remote_digest != answer.digest)
        rows.append(
            UpdateCheck(
                registry=key.registry,
                repository=key.repository,
                tag=key.tag,
                remote_digest=answer.digest[:100],
                media_type=answer.media_type or (before.media_type if before else ""),
                reason=answer.reason,
                message=answer.message[:300],
                remote_created=answer.created,
                checked_at=now,
                digest_changed_at=now if changed else (before.digest_changed_at if before else None),
                notified_digest=before.notified_digest if before else "",
            )
        )
    # One statement for hundreds of tags (an upsert on the unique key), not one per tag.
    UpdateCheck.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["registry", "repository", "tag"],
        update_fields=[
            "remote_digest",
            "media_type",
            "reason",
            "message",
            "remote_created",
            "checked_at",
            "digest_changed_at",
        ],
    )


def updates_check_run(
    *, environments: list[Environment], force: bool = False, actor: Any = None, on_outdated: Any = None
) -> RunSummary:
    """Check every tag of these environments (each distinct tag once) and store the answers.

    `force` asks again even what another environment's run asked minutes ago ("check now").
    `on_outdated(summary)` is called after the answers are stored (notifications hook in there).
    """
    now = timezone.now()
    summary = RunSummary(environments=[e.name for e in environments])
    _claim_runs(environments, actor, now)
    tags: list[LocalTag] = []
    for environment in environments:
        try:
            tags += _local_tags(environment, engine.list_images(environment))
        except BerthError as exc:
            # An engine that does not answer: its tags keep their last answers, the run says why.
            summary.engine_errors[environment.name] = exc.message
    summary.local_tags = len(tags)

    wanted: dict[CheckKey, set[str]] = {}
    for tag in tags:
        wanted.setdefault(tag.key, set()).update(local_digests(tag.key, tag.image.repo_digests))
    previous = stored_checks(wanted)
    fresh_after = now - timedelta(seconds=SHARED_CHECK_SECONDS)
    questions = []
    for key, digests in wanted.items():
        before = previous.get(key)
        if not force and before is not None and before.checked_at >= fresh_after and not before.reason:
            summary.reused += 1
            continue
        questions.append(
            Question(
                key=key,
                previous_digest=before.remote_digest if before else "",
                previous_created=before.remote_created if before else None,
                local_digests=frozenset(digests),
            )
        )
    summary.asked = len(questions)
    answers = ask_registries(questions, registry_target_for_host)
    with transaction.atomic():
        _store(answers, previous, now)
        _finish_runs(environments, summary, len(questions), timezone.now())
    stored = stored_checks(wanted)
    for tag in tags:
        row = stored.get(tag.key)
        verdict = decide(
            key=tag.key, tagged=True, repo_digests=tag.image.repo_digests, remote=remote_answer(row) if row else None
        )
        if verdict is None:
            continue
        if verdict.state == UpdateState.UNKNOWN:
            summary.unknown[verdict.reason] += 1
        elif verdict.outdated:
            summary.outdated.setdefault(tag.environment.name, []).append((tag, verdict))
    _audit_run(summary, actor)
    if on_outdated is not None and summary.outdated:
        on_outdated(summary)
    return summary


def _finish_runs(environments: list[Environment], summary: RunSummary, asked: int, now: datetime) -> None:
    for environment in environments:
        UpdateRun.objects.filter(environment=environment).update(
            finished_at=now, tags_checked=asked, error=summary.engine_errors.get(environment.name, "")
        )


def _audit_run(summary: RunSummary, actor: Any) -> None:
    outdated = sum(len(items) for items in summary.outdated.values())
    audit_record(
        action="updates_checked",
        outcome="failure" if summary.engine_errors else "info",
        actor=actor,
        environment=summary.environments[0] if len(summary.environments) == 1 else "",
        parameters={
            "environments": summary.environments,
            "local_tags": summary.local_tags,
            "asked": summary.asked,
            "reused": summary.reused,
            "outdated": outdated,
            "unknown": dict(summary.unknown),
            "engine_errors": summary.engine_errors,
        },
        message=f"{outdated} update(s) available; {summary.asked} tag(s) asked, {summary.reused} reused"
        + (f"; engine errors: {', '.join(summary.engine_errors)}" if summary.engine_errors else ""),
    )


def mark_notified(new_digests: dict[CheckKey, str]) -> set[CheckKey]:
    """The keys whose remote digest no notification named yet; marks them as named (each digest once).

    A conditional UPDATE per key: two runs finishing together cannot both announce the same digest.
    """
    fresh = set()
    for key, digest in new_digests.items():
        won = (
            UpdateCheck.objects.filter(registry=key.registry, repository=key.repository, tag=key.tag)
            .filter(~Q(notified_digest=digest))
            .update(notified_digest=digest)
        )
        if won:
            fresh.add(key)
    return fresh


# --- asking for a check ----------------------------------------------------------


def updates_check_request(*, user: Any, environment: Environment, request: HttpRequest | None = None) -> None:
    """Queue a check of this environment's tags now ("check now"); audited. BrokerUnavailable if Redis refuses."""
    from images_app.tasks.updates import updates_check_environment

    if settings.BERTH_READ_ONLY:
        raise ReadOnlyMode()
    if not user.has_perm("images_app.check_updates"):
        audit_record(
            action="updates_check_requested",
            outcome="denied",
            actor=user,
            request=request,
            environment=environment,
            message="Not allowed to start update checks",
        )
        raise PermissionDenied("Your role may not start update checks.")
    try:
        enqueue_fail_fast(updates_check_environment, environment.pk, user.pk, what="the update check")
    except BerthError as exc:
        audit_record(
            action="updates_check_requested",
            outcome="failure",
            actor=user,
            request=request,
            environment=environment,
            message=exc.message,
        )
        raise
    audit_record(
        action="updates_check_requested", outcome="success", actor=user, request=request, environment=environment
    )
