"""The history cannot be changed by the application, and tampering with the database is caught."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import types

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from images_app.models import AuditAnchor, AuditEvent
from images_app.roles import ADMIN
from images_app.services import audit as audit_service
from images_app.services.audit import GENESIS_HASH, audit_record, digest_of
from images_app.services.audit_chain import audit_chain_verify
from tests.integration.conftest import REPO_ROOT, _test_database_url, logged_in

TABLE = AuditEvent._meta.db_table


def record(n: int = 1, **fields) -> list[AuditEvent]:
    fields.setdefault("action", "pull_requested")
    fields.setdefault("outcome", "success")
    return [audit_record(target_reference=f"app:{index}", **fields) for index in range(n)]


def verify_fails(match: str) -> str:
    with pytest.raises(CommandError, match=match) as caught:
        call_command("verify_audit", stdout=io.StringIO())
    assert caught.value.returncode == 1
    return str(caught.value)


def verify_passes() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


# --- append-only --------------------------------------------------------------


def test_saving_an_existing_event_is_refused(db):
    (event,) = record()
    event.message = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).message == ""


def test_deleting_an_event_is_refused(db):
    (event,) = record()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(message="x")
    assert AuditEvent.objects.filter(pk=event.pk, message="").exists()


@pytest.fixture
def superuser_client(make_user):
    return logged_in(make_user("root", ADMIN, is_staff=True, is_superuser=True))


def test_django_admin_shows_events_read_only(superuser_client):
    (event,) = record()
    base = f"/admin/images_app/auditevent/{event.pk}"
    assert superuser_client.get("/admin/images_app/auditevent/").status_code == 200
    page = superuser_client.get(f"{base}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert superuser_client.post(f"{base}/change/", {"message": "edited"}).status_code == 403
    assert superuser_client.get("/admin/images_app/auditevent/add/").status_code == 403
    assert superuser_client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    bulk = superuser_client.post(
        "/admin/images_app/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk, message="").exists()


def test_django_admin_cannot_edit_or_delete_users(superuser_client, viewer):
    assert superuser_client.get(f"/admin/auth/user/{viewer.pk}/delete/").status_code == 404
    assert superuser_client.get(f"/admin/auth/user/{viewer.pk}/change/").status_code == 404
    assert type(viewer).objects.filter(pk=viewer.pk).exists()


# --- the hash chain -------------------------------------------------------------


def test_untouched_chain_verifies_and_names_its_head(db):
    events = record(5)
    out = verify_passes()
    assert f"5 events, head #{events[-1].pk} {events[-1].hash}" in out
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


def test_verify_catches_an_edited_row(db):
    events = record(5)
    raw(f"UPDATE {TABLE} SET message = %s WHERE id = %s", ["nothing to see", events[2].pk])
    message = verify_fails(f"#{events[2].pk}")
    assert "altered" in message


def test_verify_catches_an_edited_parameter_even_with_a_recomputed_hash(db):
    events = record(4, parameters={"force": False})
    tampered = AuditEvent.objects.get(pk=events[1].pk)
    tampered.parameters = {"force": True}
    new_hash = digest_of({name: getattr(tampered, name) for name in audit_service.DIGEST_FIELDS})
    raw(f"UPDATE {TABLE} SET parameters = %s, hash = %s WHERE id = %s", ['{"force": true}', new_hash, events[1].pk])
    message = verify_fails(f"#{events[2].pk}")  # the next event no longer follows it
    assert "removed" in message or "does not follow" in message


def test_verify_catches_a_deleted_row(db):
    events = record(5)
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [events[2].pk])
    message = verify_fails(f"#{events[3].pk}")
    assert f"removed between #{events[1].pk} and #{events[3].pk}" in message


def test_verify_catches_a_deleted_first_row(db):
    events = record(3)
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [events[0].pk])
    verify_fails(f"#{events[1].pk} does not start the chain")


def _leave_id_gap(size: int) -> None:
    # As a rolled-back transaction leaves in a Postgres sequence.
    if connection.vendor == "sqlite":
        raw("UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s", [size, TABLE])
    else:
        raw(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), (SELECT max(id) FROM {TABLE}) + %s)", [size])


def test_verify_catches_a_row_inserted_with_a_correct_hash(db):
    before = record(3)
    _leave_id_gap(10)
    after = record(2)
    # A forger who knows the algorithm links a new row to the event before the gap.
    forged_id = before[-1].pk + 5
    content = {name: getattr(before[-1], name) for name in audit_service.DIGEST_FIELDS}
    content.update(actor_name="mallory", message="forged", prev_hash=before[-1].hash, actor_id=None)
    forged_hash = digest_of(content)
    raw(
        f"INSERT INTO {TABLE} (id, created_at, actor_name, environment, action, target_reference, target_image_id,"
        " parameters, outcome, message, prev_hash, hash) VALUES (%s, %s, %s, '', %s, %s, '', %s, %s, %s, %s, %s)",
        [
            forged_id,
            content["created_at"],
            "mallory",
            content["action"],
            content["target_reference"],
            json.dumps(content["parameters"]),
            content["outcome"],
            "forged",
            before[-1].hash,
            forged_hash,
        ],
    )
    assert AuditEvent.objects.get(pk=forged_id).hash == forged_hash  # the row reads back as written
    message = verify_fails(f"#{forged_id} was inserted")
    assert f"#{after[0].pk} follows the event before it" in message


def test_verify_catches_a_row_inserted_with_a_made_up_hash(db):
    events = record(3)
    raw(
        f"INSERT INTO {TABLE} (created_at, actor_name, environment, action, target_reference, target_image_id,"
        " parameters, outcome, message, prev_hash, hash) VALUES (%s, 'mallory', '', 'login', '', '', '{}',"
        " 'success', '', %s, %s)",
        [timezone.now(), events[-1].hash, "f" * 64],
    )
    forged = AuditEvent.objects.order_by("-id").first()
    verify_fails(f"#{forged.pk} was altered")


# --- concurrent writers ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_chain_stays_valid_under_concurrent_writer_threads():
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def writer(number: int) -> None:
        try:
            barrier.wait(10)
            for index in range(20):
                audit_record(action="pull_requested", outcome="success", target_reference=f"t{number}:{index}")
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert AuditEvent.objects.count() == 120
    report = audit_chain_verify()
    assert report.ok, report.problem


_WRITER = """
import django, sys
django.setup()
from images_app.services.audit import audit_record
for index in range(25):
    audit_record(action="pull_requested", outcome="success", target_reference=f"p{sys.argv[1]}:{index}")
