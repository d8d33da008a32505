"""What the watcher knows: per environment its lease and progress; per image its last use and history."""

from __future__ import annotations

from django.db import models


class WatchState(models.Model):
    """One row per environment: who watches it (the lease), since when, and how far it got.

    The lease is claimed by a conditional UPDATE (`holder` empty or `lease_expires_at` past),
    like the job claims in services.pulls: a second watcher waits, and takes over when the
    holder stops renewing (killed, host gone).
    """

    class EngineStatus(models.TextChoices):
        UNKNOWN = "unknown"
        CONNECTED = "connected"
        DOWN = "down"

    environment = models.OneToOneField("images_app.Environment", on_delete=models.CASCADE, related_name="watch")
    holder = models.CharField(max_length=200, blank=True, help_text="host:pid:token of the watcher holding the lease")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    watched_since = models.DateTimeField(
        null=True, blank=True, help_text="The horizon: before this, use is unknown"
    )
    last_event_nano = models.BigIntegerField(default=0, help_text="Engine time of the last event applied")
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_reconciled_at = models.DateTimeField(null=True, blank=True)
    engine_status = models.CharField(max_length=16, choices=EngineStatus.choices, default=EngineStatus.UNKNOWN)
    engine_down_since = models.DateTimeField(null=True, blank=True)
    engine_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"watch of {self.environment_id} ({self.engine_status})"


class ImageUsage(models.Model):
    """Per environment and image ID (never by tag: a tag moved is another image): the last use."""

    environment = models.ForeignKey("images_app.Environment", on_delete=models.CASCADE, related_name="+")
    image_id = models.CharField(max_length=80)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_container_id = models.CharField(max_length=80, blank=True)
    last_container_name = models.CharField(max_length=300, blank=True)
    running_containers = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["environment", "image_id"], name="one_usage_per_image")]

    def __str__(self) -> str:
        return f"usage of {self.image_id[:19]}"


class ImageUse(models.Model):
    """One recorded use (bounded per image: the newest BERTH_WATCHER_HISTORY are kept)."""

    environment = models.ForeignKey("images_app.Environment", on_delete=models.CASCADE, related_name="+")
    image_id = models.CharField(max_length=80)
    container_id = models.CharField(max_length=80)
    container_name = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=16)
    time_nano = models.BigIntegerField()
    used_at = models.DateTimeField()

    class Meta:
        ordering = ["-time_nano"]
        constraints = [
            # The same event seen twice (a replay, two watchers during a takeover) is stored once.
            models.UniqueConstraint(
                fields=["environment", "container_id", "action", "time_nano"], name="one_use_per_event"
            )
        ]
        indexes = [models.Index(fields=["environment", "image_id", "-time_nano"], name="use_image_time")]

    def __str__(self) -> str:
        return f"{self.action} of {self.image_id[:19]} by {self.container_name}"
