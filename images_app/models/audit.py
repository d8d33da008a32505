from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    """Every action Berth records; audit_record refuses any other, and the history's filter offers these.

    A new kind of event is one line here. Not `choices` on the column: old events keep whatever
    action they were recorded with, and a new action needs no migration.
    """

    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_LOCKED_OUT = "login_locked_out"
    PULL_REQUESTED = "pull_requested"
    PULL_SUCCEEDED = "pull_succeeded"
    PULL_FAILED = "pull_failed"
    PULL_CANCELLED = "pull_cancelled"
    PULL_CANCEL = "pull_cancel"  # a refused cancel (denied)
    PULL_CANCEL_REQUESTED = "pull_cancel_requested"  # a running pull flagged; the worker stops it
    IMAGE_REMOVED = "image_removed"
    IMAGE_UNTAGGED = "image_untagged"
    IMAGE_REMOVE_SKIPPED = "image_remove_skipped"
    IMAGE_REMOVE_FAILED = "image_remove_failed"
    REMOVAL_JOB_ABANDONED = "removal_job_abandoned"  # its worker stopped reporting (the scheduled sweep)
    CLEANUP_REQUESTED = "cleanup_requested"
    CLEANUP_APPROVED = "cleanup_approved"
    CLEANUP_REJECTED = "cleanup_rejected"
    CLEANUP_EXECUTED = "cleanup_executed"
    CLEANUP_EXPIRED = "cleanup_expired"
    REGISTRY_ADDED = "registry_added"
    REGISTRY_CHANGED = "registry_changed"
    REGISTRY_REMOVED = "registry_removed"
    USER_CREATED = "user_created"
    USER_ROLE_CHANGED = "user_role_changed"
    USER_DEACTIVATED = "user_deactivated"
    USER_REACTIVATED = "user_reactivated"
    USER_PASSWORD_SET = "user_password_set"
    AUDIT_EXPORTED = "audit_exported"
    AUDIT_PRUNED = "audit_pruned"
    RETENTION_POLICY_CREATED = "retention_policy_created"
    RETENTION_POLICY_CHANGED = "retention_policy_changed"
    RETENTION_POLICY_RUN = "retention_policy_run"
    UPDATES_CHECKED = "updates_checked"
    UPDATES_CHECK_REQUESTED = "updates_check_requested"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"
    NOTIFICATION_CHANNEL_ADDED = "notification_channel_added"
    NOTIFICATION_CHANNEL_CHANGED = "notification_channel_changed"
    NOTIFICATION_CHANNEL_REMOVED = "notification_channel_removed"
    NOTIFICATION_PREFERENCES_CHANGED = "notification_preferences_changed"
    API_TOKEN_CREATED = "api_token_created"
    API_TOKEN_NEW_ADDRESS = "api_token_new_address"
    API_TOKEN_REVOKED = "api_token_revoked"
    AUDIT_VERIFIED = "audit_verified"  # the scheduled check of the hash chain and archives


class AuditEventQuerySet(models.QuerySet[Any]):
    # Append-only: bulk changes through the ORM are refused. Retention goes
    # through services.audit, which is the one place allowed to drop old rows.
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only")

    def delete(self) -> NoReturn:
        raise PermissionError("Audit events are append-only")


class AuditEvent(models.Model):
    """One thing that happened: who, when, from where, to what, with what outcome.

    Shaped like django.contrib.admin's LogEntry, but the actor is PROTECTed (the
    history must keep naming people) and each row chains a hash over the previous.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"
        DENIED = "denied"
        INFO = "info"

    created_at = models.DateTimeField(editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="Snapshot; 'system' for scheduled work")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    # environment, action, outcome and actor_name are indexed by the (column, created_at)
    # indexes below, which serve both equality filters and the newest-first order.
    environment = models.CharField(max_length=50, blank=True)
    action = models.CharField(max_length=50)
    target_reference = models.CharField(max_length=512, blank=True, db_index=True)
    target_image_id = models.CharField(max_length=80, blank=True, db_index=True)
    parameters = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    message = models.TextField(blank=True)
    pull_job = models.ForeignKey(
        "images_app.PullJob", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    cleanup_request = models.ForeignKey(
        "images_app.CleanupRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    removal_job = models.ForeignKey(
        "images_app.RemovalJob", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["actor_name", "-created_at"], name="audit_actor_time"),
            models.Index(fields=["action", "-created_at"], name="audit_action_time"),
            models.Index(fields=["outcome", "-created_at"], name="audit_outcome_time"),
            models.Index(fields=["environment", "-created_at"], name="audit_env_time"),
        ]
        permissions = [("export_auditevent", "Can export the audit history")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only")


class AuditAnchor(models.Model):
    """Where the hash chain restarts after retention dropped its oldest events.

    `last_id`/`last_hash` are those of the last dropped event: the first kept event's
    prev_hash must equal `last_hash`. The archive's SHA-256 ties the dropped events
    to a file that can be verified on its own. Append-only, like the events.
    """

    created_at = models.DateTimeField(editable=False)
    last_id = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    dropped_count = models.BigIntegerField()
    cutoff = models.DateTimeField(help_text="Events created before this were dropped")
    archive_path = models.CharField(max_length=1000, blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-last_id"]

    def __str__(self) -> str:
        return f"anchor after event #{self.last_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit anchors are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit anchors are append-only")
