"""Recording audit events: one call, a hash chain, safe under concurrent writers."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from images_app.models import AuditEvent

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"
# Values of these parameter keys never reach the audit table.
_SECRET_KEYS = {"password", "secret", "token", "auth", "auth_config", "credentials"}

# pg_advisory_xact_lock key: serialises chain appends across processes.
_CHAIN_LOCK_KEY = 0x6265727468  # "berth"


# Actions other areas record; the history page offers them in its action filter.
KNOWN_ACTIONS = (
    "login",
    "logout",
    "pull_requested",
    "pull_started",
    "pull_succeeded",
    "pull_failed",
    "pull_cancelled",
    "image_removed",
    "image_untagged",
    "images_pruned",
    "removal_bulk",
    "cleanup_requested",
    "cleanup_approved",
    "cleanup_rejected",
    "cleanup_executed",
    "cleanup_expired",
    "registry_added",
    "registry_changed",
    "registry_removed",
    "user_created",
    "user_role_changed",
    "user_deactivated",
    "user_reactivated",
    "user_password_set",
    "audit_exported",
    "audit_pruned",
    "api_token_created",
    "api_token_new_address",
    "api_token_revoked",
)

# Set by the API layer on a request that came through /api/ (images_app/api/auth.py): the
# marks every event of that request carries, so the history tells a script from a person.
API_MARK_ATTRIBUTE = "berth_api_mark"


def _normal_address(value: str) -> str | None:
    # Stored exactly as hashed: a forwarded header can hold anything, and a
    # non-address would break Postgres' inet column or be rewritten by it.
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # Dual-stack servers report IPv4 clients as ::ffff:a.b.c.d: keep the IPv4 form.
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    if settings.SECURE_PROXY_SSL_HEADER:
        # Behind a trusted proxy the peer is the proxy; the first forwarded hop is the client.
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return _normal_address(forwarded.split(",")[0])
    return _normal_address(request.META.get("REMOTE_ADDR") or "")


def scrub(parameters: dict[str, Any] | None) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in (parameters or {}).items():
        if key.lower() in _SECRET_KEYS:
            continue
        if isinstance(value, dict):
            value = scrub(value)
        elif isinstance(value, list):
            value = [scrub(item) if isinstance(item, dict) else item for item in value]
        clean[key] = value
    return clean


# The columns the hash covers, in the order `values_list` reads them for verification.
DIGEST_FIELDS = (
    "created_at",
    "actor_id",
    "actor_name",
    "client_address",
    "environment",
    "action",
    "target_reference",
    "target_image_id",
    "parameters",
    "outcome",
    "message",
    "pull_job_id",
    "cleanup_request_id",
    "removal_job_id",
    "prev_hash",
)


def digest_of(content: dict[str, Any]) -> str:
    """SHA-256 over an event's DIGEST_FIELDS (a dict read from a row or built in memory)."""
    content = dict(content)
    content["created_at"] = content["created_at"].isoformat()
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def event_digest(event: AuditEvent) -> str:
    """SHA-256 over the event's content and the previous event's hash."""
    return digest_of({name: getattr(event, name) for name in DIGEST_FIELDS})


def json_safe(parameters: dict[str, Any]) -> dict[str, Any]:
    # What is hashed must be what the JSON column gives back (tuples, dates...).
    return json.loads(json.dumps(parameters, default=str))


def audit_record(
    *,
    action: str,
    outcome: str,
    actor: Any = None,
    request: HttpRequest | None = None,
    environment: Any = None,
    target_reference: str = "",
    target_image_id: str = "",
    parameters: dict[str, Any] | None = None,
    message: str = "",
    pull_job: Any = None,
    cleanup_request: Any = None,
    removal_job: Any = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Append one audit event. `actor` None means the system (scheduled work)."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    name = actor_name or (actor.get_username() if actor is not None else SYSTEM_ACTOR)
    mark = getattr(request, API_MARK_ATTRIBUTE, None) if request is not None else None
    if mark:
        parameters = {**(parameters or {}), **mark}
    env_name = getattr(environment, "name", environment) or ""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        # On SQLite the IMMEDIATE transaction already holds the write lock here.
        last_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
        event = AuditEvent(
            created_at=timezone.now(),
            actor=actor,
            actor_name=name[:150],
            client_address=client_address(request),
            environment=str(env_name)[:50],
            action=action,
            target_reference=(target_reference or "")[:512],
            target_image_id=(target_image_id or "")[:80],
            parameters=json_safe(scrub(parameters)),
            outcome=outcome,
            message=message or "",
            pull_job=pull_job,
            cleanup_request=cleanup_request,
            removal_job=removal_job,
            prev_hash=last_hash,
        )
        event.hash = event_digest(event)
        event.save()
    return event
