from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from images_app.registry_client import registry_host_of


class Registry(models.Model):
    """A registry the team pulls from. The secret is stored encrypted and never shown back."""

    name = models.SlugField(max_length=50, unique=True)
    url = models.CharField(max_length=300, help_text="e.g. https://registry.example.com or localhost:5000")
    # "host[:port]" as image references name the registry, derived from `url` on every save by the one
    # rule (registry_client.registry_host_of): lookups by host are one indexed query, and two rows can
    # never claim the same host. NULL only for an address that no longer parses.
    host = models.CharField(max_length=300, unique=True, null=True, blank=True, editable=False)
    username = models.CharField(max_length=150, blank=True)
    secret_encrypted = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_registries", "Can add, change and remove registries")]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.host = registry_host_of(self.url)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "url" in update_fields:
            kwargs["update_fields"] = {*update_fields, "host"}
        super().save(*args, **kwargs)
