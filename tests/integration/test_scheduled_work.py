"""Pages only read; the periodic work (sweeps, expiry, audit retention and verification) runs on Celery beat.

A GET of any page that used to write (the pulls pages swept stale pulls, the requests pages expired
overdue requests) leaves every table as it was; the beat tasks do that work, audited, once.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from config.celery import beat_schedule
from images_app import pull_stream
from images_app.models import AuditAnchor, AuditEvent, CleanupRequest, PullJob, RemovalJob
from images_app.services.audit import DIGEST_FIELDS, audit_record, digest_of
from images_app.tasks import scheduled as tasks
from tests.integration.conftest import BEAT_SWEEP_ONLY, start_beat

LONG_AGO = timedelta(hours=2)
TABLES = (PullJob, CleanupRequest, RemovalJob, AuditEvent, AuditAnchor)


def _database() -> dict[str, list[dict]]:
    """Every row of the tables periodic work changes, to compare before and after."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in TABLES}


def _stale_world(environment, operator, admin_user) -> dict[str, object]:
    """A pull and a removal job whose workers died, and a request past its expiry."""
    old = timezone.now() - LONG_AGO
    pull = PullJob.objects.create(
        environment=environment,
        reference="localhost:5000/stale:v1",
        requested_by=operator,
        status=PullJob.Status.RUNNING,
        started_at=old,
        heartbeat_at=old,
    )
    pull_stream.forget(pull.pk)  # test databases hand ids out again; Redis would remember them
    approved = CleanupRequest.objects.create(
        environment=environment,
        reason="disk",
        requested_by=operator,
        expires_at=timezone.now() + timedelta(hours=1),
        status=CleanupRequest.Status.APPROVED,
        items=[{"reference": "a:1", "image_id": "sha256:" + "a" * 64, "force": False}] * 2,
    )
    job = RemovalJob.objects.create(
        environment=environment,
        items=approved.items,
        created_by=admin_user,
        cleanup_request=approved,
        status=RemovalJob.Status.RUNNING,
        started_at=old,
        heartbeat_at=old,
        results=[{"reference": "a:1", "image_id": "sha256:" + "a" * 64, "outcome": "removed", "ok": True}],
    )
    overdue = CleanupRequest.objects.create(
        environment=environment, reason="old", requested_by=operator, expires_at=timezone.now() - timedelta(seconds=1)
    )
    return {"pull": pull, "job": job, "approved": approved, "overdue": overdue}


def test_the_pages_that_used_to_write_leave_the_database_unchanged(
    environment, operator, admin_user, admin_client
):
    world = _stale_world(environment, operator, admin_user)
    before = _database()
    pages = [
        reverse("pull_list", kwargs={"env": "local"}),
        reverse("pull_detail", kwargs={"env": "local", "pk": world["pull"].pk}),
        reverse("request_list"),
        reverse("request_detail", kwargs={"pk": world["overdue"].pk}),
        reverse("request_detail", kwargs={"pk": world["approved"].pk}),
        reverse("removal_job_detail", kwargs={"env": "local", "pk": world["job"].pk}),
        "/env/local/",
        reverse("audit_list"),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert _database() == before


def test_an_overdue_request_is_shown_expired_and_offers_no_decision_before_the_task_records_it(
    environment, operator, admin_user, admin_client
):
    overdue = _stale_world(environment, operator, admin_user)["overdue"]
    html = admin_client.get(reverse("request_detail", kwargs={"pk": overdue.pk})).content.decode()
    assert 'id="request-overdue"' in html
    assert "Approve" not in html
    assert 'id="request-status">expired<' in html
    listing = admin_client.get(reverse("request_list"))
    assert overdue.pk not in [request.pk for request in listing.context["pending"]]
    assert overdue.pk in [request.pk for request in listing.context["recent"]]  # shown as expired, not hidden
    assert f'data-request="{overdue.pk}"' in listing.content.decode()


@override_settings(BERTH_PULL_STALE_SECONDS=6, BERTH_REMOVAL_STALE_SECONDS=60)
def test_the_sweep_task_fails_dead_jobs_once_and_audits_each(environment, operator, admin_user):
    world = _stale_world(environment, operator, admin_user)
    alive = PullJob.objects.create(
        environment=environment,
        reference="localhost:5000/alive:v1",
        requested_by=operator,
        status=PullJob.Status.RUNNING,
        heartbeat_at=timezone.now(),
    )

    assert tasks.stale_jobs_sweep.apply().get() == {"pulls": 1, "removal_jobs": 1}

    pull = PullJob.objects.get(pk=world["pull"].pk)
    job = RemovalJob.objects.get(pk=world["job"].pk)
    approved = CleanupRequest.objects.get(pk=world["approved"].pk)
    assert pull.status == PullJob.Status.FAILED and "worker stopped responding" in pull.error_message
    assert PullJob.objects.get(pk=alive.pk).status == PullJob.Status.RUNNING
    assert job.status == RemovalJob.Status.PARTIAL  # one item was done before the worker died
    assert "after 1 of 2 items" in job.error_message
    assert approved.status == CleanupRequest.Status.EXECUTED
    assert AuditEvent.objects.get(pull_job=pull, action="pull_failed").actor_name == "system"
    assert AuditEvent.objects.get(removal_job=job, action="removal_job_abandoned").outcome == "failure"
    assert AuditEvent.objects.filter(cleanup_request=approved, action="cleanup_executed").count() == 1

    before = _database()
    assert tasks.stale_jobs_sweep.apply().get() == {"pulls": 0, "removal_jobs": 0}
    assert _database() == before  # idempotent


def test_the_expiry_task_expires_overdue_requests_once(environment, operator, admin_user):
    overdue = _stale_world(environment, operator, admin_user)["overdue"]
    waiting = CleanupRequest.objects.create(
        environment=environment, reason="new", requested_by=operator, expires_at=timezone.now() + timedelta(hours=1)
    )
    assert tasks.overdue_requests_expire.apply().get() == 1
    assert CleanupRequest.objects.get(pk=overdue.pk).status == CleanupRequest.Status.EXPIRED
    assert CleanupRequest.objects.get(pk=waiting.pk).status == CleanupRequest.Status.PENDING
    assert AuditEvent.objects.get(action="cleanup_expired").cleanup_request_id == overdue.pk
    assert tasks.overdue_requests_expire.apply().get() == 0


def _age_every_event(days: int) -> None:
    """Move every event `days` back in time, re-chaining the hashes (as if recorded then)."""
    previous = AuditAnchor.objects.order_by("-last_id").values_list("last_hash", flat=True).first() or "0" * 64
    for event in AuditEvent.objects.order_by("id"):
        content = {name: getattr(event, name) for name in DIGEST_FIELDS}
        content.update(created_at=event.created_at - timedelta(days=days), prev_hash=previous)
        digest = digest_of(content)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {AuditEvent._meta.db_table} SET created_at = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [connection.ops.adapt_datetimefield_value(content["created_at"]), previous, digest, event.pk],
            )
        previous = digest


