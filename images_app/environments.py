"""Environments (named Docker endpoints) as configured by BERTH_ENVIRONMENTS."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404

from images_app.models import Environment


def configured_environments() -> list[tuple[str, str]]:
    """(name, docker_host) pairs from BERTH_ENVIRONMENTS, e.g. "local=unix:///var/run/docker.sock"."""
    pairs = []
    for entry in settings.BERTH_ENVIRONMENTS.split(","):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, host = entry.partition("=")
        if not sep or not name.strip() or not host.strip():
            raise ImproperlyConfigured(f"BERTH_ENVIRONMENTS entry {entry!r} is not name=endpoint")
        pairs.append((name.strip(), host.strip()))
    return pairs


def sync_environments() -> None:
    """Make the Environment rows match the configuration (rows are kept for history)."""
    for name, host in configured_environments():
        Environment.objects.update_or_create(
            name=name, defaults={"docker_host": host, "is_sandbox": settings.BERTH_SANDBOX}
        )


def environment_get(name: str) -> Environment:
    """The environment by name, or 404. Configured but missing rows are created on the fly."""
    environment = Environment.objects.filter(name=name).first()
    if environment is None:
        if name in dict(configured_environments()):
            sync_environments()
            environment = Environment.objects.filter(name=name).first()
        if environment is None:
            raise Http404(f"No environment named {name!r}")
    return environment


def default_environment_name() -> str:
    return settings.BERTH_DEFAULT_ENVIRONMENT
