from __future__ import annotations

from django.db import models


class Environment(models.Model):
    """A named Docker endpoint. URLs and jobs carry it so several hosts need no rewrite."""

    name = models.SlugField(max_length=50, unique=True)
    docker_host = models.CharField(max_length=500)
    is_sandbox = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
