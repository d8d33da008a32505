"""Reading registries: which one serves a reference, its address and credentials, its catalog and tags.

The decrypted password leaves this module only toward a registry or the engine, for one request or one pull.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from images_app import registry_client
from images_app.crypto import SecretUnreadable, decrypt_secret
from images_app.errors import RegistryError
from images_app.models import Registry
from images_app.references import (
    DOCKER_HUB_HOSTS,
    BadReference,
    ImageReference,
    is_docker_hub,
    parse_reference,
    registry_of,
)
from images_app.registry_client import RegistryTarget, parse_registry_url, registry_host_of

CATALOG_PAGE_SIZE = 100

# The engine keys Docker Hub credentials by this address (as `docker login` stores them).
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"


def _reference_hosts(reference: ImageReference) -> frozenset[str]:
    """The Registry.host values that serve `reference`: its host by the one rule, or every Docker Hub alias."""
    wanted = registry_of(reference)
    if is_docker_hub(wanted):
        return DOCKER_HUB_HOSTS
    return frozenset({registry_host_of(wanted) or wanted})


def registry_serves(registry: Registry, reference: ImageReference) -> bool:
    """Whether `registry` is the one the engine pulls `reference` from (compared by the stored host)."""
    return registry.host is not None and registry.host in _reference_hosts(reference)


def registry_host(registry: Registry) -> str:
    """The registry's host[:port], as image references name it; ValueError when its address does not parse."""
    if registry.host is None:
        raise ValueError(f"The stored address of registry {registry.name} is not valid")
    return registry.host


def registry_target(registry: Registry) -> RegistryTarget:
    """Where and as whom to talk to the registry; raises RegistryError when the secret is unreadable."""
    try:
        base_url, host = parse_registry_url(registry.url)
    except ValueError as exc:
        raise RegistryError(
            f"The stored address of registry {registry.name} is not valid ({exc}): an admin must correct it.",
            kind=RegistryError.PROTOCOL,
        ) from None
    try:
        password = decrypt_secret(registry.secret_encrypted)
    except SecretUnreadable as exc:
        raise RegistryError(str(exc), kind=RegistryError.SECRET_UNREADABLE) from None
    return RegistryTarget(base_url=base_url, host=host, username=registry.username, password=password)


def registry_auth(registry: Registry | None) -> dict[str, str] | None:
    """The engine's auth config for one pull from this registry, or None when it has no credentials."""
    if registry is None or not registry.username:
        return None
    target = registry_target(registry)
    server = DOCKER_HUB_SERVER if is_docker_hub(target.host) else target.host
    return {"username": target.username, "password": target.password, "serveraddress": server}


def registry_auth_for_pull(reference: str | ImageReference, registry: Registry | None = None) -> dict[str, str] | None:
    """Credentials for pulling `reference`: from `registry` if given, else the one registered for its host.

    The engine sends X-Registry-Auth to whatever host the reference names, so a registry's
    credentials go only with references on that registry's host (RegistryError otherwise):
    `?reference=elsewhere.example/x&registry=<id>` must not hand the password to elsewhere.example.
    """
    if isinstance(reference, str):
        reference = parse_reference(reference)
    if registry is None:
        return registry_auth(registry_for_reference(reference))
    host = registry_target(registry).host
    if not registry_serves(registry, reference):
        raise RegistryError(
            f"{reference} is not on registry {registry.name} ({host}): its credentials are only sent to {host}.",
            kind=RegistryError.MISMATCH,
        )
    return registry_auth(registry)


def registry_for_reference(reference: str | ImageReference) -> Registry | None:
    """The registered registry an image reference pulls from (by host, Docker Hub included), or None."""
    if isinstance(reference, str):
        try:
            reference = parse_reference(reference)
        except BadReference:
            return None
    return Registry.objects.filter(host__in=_reference_hosts(reference)).order_by("pk").first()


def registry_for_host(host: str) -> Registry | None:
    """The registered registry at "host[:port]" (normalised by the one rule), or None."""
    normal = registry_host_of(host)
    if normal is None:
        return None
    return Registry.objects.filter(host=normal).first()


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


def registries_all() -> QuerySet[Registry]:
    """Every registered registry (by name: the model's ordering)."""
    return Registry.objects.all()


def registry_exists(pk: int) -> bool:
    return Registry.objects.filter(pk=pk).exists()


def registry_get(pk: int) -> Registry:
    """One registry; Http404 when there is none."""
    return get_object_or_404(Registry, pk=pk)


def registry_get_or_none(pk: str | int) -> Registry | None:
    return Registry.objects.filter(pk=pk).first()


def registries_for_list() -> list[RegistryRow]:
    rows = []
    for registry in Registry.objects.all():
        host = registry.host or ""
        rows.append(RegistryRow(registry=registry, host=host, has_password=bool(registry.secret_encrypted)))
    return rows


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
