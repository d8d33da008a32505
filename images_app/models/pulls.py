from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PullJob(models.Model):
    """One `docker pull` asked for by a person, run by a Celery worker."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
    # The only moves a job may make; services.pulls enforces them with
    # conditional UPDATEs so a redelivered task or a double click changes nothing twice.
    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED, Status.CANCELLED},
        Status.RUNNING: {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED},
    }

    environment = models.ForeignKey("images_app.Environment", on_delete=models.PROTECT, related_name="pulls")
    reference = models.CharField(max_length=512, help_text="Canonical reference, tag applied")
    registry = models.ForeignKey(
        "images_app.Registry", null=True, blank=True, on_delete=models.SET_NULL, related_name="pulls"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pulls")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    image_id = models.CharField(max_length=80, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    status_line = models.CharField(max_length=300, blank=True)
    bytes_downloaded = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    error_message = models.TextField(blank=True)
    # Last known per-layer state, so a page opened after Redis lost it still shows something true.
    progress = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("pull_image", "Can pull images"),
            ("cancel_any_pull", "Can cancel anyone's pull"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "reference"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_pull_per_reference",
            )
        ]

    def __str__(self) -> str:
        return f"pull {self.reference} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
