from __future__ import annotations

from django.db import models


class Inventory(models.Model):
    """An environment's images and containers as its watcher last read them, for pages to serve.

    Pages use it only while its keeper heartbeats and has applied every event it saw
    (see selectors.inventory); removals and pulls never trust it and read the engine.
    The lists are stored whole, zlib-compressed JSON (codec in images_app.inventory_codec):
    a page needs all rows to sort and count them, and one row read beats 10,000.
    """

    environment = models.OneToOneField("images_app.Environment", on_delete=models.CASCADE, related_name="inventory")
    # Bumped on every write: a web process keeps its parsed copy until the version moves.
    version = models.PositiveBigIntegerField(default=0)
    images = models.BinaryField(default=b"")
    containers = models.BinaryField(default=b"")
    image_count = models.PositiveIntegerField(default=0)
    container_count = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True, help_text="Last full read of both lists")
    applied_at = models.DateTimeField(null=True, blank=True, help_text="When it last matched every event seen")
    pending_since = models.DateTimeField(null=True, blank=True, help_text="An event seen, not yet applied")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Its keeper was alive and connected")
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="Engine time of the last event applied")
    keeper = models.CharField(max_length=200, blank=True, help_text="host:pid of the process keeping it")

    def __str__(self) -> str:
        return f"inventory of {self.environment_id} v{self.version}"
