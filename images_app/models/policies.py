"""Retention policies: rules that pick images to remove, exclusions that always win, an action, a schedule."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RetentionPolicy(models.Model):
    """One policy, for one environment or (environment empty) for every environment.

    Rules combine (an image qualifies if any rule picks it); exclusions always win. `ask` creates a
    removal request an admin approves (four-eyes as for any request); `apply` removes at once.
    """

    class Action(models.TextChoices):
        ASK = "ask", "Ask: create a removal request for an admin to approve"
        APPLY = "apply", "Apply: remove at once"

    name = models.SlugField(max_length=50, unique=True)
    environment = models.ForeignKey(
        "images_app.Environment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    enabled = models.BooleanField(default=True)
    # Rules (empty: not used).
    unused_days = models.PositiveIntegerField(null=True, blank=True)
    keep_newest = models.PositiveIntegerField(null=True, blank=True)
    dangling_hours = models.PositiveIntegerField(null=True, blank=True)
    disk_budget_bytes = models.BigIntegerField(null=True, blank=True)
    unknown_as_unused = models.BooleanField(
        default=False, help_text="Treat use before the watch horizon as: unused since the image was created"
    )
    # Exclusions, one per line.
    exclude_references = models.TextField(blank=True)
    exclude_labels = models.TextField(blank=True)
    allow_force = models.BooleanField(default=False, help_text="Images of stopped containers may go (forced)")
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.ASK)
    interval_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: run by hand only")
    cron = models.CharField(max_length=100, blank=True, help_text="Or cron-like: minute hour day month weekday")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_summary = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_retention", "Can define, preview and run retention policies")]

    def __str__(self) -> str:
        return self.name
