from __future__ import annotations

from django.conf import settings
from django.db import models


class Registry(models.Model):
    """A registry the team pulls from. The secret is stored encrypted and never shown back."""

    name = models.SlugField(max_length=50, unique=True)
    url = models.CharField(max_length=300, help_text="e.g. https://registry.example.com or localhost:5000")
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
