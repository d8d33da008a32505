"""Notifications: who hears about what, and getting it there without ever holding up a page.

Services that see an event happen call `notify(event, object_id)`: after their transaction
commits, a Celery task builds the Notification and one Delivery per destination (the channels
that take this event, and each concerned person whose preference says yes, by email). Each
delivery is its own task: state first (pending -> sending, by conditional UPDATE), then the
transport, then the result; a failure goes back to pending and is retried with exponential
backoff until BERTH_NOTIFY_ATTEMPTS, then stays failed, on the admin page and in the history.
Each delivery's outcome is audited exactly once.

Why one module over ~350 lines: channels, preferences, building and delivering are one pipeline read
top to bottom; the pure parts (payloads, transports) already live in their own modules.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from images_app.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from images_app.errors import BrokerUnavailable
from images_app.models import (
    CleanupRequest,
    Delivery,
    Notification,
    NotificationChannel,
    NotificationPreference,
    PullJob,
    RetentionPolicy,
)
from images_app.models import (
    NotificationEvent as NotificationEvent,
)
from images_app.notification_payloads import (
    Message,
    email_content,
    generic_payload,
    slack_payload,
    updates_message,
)
from images_app.notification_transport import TransportError, post_webhook, send_email
from images_app.roles import ROLES
from images_app.services.audit import audit_record
from images_app.task_queue import enqueue_fail_fast

logger = logging.getLogger(__name__)

Status = Delivery.Status
Event = NotificationEvent
# A delivery "sending" for this long lost its worker mid-send: a redelivered task may take it again.
SENDING_STALE_SECONDS = 300


# --- hooks: called by the services where events happen ------------------------------


def notify(event: str, object_id: int) -> None:
    """After the current transaction commits, queue the notification of `event` about this object.

    Never raises and never waits on a receiver: a Redis outage loses the notification (logged),
    not the action that caused it.
    """
    transaction.on_commit(lambda: _enqueue_quietly("build", event, object_id))


def _enqueue_quietly(what: str, *args: Any) -> None:
    from images_app.tasks.notifications import notification_build, notification_deliver

    task = notification_build if what == "build" else notification_deliver
    try:
        enqueue_fail_fast(task, *args, what="a notification")
    except BrokerUnavailable as exc:
        logger.warning("Notification %s not queued: %s", args, exc.message)


def _link(name: str, **kwargs: Any) -> str:
    return settings.BERTH_PUBLIC_URL + reverse(name, kwargs=kwargs)


# --- building -----------------------------------------------------------------------


def _users_with(permission: str) -> Any:
    app_label, codename = permission.split(".")
    granted = Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
    return get_user_model().objects.filter(Q(is_superuser=True) | granted, is_active=True).distinct()


def _message_for(event: str, object_id: int) -> tuple[Message, list[Any]] | None:
    """What to say about the event and to whom (by email), or None when the object is gone."""
    if event == Event.REQUEST_PENDING:
        req = CleanupRequest.objects.select_related("environment", "requested_by").filter(pk=object_id).first()
        if req is None:
            return None
        who = req.requested_by.get_username()
        message = Message(
            event=event,
            title=f"Removal request #{req.pk} by {who} awaits approval on {req.environment.name}",
            lines=tuple(str(item.get("reference", "")) for item in req.items) + (f"Reason: {req.reason}",),
            url=_link("request_detail", pk=req.pk),
            environment=req.environment.name,
            data={"request": req.pk, "requested_by": who, "kind": req.kind},
        )
        admins = _users_with("images_app.approve_cleanup")
        if not settings.BERTH_ALLOW_SELF_APPROVAL:
            admins = admins.exclude(pk=req.requested_by_id)
        return message, list(admins)
    if event == Event.REQUEST_DECIDED:
        req = (
            CleanupRequest.objects.select_related("environment", "requested_by", "decided_by")
            .filter(pk=object_id)
            .first()
        )
        if req is None:
            return None
        by = req.decided_by.get_username() if req.decided_by else "nobody"
        message = Message(
            event=event,
            title=f"Your removal request #{req.pk} on {req.environment.name} was {req.status} by {by}",
            lines=(f"Note: {req.decision_note}",) if req.decision_note else (),
            url=_link("request_detail", pk=req.pk),
            environment=req.environment.name,
            data={"request": req.pk, "status": req.status, "decided_by": by},
        )
        return message, [req.requested_by]
    if event == Event.POLICY_RUN:
        policy = RetentionPolicy.objects.select_related("environment", "owner").filter(pk=object_id).first()
        if policy is None:
            return None
        # The run's own summary ("env: Request #12 created..." or "env: Removing 4 item(s)...").
        summary = policy.last_run_summary or "ran"
        environment = (
            summary.split(":", 1)[0] if ":" in summary else (policy.environment.name if policy.environment else "")
        )
        message = Message(
            event=event,
            title=f"Retention policy {policy.name}: {summary}",
            lines=(f"Action: {policy.action}", f"Owner: {policy.owner.get_username()}"),
            url=_link("policy_list"),
            environment=environment,
            data={"policy": policy.pk, "name": policy.name, "action": policy.action, "summary": summary},
        )
        return message, list(_users_with("images_app.manage_retention"))
    if event == Event.PULL_FAILED:
        job = PullJob.objects.select_related("environment", "requested_by").filter(pk=object_id).first()
        if job is None:
            return None
        message = Message(
            event=event,
            title=f"Pull of {job.reference} failed on {job.environment.name}",
            lines=(job.error_message[:500],) if job.error_message else (),
            url=_link("pull_detail", env=job.environment.name, pk=job.pk),
            environment=job.environment.name,
            data={"pull": job.pk, "reference": job.reference},
        )
        return message, [job.requested_by]
    return None


def _wants_email(users: list[Any], event: str) -> list[Any]:
    """The users with an address whose preference for this event is on (on unless they said no)."""
    users = [u for u in users if u.email and u.is_active]
    refused = set(
        NotificationPreference.objects.filter(user__in=users, event=event, email=False).values_list(
            "user_id", flat=True
        )
    )
    return [u for u in users if u.pk not in refused]


def notification_create(message: Message, recipients: list[Any]) -> Notification:
    """Store the notification and a pending delivery per channel and per willing recipient; queue them."""
    with transaction.atomic():
        notification = Notification.objects.create(
            event=message.event, title=message.title[:300], message=message.to_json(), environment=message.environment
        )
        deliveries = [
            Delivery(notification=notification, channel=channel, destination=f"channel {channel.name}")
            for channel in NotificationChannel.objects.filter(enabled=True)
            if message.event in channel.events
        ]
        deliveries += [
            Delivery(notification=notification, user=user, destination=f"email {user.email}")
            for user in _wants_email(recipients, message.event)
        ]
        Delivery.objects.bulk_create(deliveries)
        for delivery_id in Delivery.objects.filter(notification=notification).values_list("pk", flat=True):
            transaction.on_commit(partial(_enqueue_quietly, "deliver", delivery_id))
    return notification


def notification_build(event: str, object_id: int) -> Notification | None:
    """The task's work: build and queue the notification of one event (nothing if its object is gone)."""
    built = _message_for(event, object_id)
    if built is None:
        return None
    return notification_create(*built)


