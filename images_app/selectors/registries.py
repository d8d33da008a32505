"""What the registry pages show: the registered registries, a catalog page, a repository's tags."""

from __future__ import annotations

from dataclasses import dataclass

from images_app import registry_client
from images_app.models import Registry
from images_app.references import BadReference, parse_reference
from images_app.services.registries import registry_target

CATALOG_PAGE_SIZE = 100


@dataclass(frozen=True)
class RegistryRow:
    registry: Registry
    host: str  # "" when the stored address no longer parses
    has_password: bool


@dataclass(frozen=True)
class CatalogView:
    repositories: list[str]
    next_last: str | None
    last: str | None


@dataclass(frozen=True)
class TagRow:
    tag: str
    reference: str | None  # "host/repo:tag"; None when the registry sent a tag no engine would accept


def registries_for_list() -> list[RegistryRow]:
    return [
        RegistryRow(registry=registry, host=registry.host or "", has_password=bool(registry.secret_encrypted))
        for registry in Registry.objects.all()
    ]


def registry_catalog(*, registry: Registry, last: str | None = None) -> CatalogView:
    """One page of the registry's repositories; RegistryError when the registry cannot say."""
    page = registry_client.list_repositories(registry_target(registry), page_size=CATALOG_PAGE_SIZE, last=last)
    return CatalogView(repositories=page.repositories, next_last=page.next_last, last=last)


def repository_checked(*, registry: Registry, repository: str) -> str:
    """The repository name if the reference grammar accepts it (it ends up in a URL path), else BadReference."""
    host = registry_target(registry).host
    reference = parse_reference(f"{host}/{repository}", default_tag=False)
    if reference.tag is not None or reference.digest is not None or reference.path != repository:
        raise BadReference(f"Not a repository name: {repository!r} (write it without tag or digest)")
    return repository


def registry_tag_rows(*, registry: Registry, repository: str) -> list[TagRow]:
    """The repository's tags with the reference that pulls each."""
    repository_checked(registry=registry, repository=repository)
    target = registry_target(registry)
    rows = []
    for tag in registry_client.list_tags(target, repository):
        try:
            reference: str | None = str(parse_reference(f"{target.host}/{repository}:{tag}"))
        except BadReference:
            reference = None
        rows.append(TagRow(tag=tag, reference=reference))
    return rows