def test_the_retention_task_archives_old_events_and_the_verify_task_records_its_verdict(db, settings, tmp_path):
    settings.BERTH_AUDIT_ARCHIVE_DIR = str(tmp_path)
    settings.BERTH_AUDIT_RETENTION_DAYS = 30
    for index in range(3):
        audit_record(action="pull_requested", outcome="success", target_reference=f"old:{index}")
    _age_every_event(40)
    kept = audit_record(action="pull_requested", outcome="success", target_reference="new:1")

    assert tasks.audit_retention.apply().get() == 3
    assert list(tmp_path.glob("*.jsonl.gz"))
    assert not AuditEvent.objects.filter(target_reference__startswith="old:").exists()
    assert AuditEvent.objects.get(action="audit_pruned").outcome == "success"
    assert tasks.audit_retention.apply().get() == 0  # nothing left to drop

    assert tasks.audit_verify.apply().get() is True
    verdict = AuditEvent.objects.filter(action="audit_verified").latest("id")
    assert verdict.outcome == "success"

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET message = 'edited' WHERE id = %s", [kept.pk])
    assert tasks.audit_verify.apply().get() is False
    verdict = AuditEvent.objects.filter(action="audit_verified").latest("id")
    assert verdict.outcome == "failure"
    assert f"#{kept.pk}" in verdict.message


def test_beat_runs_every_task_at_the_interval_its_setting_says(settings):
    settings.BERTH_BEAT_SWEEP_SECONDS = 7
    settings.BERTH_BEAT_EXPIRE_SECONDS = 11
    settings.BERTH_BEAT_RETENTION_SECONDS = 0  # off
    settings.BERTH_BEAT_VERIFY_SECONDS = 13
    settings.BERTH_BEAT_POLICIES_SECONDS = 17
    settings.BERTH_UPDATE_CHECK_TICK_SECONDS = 19
    schedule = beat_schedule()
    assert {name: entry["schedule"] for name, entry in schedule.items()} == {
        "images_app.stale_jobs_sweep": 7.0,
        "images_app.overdue_requests_expire": 11.0,
        "images_app.audit_verify": 13.0,
        "images_app.retention_run_due": 17.0,
        "images_app.updates_check_due": 19.0,
    }
    from config.celery import app

    registered = set(app.tasks)
    assert {entry["task"] for entry in schedule.values()} <= registered


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_beat_process_makes_the_worker_sweep_a_dead_pull(
    celery_worker_process, process_dir, environment, operator
):
    old = timezone.now() - LONG_AGO
    stale = PullJob.objects.create(
        environment=environment,
        reference="localhost:5000/beat:v1",
        requested_by=operator,
        status=PullJob.Status.RUNNING,
        started_at=old,
        heartbeat_at=old,
    )
    pull_stream.forget(stale.pk)
    beat = start_beat(process_dir, BEAT_SWEEP_ONLY)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and PullJob.objects.get(pk=stale.pk).status == PullJob.Status.RUNNING:
            time.sleep(0.5)
        assert PullJob.objects.get(pk=stale.pk).status == PullJob.Status.FAILED, beat.tail()
        assert "images_app.stale_jobs_sweep" in beat.tail(200)
        assert AuditEvent.objects.filter(pull_job=stale, action="pull_failed", actor_name="system").count() == 1
    finally:
        beat.stop()