def notify_updates_available(summary: Any) -> list[Notification]:
    """One digest per environment for the updates a check found that no notification named yet."""
    from images_app.services.updates import mark_notified

    # Marked once for all environments, then told in each environment's digest that has the tag.
    new_digests = {tag.key: verdict.remote_digest for items in summary.outdated.values() for tag, verdict in items}
    fresh_keys = mark_notified(new_digests)
    notifications = []
    for environment, items in summary.outdated.items():
        fresh = [(tag, verdict) for tag, verdict in items if tag.key in fresh_keys]
        if not fresh:
            continue
        message = updates_message(
            environment=environment,
            items=[
                (
                    tag.repo_tag,
                    verdict.remote_digest,
                    verdict.remote_created.strftime("%Y-%m-%d %H:%M UTC") if verdict.remote_created else "",
                )
                for tag, verdict in fresh
            ],
            url=_link("image_list", env=environment) + "?status=outdated",
        )
        with_a_role = Q(is_superuser=True) | Q(groups__name__in=ROLES)
        everyone = get_user_model().objects.filter(with_a_role, is_active=True).exclude(email="").distinct()
        notifications.append(notification_create(message, list(everyone)))
    return notifications


# --- delivering -----------------------------------------------------------------------


def _claim(delivery_id: int) -> Delivery | None:
    now = timezone.now()
    stale = Q(status=Status.SENDING, last_attempt_at__lt=now - timedelta(seconds=SENDING_STALE_SECONDS))
    won = Delivery.objects.filter(Q(pk=delivery_id) & (Q(status=Status.PENDING) | stale)).update(
        status=Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now
    )
    if not won:
        return None
    return Delivery.objects.select_related("notification", "channel", "user").get(pk=delivery_id)


def _send(delivery: Delivery, message: Message) -> None:
    channel = delivery.channel
    if delivery.user is not None:
        if not delivery.user.email:
            raise TransportError("The user has no email address any more", permanent=True)
        send_email([delivery.user.email], *email_content(message))
        return
    if channel is None or not channel.enabled:
        raise TransportError("The channel was removed or disabled", permanent=True)
    if channel.kind == NotificationChannel.Kind.EMAIL:
        recipients = [a.strip() for a in channel.email_to.split(",") if a.strip()]
        send_email(recipients, *email_content(message))
        return
    try:
        url = decrypt_secret(channel.url_encrypted)
    except SecretUnreadable as exc:
        raise TransportError(str(exc), permanent=True) from None
    payload = slack_payload(message) if channel.kind == NotificationChannel.Kind.SLACK else generic_payload(message)
    post_webhook(url, payload)


