from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class RemovalKind(models.TextChoices):
    REMOVE = "remove", "Remove selected images or tags"
    PRUNE_DANGLING = "prune_dangling", "Remove dangling images"
    REMOVE_UNUSED = "remove_unused", "Remove all unused images"
    REMOVE_ALL = "remove_all", "Remove every image"


class CleanupRequest(models.Model):
    """An operator's removal, frozen as confirmed, waiting for an admin's approval.

    `items` is the confirmation data: [{"image_id", "reference", "tags", "force",
    "unique_size"}]; approval executes exactly these, re-checked against the engine.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        EXECUTED = "executed"

    TRANSITIONS = {
        Status.PENDING: {Status.APPROVED, Status.REJECTED, Status.EXPIRED},
        Status.APPROVED: {Status.EXECUTED},
    }

    environment = models.ForeignKey("images_app.Environment", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=RemovalKind.choices, default=RemovalKind.REMOVE)
    items = models.JSONField(default=list)
    reason = models.CharField(max_length=500)
    bytes_preview = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cleanup_requests"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("request_cleanup", "Can request removals and cleanups"),
            ("approve_cleanup", "Can approve or reject cleanup requests"),
            ("remove_image", "Can remove images directly"),
            ("remove_all_images", "Can remove every image of an environment"),
        ]

    def __str__(self) -> str:
        return f"cleanup request #{self.pk} ({self.status})"

    @classmethod
    def awaiting_decision(cls) -> Q:
        """Pending and not yet past expiry: overdue ones wait for the scheduled expiry, not for an admin."""
        return Q(status=cls.Status.PENDING, expires_at__gt=timezone.now())

    @property
    def is_awaiting_decision(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()

    @property
    def shown_status(self) -> str:
        """The status as pages say it: an overdue request is expired, recorded or not yet."""
        return self.Status.EXPIRED if self.is_overdue else self.status

    @property
    def is_overdue(self) -> bool:
        """Pending past its expiry: expired, though the scheduled task has not recorded it yet."""
        return self.status == self.Status.PENDING and self.expires_at <= timezone.now()


class RemovalJob(models.Model):
    """A removal of one or many items, run by a worker when long, with per-item results."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial"
        FAILED = "failed"

    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.SUCCEEDED, Status.PARTIAL, Status.FAILED},
    }

    environment = models.ForeignKey("images_app.Environment", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=RemovalKind.choices, default=RemovalKind.REMOVE)
    items = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cleanup_request = models.OneToOneField(
        CleanupRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="removal_job"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    done_count = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"removal job #{self.pk} ({self.status})"