"""


@pytest.mark.django_db(transaction=True)
def test_chain_stays_valid_under_concurrent_writer_processes():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings")
    env["DATABASE_URL"] = _test_database_url()  # SQLite or PostgreSQL, whichever the suite runs on
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(n)], cwd=REPO_ROOT, env=env, stderr=subprocess.PIPE)
        for n in range(4)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()[-2000:]
    assert AuditEvent.objects.count() == 100
    report = audit_chain_verify()
    assert report.ok, report.problem


# --- retention --------------------------------------------------------------------


@pytest.fixture
def aged(monkeypatch):
    """Record events as if at a given time."""

    def at(when: dt.datetime, n: int) -> list[AuditEvent]:
        monkeypatch.setattr(audit_service, "timezone", types.SimpleNamespace(now=lambda: when))
        try:
            return record(n)
        finally:
            monkeypatch.setattr(audit_service, "timezone", timezone)

    return at


def test_retention_archives_then_drops_old_events_and_the_chain_still_verifies(db, aged, tmp_path):
    now = timezone.now()
    old = aged(now - dt.timedelta(days=100), 4)
    recent = aged(now - dt.timedelta(days=5), 3)

    out = io.StringIO()
    call_command("audit_retention", "--days", "30", "--archive-dir", str(tmp_path), stdout=out)

    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in recent]).count() == 3
    (archive,) = tmp_path.glob("*.jsonl.gz")
    lines = [json.loads(line) for line in gzip.open(archive, "rt")]
    assert [line["id"] for line in lines] == [e.pk for e in old]
    assert [line["hash"] for line in lines] == [e.hash for e in old]
    anchor = AuditAnchor.objects.get()
    assert anchor.last_id == old[-1].pk and anchor.last_hash == old[-1].hash and anchor.dropped_count == 4
    assert anchor.archive_sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    pruned = AuditEvent.objects.get(action="audit_pruned")
    assert pruned.parameters["dropped"] == 4 and pruned.parameters["anchor_last_hash"] == old[-1].hash
    assert "Archived 4 events" in out.getvalue()
    assert AuditEvent.objects.count() == 4  # 3 recent and audit_pruned
    assert "4 events" in verify_passes()


def test_tampering_after_retention_is_still_caught(db, aged, tmp_path):
    now = timezone.now()
    old = aged(now - dt.timedelta(days=100), 3)
    recent = aged(now - dt.timedelta(days=1), 3)
    call_command("audit_retention", "--days", "30", "--archive-dir", str(tmp_path), stdout=io.StringIO())
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [recent[0].pk])
    verify_fails(f"removed between #{old[-1].pk} and #{recent[1].pk}")


def test_a_forged_anchor_is_caught(db, aged):
    now = timezone.now()
    events = aged(now - dt.timedelta(days=100), 4)
    # Someone drops old rows by hand and writes an anchor to cover it up.
    raw(f"DELETE FROM {TABLE} WHERE id <= %s", [events[1].pk])
    AuditAnchor(created_at=now, last_id=events[1].pk, last_hash=events[1].hash, dropped_count=2, cutoff=now).save()
    verify_fails("not confirmed by an audit_pruned event")


def test_retention_twice_chains_anchor_to_anchor(db, aged, tmp_path):
    now = timezone.now()
    aged(now - dt.timedelta(days=200), 2)
    aged(now - dt.timedelta(days=100), 2)
    aged(now - dt.timedelta(days=1), 1)
    call_command("audit_retention", "--days", "150", "--archive-dir", str(tmp_path), stdout=io.StringIO())
    call_command("audit_retention", "--days", "50", "--archive-dir", str(tmp_path), stdout=io.StringIO())
    assert AuditAnchor.objects.count() == 2
    assert len(list(tmp_path.glob("*.jsonl.gz"))) == 2
    verify_passes()


def test_retention_refuses_to_drop_tampered_events(db, aged, tmp_path):
    now = timezone.now()
    old = aged(now - dt.timedelta(days=100), 3)
    raw(f"UPDATE {TABLE} SET message = 'hidden' WHERE id = %s", [old[1].pk])
    with pytest.raises(CommandError, match=f"#{old[1].pk} does not verify"):
        call_command("audit_retention", "--days", "30", "--archive-dir", str(tmp_path), stdout=io.StringIO())
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in old]).count() == 3
    assert not AuditAnchor.objects.exists()


def test_retention_with_nothing_old_records_that_it_ran(db, tmp_path):
    record(2)
    out = io.StringIO()
    call_command("audit_retention", "--days", "30", "--archive-dir", str(tmp_path), stdout=out)
    assert "Nothing older than 30 days" in out.getvalue()
    event = AuditEvent.objects.get(action="audit_pruned")
    assert event.parameters["dropped"] == 0
    verify_passes()


def test_archives_verify_and_a_damaged_archive_is_caught(db, aged, tmp_path):
    now = timezone.now()
    aged(now - dt.timedelta(days=200), 3)
    aged(now - dt.timedelta(days=100), 3)
    aged(now - dt.timedelta(days=1), 1)
    call_command("audit_retention", "--days", "150", "--archive-dir", str(tmp_path), stdout=io.StringIO())
    call_command("audit_retention", "--days", "50", "--archive-dir", str(tmp_path), stdout=io.StringIO())
    out = io.StringIO()
    call_command("verify_audit", "--archives", stdout=out)
    assert "Audit archives OK" in out.getvalue()

    second = AuditAnchor.objects.order_by("-last_id").first()
    lines = gzip.open(second.archive_path, "rt").read().splitlines()
    edited = json.loads(lines[0])
    edited["message"] = "edited in the archive"
    lines[0] = json.dumps(edited)
    with gzip.open(second.archive_path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="does not match its recorded checksum"):
        call_command("verify_audit", "--archives", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_verify_audit_exits_non_zero_naming_the_event():
    events = record(3)
    raw(f"UPDATE {TABLE} SET actor_name = 'someone-else' WHERE id = %s", [events[1].pk])
    env = dict(os.environ, DATABASE_URL=_test_database_url())
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"Event #{events[1].pk} was altered" in result.stderr
