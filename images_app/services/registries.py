"""Registries the team pulls from: adding, changing, removing them (audited).

Passwords and tokens are encrypted before they reach the database (images_app.crypto); reading
them back (for one registry request or one pull) is selectors.registries' job.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest

from images_app.crypto import encrypt_secret
from images_app.models import Registry
from images_app.selectors.registries import registry_host
from images_app.services.audit import audit_record


def _public_fields(registry: Registry) -> dict[str, Any]:
    # What the audit trail may keep: never the secret, only whether one is set.
    return {"name": registry.name, "url": registry.url, "username": registry.username}


def registry_create(
    *, actor: User, name: str, url: str, username: str = "", password: str = "", request: HttpRequest | None = None
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
    actor: User,
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


def registry_delete(*, registry: Registry, actor: User, request: HttpRequest | None = None) -> None:
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


def registry_denied(*, action: str, actor: User, request: HttpRequest | None = None, name: str = "") -> None:
    """Record that someone without the permission tried to change registries."""
    audit_record(
        action=action,
        outcome="denied",
        actor=actor,
        request=request,
        parameters={"name": name} if name else {},
        message="Not allowed to manage registries",
    )
