from __future__ import annotations

from django.conf import settings
from django.db import models

from images_app.update_state import UnknownReason


class UpdateCheck(models.Model):
    """The registry's last answer for one tag (registry, repository, tag), shared by every environment.

    Whether a local image is up to date is decided when a page reads this (update_state.decide),
    from the image's RepoDigests: a check never looks at, pulls or changes an image.
    """

    registry = models.CharField(max_length=255)
    repository = models.CharField(max_length=255)
    tag = models.CharField(max_length=128)
    remote_digest = models.CharField(max_length=100, blank=True)
    media_type = models.CharField(max_length=100, blank=True)
    # Blank when the registry answered; else why the state is unknown.
    reason = models.CharField(max_length=32, choices=UnknownReason.choices, blank=True)
    message = models.CharField(max_length=300, blank=True)
    remote_created = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField()
    digest_changed_at = models.DateTimeField(null=True, blank=True)
    # The remote digest an "updates available" notification already named: each new digest is told once.
    notified_digest = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registry", "repository", "tag"], name="one_update_check_per_tag")
        ]
        indexes = [models.Index(fields=["repository"], name="update_check_repository")]
        permissions = [("check_updates", "Can start update checks")]

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


class UpdateRun(models.Model):
    """The last update check of one environment: when it ran (for the schedule) and how it went."""

    environment = models.OneToOneField("images_app.Environment", on_delete=models.CASCADE, related_name="update_run")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags_checked = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"update run of {self.environment_id}"

    @property
    def running(self) -> bool:
        return self.started_at is not None and (self.finished_at is None or self.finished_at < self.started_at)
