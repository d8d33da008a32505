"""Environments (named Docker endpoints) as configured by BERTH_ENVIRONMENTS."""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import Http404

from images_app.models import Environment
from images_app.selectors.prepared import PreparedRows

RowT = TypeVar("RowT", bound=models.Model)


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


def environment_by_pk(pk: int) -> Environment | None:
    """The environment with this primary key, or None (a task's row may be gone by the time it runs)."""
    return Environment.objects.filter(pk=pk).first()


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


def environment_for_page(name: str) -> Environment:
    """environment_get, with the watcher's, the update check's and the inventory's rows of this moment.

    A page about an environment shows all three (selectors.usage.watch_info,
    selectors.updates.update_run_of, selectors.inventory.inventory_current read them from
    here when so loaded), so they come with it, in one statement prepared once per process
    (selectors.prepared: as an ORM query with three joins, compiling it cost 0.6-0.9 ms a
    page; as four prepared reads, 4% of a kept list page's CPU). For one request only: the rows
    are not refreshed. The inventory's lists are left out (only its version and freshness
    come): they are read when the version moves.
    """
    environment = _ENVIRONMENT_PAGE.first(name)
    return environment_get(name) if environment is None else environment


_ENVIRONMENT_PAGE = PreparedRows(
    Environment,
    "{name} = %s",
    params=("name",),
    with_related={"watch": (), "update_run": (), "inventory": ("images", "containers")},
)


def row_read_with(environment: Environment, relation: str, model: type[RowT]) -> tuple[bool, RowT | None]:
    """(True, its row or None) when environment_for_page read `relation`, else (False, None): query it."""
    if not getattr(Environment, relation).is_cached(environment):
        return False, None
    row = getattr(environment, relation, None)  # no row: Django raises an AttributeError subclass
    assert row is None or isinstance(row, model)
    return True, row


def default_environment_name() -> str:
    return settings.BERTH_DEFAULT_ENVIRONMENT


def environments_all() -> list[Environment]:
    configured = dict(configured_environments())
    environments = list(Environment.objects.filter(name__in=configured))
    if len(environments) != len(configured):
        sync_environments()
        environments = list(Environment.objects.filter(name__in=configured))
    return environments