def delivery_attempt(delivery_id: int) -> tuple[str, int]:
    """Try one delivery once: ("sent" | "retry" | "failed" | "skipped", attempts so far)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped", 0
    message = Message.from_json(delivery.notification.message)
    try:
        _send(delivery, message)
    except TransportError as exc:
        final = exc.permanent or delivery.attempts >= settings.BERTH_NOTIFY_ATTEMPTS
        with transaction.atomic():
            won = Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
                status=Status.FAILED if final else Status.PENDING, last_error=exc.message[:1000]
            )
            if won and final:
                _audit_delivery(delivery, "failure", exc.message)
        return ("failed" if final else "retry"), delivery.attempts
    except Exception as exc:
        logger.exception("Delivery %s crashed", delivery.pk)
        Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
            status=Status.PENDING, last_error=f"Unexpected error: {type(exc).__name__}"
        )
        return "retry", delivery.attempts
    with transaction.atomic():
        won = Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
            status=Status.SENT, sent_at=timezone.now(), last_error=""
        )
        if won:
            _audit_delivery(delivery, "success", "")
    return "sent", delivery.attempts


def _audit_delivery(delivery: Delivery, outcome: str, error: str) -> None:
    notification = delivery.notification
    audit_record(
        action="notification_sent" if outcome == "success" else "notification_failed",
        outcome=outcome,
        environment=notification.environment,
        target_reference=delivery.destination[:512],
        parameters={"event": notification.event, "notification": notification.pk, "attempts": delivery.attempts},
        message=error or notification.title,
    )


# --- channels and preferences (admins; each person for themselves) ----------------------


def url_hint(url: str) -> str:
    """Enough of a webhook URL to recognise it, never its token: "https://hooks.example.com/…a1b2"."""
    parts = urlsplit(url)
    tail = url.rstrip("/")[-4:] if len(url) > 24 else ""
    return f"{parts.scheme}://{parts.hostname or '?'}/…{tail}"[:120]


def _channel_fields(channel: NotificationChannel) -> dict[str, Any]:
    # What the history may keep: never the URL, only its hint.
    return {
        "name": channel.name,
        "kind": channel.kind,
        "url_hint": channel.url_hint,
        "email_to": channel.email_to,
        "events": channel.events,
        "enabled": channel.enabled,
    }


def channel_save(
    *,
    actor: Any,
    channel: NotificationChannel | None,
    name: str,
    kind: str,
    url: str = "",
    email_to: str = "",
    events: list[str],
    enabled: bool = True,
    request: HttpRequest | None = None,
) -> NotificationChannel:
    """Add (channel None) or change a channel; a blank URL on change keeps the stored one."""
    creating = channel is None
    if channel is None:
        channel = NotificationChannel(created_by=actor)
    channel.name, channel.kind, channel.email_to = name, kind, email_to.strip()
    channel.events, channel.enabled = sorted(set(events)), enabled
    if url:
        channel.url_encrypted, channel.url_hint = encrypt_secret(url), url_hint(url)
    if kind == NotificationChannel.Kind.EMAIL:
        channel.url_encrypted, channel.url_hint = "", ""
    with transaction.atomic():
        channel.save()
        audit_record(
            action="notification_channel_added" if creating else "notification_channel_changed",
            outcome="success",
            actor=actor,
            request=request,
            target_reference=channel.name,
            parameters={**_channel_fields(channel), "url_changed": bool(url)},
            message=f"Notification channel {channel.name} {'added' if creating else 'changed'}",
        )
    return channel


def channel_delete(*, actor: Any, channel: NotificationChannel, request: HttpRequest | None = None) -> None:
    fields = _channel_fields(channel)
    with transaction.atomic():
        channel.delete()
        audit_record(
            action="notification_channel_removed",
            outcome="success",
            actor=actor,
            request=request,
            target_reference=fields["name"],
            parameters=fields,
            message=f"Notification channel {fields['name']} removed",
        )


def preferences_of(user: Any) -> dict[str, bool]:
    """Event -> whether it reaches this user by email (on unless they turned it off)."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("event", "email"))
    return {event: chosen.get(event, True) for event in Event.values}


def preferences_set(*, user: Any, email: dict[str, bool], request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        for event in Event.values:
            NotificationPreference.objects.update_or_create(
                user=user, event=event, defaults={"email": bool(email.get(event))}
            )
        audit_record(
            action="notification_preferences_changed",
            outcome="success",
            actor=user,
            request=request,
            parameters={"email": {event: bool(email.get(event)) for event in Event.values}},
        )
