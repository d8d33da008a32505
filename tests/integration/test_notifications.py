"""Notifications: channels (admins, secret URLs), preferences (each person), deliveries with retries."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from images_app.crypto import decrypt_secret
from images_app.models import (
    AuditEvent,
    Delivery,
    Environment,
    Notification,
    NotificationChannel,
    NotificationEvent,
    PullJob,
    RetentionPolicy,
)
from images_app.services.cleanup_requests import cleanup_request_create, cleanup_request_reject
from images_app.services.notifications import (
    channel_save,
    delivery_attempt,
    notification_build,
    notify_updates_available,
)
from images_app.services.pulls import pull_start
from images_app.services.removal import FrozenItem
from images_app.services.updates import updates_check_run
from tests.integration.conftest import start_worker
from tests.integration.support.pulls import wait_until
from tests.integration.support.webhook_receiver import WebhookReceiver

TOKEN = "T0KEN-s3cret-abcdef"


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def failing_receiver():
    server = WebhookReceiver(fail_with=503).start()
    yield server
    server.stop()


def _channel(admin_user, name, kind, url="", events=None, email_to=""):
    return channel_save(
        actor=admin_user,
        channel=None,
        name=name,
        kind=kind,
        url=url,
        email_to=email_to,
        events=events or list(NotificationEvent.values),
    )


def _failed_pull(environment, user, reference="localhost:1/nope:1"):
    return PullJob.objects.create(
        environment=environment,
        reference=reference,
        requested_by=user,
        status=PullJob.Status.FAILED,
        error_message="The registry could not be reached: connection refused",
    )


def _deliver_all() -> list[str]:
    return [delivery_attempt(pk)[0] for pk in Delivery.objects.order_by("pk").values_list("pk", flat=True)]


# --- channels -----------------------------------------------------------------------


def test_a_webhook_url_is_stored_encrypted_and_never_shown_back(admin_client, receiver):
    response = admin_client.post(
        reverse("notification_channel_create"),
        {"name": "ops", "kind": "webhook", "url": receiver.url, "events": ["pull_failed"], "enabled": "on"},
    )
    assert response.status_code == 302
    channel = NotificationChannel.objects.get(name="ops")
    assert TOKEN not in channel.url_encrypted and decrypt_secret(channel.url_encrypted) == receiver.url
    for url in (reverse("notification_channels"), reverse("notification_channel_edit", kwargs={"pk": channel.pk})):
        html = admin_client.get(url).content.decode()
        assert TOKEN not in html and channel.url_encrypted not in html
        assert channel.url_hint in html  # "http://127.0.0.1/…cdef": recognisable, useless to an attacker
    event = AuditEvent.objects.get(action="notification_channel_added")
    assert TOKEN not in json.dumps(event.parameters) + event.message


def test_a_blank_url_on_edit_keeps_the_stored_one(admin_client, admin_user, receiver):
    channel = _channel(admin_user, "ops", "webhook", url=receiver.url)
    response = admin_client.post(
        reverse("notification_channel_edit", kwargs={"pk": channel.pk}),
        {"name": "ops", "kind": "webhook", "url": "", "events": ["pull_failed"], "enabled": "on"},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert decrypt_secret(channel.url_encrypted) == receiver.url and channel.events == ["pull_failed"]


def test_a_webhook_channel_needs_an_http_url(admin_client):
    response = admin_client.post(
        reverse("notification_channel_create"), {"name": "x", "kind": "slack", "url": "file:///etc/passwd"}
    )
    assert response.status_code == 400 and not NotificationChannel.objects.exists()


def test_only_admins_manage_channels(operator_client, viewer_client):
    for client in (operator_client, viewer_client):
        assert client.get(reverse("notification_channels")).status_code == 403
        response = client.post(reverse("notification_channel_create"), {"name": "x", "kind": "webhook"})
        assert response.status_code == 403
    assert not NotificationChannel.objects.exists()


# --- deliveries -----------------------------------------------------------------------


def test_a_failed_pull_reaches_a_generic_webhook_and_a_slack_one(admin_user, operator, environment, receiver):
    _channel(admin_user, "json", "webhook", url=receiver.url, events=["pull_failed"])
    _channel(admin_user, "chat", "slack", url=receiver.url + "/slack", events=["pull_failed"])
    _channel(admin_user, "quiet", "webhook", url=receiver.url + "/quiet", events=["request_pending"])
    job = _failed_pull(environment, operator)

    notification_build(NotificationEvent.PULL_FAILED, job.pk)

    assert _deliver_all() == ["sent", "sent"]
    by_path = {r["path"]: r["json"] for r in receiver.received}
    generic = by_path[f"/hooks/{TOKEN}"]
    assert generic["event"] == "pull_failed" and generic["data"]["reference"] == job.reference
    assert generic["title"] == f"Pull of {job.reference} failed on local"
    assert by_path[f"/hooks/{TOKEN}/slack"]["text"].startswith(f"*Pull of {job.reference} failed on local*")
    assert AuditEvent.objects.filter(action="notification_sent", outcome="success").count() == 2


def test_the_person_who_pulled_gets_an_email(operator, environment):
    operator.email = "otto@example.com"
    operator.save()
    job = _failed_pull(environment, operator)

    notification_build(NotificationEvent.PULL_FAILED, job.pk)
    assert _deliver_all() == ["sent"]

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["otto@example.com"]
    assert mail.outbox[0].subject == f"[Berth] Pull of {job.reference} failed on local"
    assert "connection refused" in mail.outbox[0].body


def test_a_person_who_turned_an_event_off_gets_no_email(operator, operator_client, environment):
    operator.email = "otto@example.com"
    operator.save()
    choices = {event: "on" for event in NotificationEvent.values if event != "pull_failed"}
    assert operator_client.post(reverse("notification_preferences"), choices).status_code == 302

    notification_build(NotificationEvent.PULL_FAILED, _failed_pull(environment, operator).pk)
    assert not Delivery.objects.exists() and mail.outbox == []
    page = operator_client.get(reverse("notification_preferences")).content.decode()
    boxes = {name: tag for tag, name in re.findall(r'(<input[^>]*name="(\w+)"[^>]*>)', page)}
    assert "checked" not in boxes["pull_failed"] and "checked" in boxes["request_decided"]


def test_a_removal_request_reaches_the_admins_but_not_the_requester(admin_user, second_admin, operator, environment):
    for user, address in ((admin_user, "ada@example.com"), (second_admin, "alan@example.com"), (operator, "o@x.io")):
        user.email = address
        user.save()
    request = cleanup_request_create(
        environment=environment,
        kind="remove",
        items=[FrozenItem(image_id="sha256:" + "1" * 64, reference="app:1")],
        reason="old",
        actor=operator,
    )
    notification_build(NotificationEvent.REQUEST_PENDING, request.pk)
    assert sorted(Delivery.objects.values_list("destination", flat=True)) == [
        "email ada@example.com",
        "email alan@example.com",
    ]

    cleanup_request_reject(cleanup_request=request, actor=admin_user, note="still used")
    notification_build(NotificationEvent.REQUEST_DECIDED, request.pk)
    decided = Notification.objects.get(event="request_decided")
    assert decided.title == f"Your removal request #{request.pk} on local was rejected by ada"
    assert list(decided.deliveries.values_list("destination", flat=True)) == ["email o@x.io"]


@override_settings(BERTH_NOTIFY_ATTEMPTS=3)
def test_a_failing_receiver_is_retried_then_shown_as_failing(
    admin_user, admin_client, operator, environment, failing_receiver
):
    _channel(admin_user, "broken", "webhook", url=failing_receiver.url, events=["pull_failed"])
    notification_build(NotificationEvent.PULL_FAILED, _failed_pull(environment, operator).pk)
    delivery = Delivery.objects.get()

    assert [delivery_attempt(delivery.pk) for _ in range(4)] == [
        ("retry", 1),
        ("retry", 2),
        ("failed", 3),
        ("skipped", 0),
    ]
    assert len(failing_receiver.received) == 3
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.last_error == "The receiver answered HTTP 503"
    html = admin_client.get(reverse("notification_channels")).content.decode()
    assert 'id="failing-deliveries"' in html and "channel broken" in html
    assert AuditEvent.objects.filter(action="notification_failed", outcome="failure").count() == 1


def test_updates_are_told_in_one_digest_once(admin_user, environment, receiver, docker_api, images, registry_host):
    _channel(admin_user, "ops", "webhook", url=receiver.url, events=["updates_available"])
    repository = f"{registry_host}/digest-{secrets.token_hex(3)}"
    olds = []
    for tag in ("1", "2"):
        old = images.build(f"{repository}:{tag}", busybox=False, layers=[16])
        _push(docker_api, repository, tag)
        new = images.build(f"{repository}:{tag}", busybox=False, layers=[16])
        _push(docker_api, repository, tag)
        images.tag(old, f"{repository}:{tag}")
        docker_api.remove_image(new, force=True)
        olds.append(old)

    twin = Environment.objects.create(name="twin", docker_host=environment.docker_host)  # same tags elsewhere
    updates_check_run(environments=[environment, twin], on_outdated=notify_updates_available)
    updates_check_run(environments=[environment, twin], force=True, on_outdated=notify_updates_available)

    notifications = Notification.objects.filter(event="updates_available").order_by("environment")
    assert [n.environment for n in notifications] == ["local", "twin"]  # one digest each, not one per image
    for notification in notifications:
        tags = [item["tag"] for item in notification.message["data"]["updates"]]
        assert f"{repository}:1" in tags and f"{repository}:2" in tags
        assert notification.title.endswith(f"available on {notification.environment}")
    assert _deliver_all() == ["sent", "sent"] and len(receiver.received) == 2


def _push(docker_api, repository, tag):
    for event in docker_api.push(repository, tag, stream=True, decode=True):
        assert "error" not in event, event


# --- through the real worker ---------------------------------------------------------------


QUEUE = f"notify-{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def notify_worker(django_db_setup, process_dir, tmp_path_factory):
    mail_dir = tmp_path_factory.mktemp("mail")
    proc = start_worker(
        process_dir,
        {
            "BERTH_QUEUE": QUEUE,
            "BERTH_NOTIFY_RETRY_SECONDS": "0.3",
            "BERTH_NOTIFY_ATTEMPTS": "3",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        },
        name="notify",
    )
    yield mail_dir
    proc.stop()


@override_settings(CELERY_TASK_DEFAULT_QUEUE=QUEUE)
def test_events_reach_receivers_through_the_worker_with_retries(
    transactional_db, notify_worker: Path, admin_user, operator, environment, receiver, failing_receiver, registry_host
):
    operator.email = "otto@example.com"
    operator.save()
    _channel(
        admin_user, "ops", "webhook", url=receiver.url, events=["request_pending", "request_decided", "pull_failed"]
    )
    _channel(admin_user, "broken", "slack", url=failing_receiver.url, events=["request_pending"])

    request = cleanup_request_create(
        environment=environment,
        kind="remove",
        items=[FrozenItem(image_id="sha256:" + "2" * 64, reference="app:1")],
        reason="cleanup",
        actor=operator,
    )
    cleanup_request_reject(cleanup_request=request, actor=admin_user, note="no")

    wait_until(lambda: sorted(receiver.events()) == ["request_decided", "request_pending"], 20, "both webhooks")
    wait_until(
        lambda: Delivery.objects.filter(destination="channel broken", status="failed").exists(), 20, "the retries"
    )
    assert len(failing_receiver.received) == 3
    wait_until(lambda: list(notify_worker.iterdir()), 20, "the requester's email")
    assert "was rejected by ada" in next(notify_worker.iterdir()).read_text()
    assert AuditEvent.objects.filter(action="notification_failed").count() == 1

    # A real pull that fails in the worker tells the webhook (the hook in the pull's own service).
    job, _ = pull_start(user=operator, environment=environment, reference=f"{registry_host}/no-such-image:1")
    wait_until(lambda: "pull_failed" in receiver.events(), 60, "the failed pull's notification")
    payload = next(r["json"] for r in receiver.received if r["json"].get("event") == "pull_failed")
    assert payload["data"] == {"pull": job.pk, "reference": job.reference}


def test_a_retention_policy_run_reaches_the_admins_and_the_channels(admin_user, second_admin, environment, receiver):
    for user, address in ((admin_user, "ada@example.com"), (second_admin, "bo@example.com")):
        user.email = address
        user.save(update_fields=["email"])
    _channel(admin_user, "json", "webhook", url=receiver.url, events=["policy_run"])
    policy = RetentionPolicy.objects.create(
        name="nightly",
        environment=environment,
        unused_days=30,
        action=RetentionPolicy.Action.ASK,
        owner=admin_user,
        last_run_summary="local: Request #7 created for an admin to approve.",
    )

    notification = notification_build(NotificationEvent.POLICY_RUN, policy.pk)

    assert notification is not None
    assert notification.title == "Retention policy nightly: local: Request #7 created for an admin to approve."
    assert _deliver_all() == ["sent", "sent", "sent"]  # the webhook, and an email to each admin
    body = next(r["json"] for r in receiver.received if r["path"] == f"/hooks/{TOKEN}")
    assert body["event"] == "policy_run" and body["data"]["name"] == "nightly"
    emailed = set(Delivery.objects.filter(user__isnull=False).values_list("user__username", flat=True))
    assert emailed == {admin_user.username, second_admin.username}
