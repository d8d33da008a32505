"""Registries the team pulls from: adding, changing, removing them (audited), and their credentials.

Passwords and tokens are encrypted before they reach the database (images_app.crypto)
and leave this module only toward a registry or the engine, for one request or one pull.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from images_app.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from images_app.errors import RegistryError
from images_app.models import Registry
from images_app.references import BadReference, ImageReference, parse_reference
from images_app.registry_client import RegistryTarget, parse_registry_url, registry_host_of
from images_app.services.audit import audit_record

DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
# The engine keys Docker Hub credentials by this address (as `docker login` stores them).
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"


def _reference_hosts(reference: ImageReference) -> frozenset[str]:
    """The Registry.host values that serve `reference`: its host by the one rule, or every Docker Hub alias."""
    wanted = (reference.registry or "docker.io").lower()
    if wanted in DOCKER_HUB_HOSTS:
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
    server = DOCKER_HUB_SERVER if target.host in DOCKER_HUB_HOSTS else target.host
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


def _public_fields(registry: Registry) -> dict[str, Any]:
    # What the audit trail may keep: never the secret, only whether one is set.
    return {"name": registry.name, "url": registry.url, "username": registry.username}


def registry_create(
    *, actor: Any, name: str, url: str, username: str = "", password: str = "", request: HttpRequest | None = None
) -> Registry:
    """Register a registry; the password or token is stored encrypted."""
    with transaction.atomic():
        registry = Registry.objects.create(
            name=name,
            url=url.strip(),
            username=username.strip(),
            secret_encrypted=encrypt_secret(password),
            created_by=actor,
        )
        audit_record(
            action="registry_added",
            outcome="success",
            actor=actor,
            request=request,
            target_reference=registry_host(registry),
            parameters={**_public_fields(registry), "has_password": bool(password)},
            message=f"Registry {registry.name} added",
        )
    return registry


def registry_update(
    *,
    registry: Registry,
    actor: Any,
    name: str,
    url: str,
    username: str = "",
    password: str = "",
    clear_password: bool = False,
    request: HttpRequest | None = None,
) -> Registry:
    """Change a registry. An empty password keeps the stored one unless clear_password says otherwise."""
    # From the database: a bound ModelForm has already written the new values onto `registry`.
    before = _public_fields(Registry.objects.get(pk=registry.pk))
    registry.name = name
    registry.url = url.strip()
    registry.username = username.strip()
    password_changed = False
    if password:
        registry.secret_encrypted = encrypt_secret(password)
        password_changed = True
    elif clear_password and registry.secret_encrypted:
        registry.secret_encrypted = ""
        password_changed = True
    after = _public_fields(registry)
    changed = sorted(key for key in after if after[key] != before[key])
    if password_changed:
        changed.append("password")
    with transaction.atomic():
        registry.save()
        audit_record(
            action="registry_changed",
            outcome="success",
            actor=actor,
            request=request,
            target_reference=registry_host(registry),
            # Names of changed fields only: "password" as a value here says it changed, never what to.
            parameters={**after, "changed_fields": changed},
            message=f"Registry {registry.name} changed ({', '.join(changed) or 'nothing'})",
        )
    return registry


def registry_delete(*, registry: Registry, actor: Any, request: HttpRequest | None = None) -> None:
    """Forget a registry and its credentials; past pulls keep their history (their link becomes empty)."""
    fields = _public_fields(registry)
    host = registry.host or ""
    with transaction.atomic():
        registry.delete()
        audit_record(
            action="registry_removed",
            outcome="success",
            actor=actor,
            request=request,
            target_reference=host,
            parameters=fields,
            message=f"Registry {fields['name']} removed",
        )


def registry_denied(*, action: str, actor: Any, request: HttpRequest | None = None, name: str = "") -> None:
    """Record that someone without the permission tried to change registries."""
    audit_record(
        action=action,
        outcome="denied",
        actor=actor,
        request=request,
        parameters={"name": name} if name else {},
        message="Not allowed to manage registries",
    )
