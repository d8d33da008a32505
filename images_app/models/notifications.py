from __future__ import annotations

from django.conf import settings
from django.db import models


class NotificationEvent(models.TextChoices):
    UPDATES_AVAILABLE = "updates_available", "Updates became available (one digest per check)"
    REQUEST_PENDING = "request_pending", "A removal request awaits approval (to admins)"
    REQUEST_DECIDED = "request_decided", "Your removal request was decided"
    PULL_FAILED = "pull_failed", "Your pull failed"
    POLICY_RUN = "policy_run", "A retention policy removed or asked to remove images (to admins)"


class NotificationChannel(models.Model):
    """Where team-wide notifications go: a mailing address, a generic JSON webhook or a Slack/Mattermost one.

    A webhook URL carries its own credential (the token in the path), so it is stored encrypted
    (images_app.crypto) and shown back only as `url_hint`.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook (generic JSON)"
        SLACK = "slack", "Slack / Mattermost incoming webhook"

    name = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    email_to = models.CharField(max_length=500, blank=True, help_text="Comma-separated addresses (email channels)")
    url_encrypted = models.TextField(blank=True)
    url_hint = models.CharField(max_length=120, blank=True)
    events = models.JSONField(default=list)  # NotificationEvent values this channel receives
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_notifications", "Can configure notification channels")]

    def __str__(self) -> str:
        return self.name


class NotificationPreference(models.Model):
    """A person's choice: whether this kind of event reaches them by email (default: yes)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=32, choices=NotificationEvent.choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="one_preference_per_event")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.event}: {'email' if self.email else 'nothing'}"


class Notification(models.Model):
    """One event worth telling, as it will read; each destination gets a Delivery."""

    event = models.CharField(max_length=32, choices=NotificationEvent.choices)
    title = models.CharField(max_length=300)
    message = models.JSONField(default=dict)  # notification_payloads.Message.to_json()
    environment = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Delivery(models.Model):
    """One notification to one destination: pending -> sending -> sent, or back to pending to retry, or failed."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    TRANSITIONS = {
        Status.PENDING: {Status.SENDING},
        Status.SENDING: {Status.SENT, Status.PENDING, Status.FAILED},
    }

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(
        NotificationChannel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    destination = models.CharField(max_length=300)  # what the pages show: "channel ops", "email ada@example.com"
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.notification_id} to {self.destination} ({self.status})"
