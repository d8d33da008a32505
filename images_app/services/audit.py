"""Recording audit events: one call, a hash chain, safe under concurrent writers."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from images_app.models import AuditAction, AuditEvent, CleanupRequest, Environment, PullJob, RemovalJob
from images_app.roles import Actor

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"
# Values of these parameter keys never reach the audit table.
_SECRET_KEYS = {"password", "secret", "token", "auth", "auth_config", "credentials"}

# pg_advisory_xact_lock key: serialises chain appends across processes.
_CHAIN_LOCK_KEY = 0x6265727468  # "berth"


# The history page's action filter offers exactly the actions that can be recorded.
KNOWN_ACTIONS = tuple(AuditAction.values)

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


@dataclass(frozen=True)
class AuditContext:
    """Who acts and from where, as an audit event records it: all a service needs of a web request.

    Built once at the edge (`from_request` in a view or signal, by hand in a command or a task), so
    services and the audit do not depend on HttpRequest. `user` None is the system (scheduled work);
    `via` says how the action came in when it was not a page ("manage.py berth_user", "api"...).
    """

    user: Any = None
    client_address: str | None = None
    via: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest | None, *, via: str = "") -> AuditContext:
        """The request's logged-in user (if any) and its client address (proxy-aware, validated)."""
        if request is None:
            return cls(via=via)
        user = getattr(request, "user", None)
        return cls(
            user=user if getattr(user, "is_authenticated", False) else None,
            client_address=client_address(request),
            via=via,
        )


SYSTEM_CONTEXT = AuditContext()


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
    safe: dict[str, Any] = json.loads(json.dumps(parameters, default=str))
    return safe


def audit_record_for_request(
    cleanup_request: CleanupRequest, *, action: str, outcome: str, **fields: Any
) -> AuditEvent:
    """One audit event about a cleanup request: its environment, target and link filled in."""
    items = cleanup_request.items
    # One image: its ID too, so the image's page lists the request's events.
    target = items[0]["reference"] if len(items) == 1 else f"{len(items)} images"
    image_id = (items[0].get("image_id") or "") if len(items) == 1 else ""
    return audit_record(
        action=action,
        outcome=outcome,
        environment=cleanup_request.environment,
        target_reference=target,
        target_image_id=image_id,
        cleanup_request=cleanup_request,
        **fields,
    )


def audit_record(
    *,
    action: str,
    outcome: str,
    actor: Actor | None = None,
    request: HttpRequest | None = None,
    context: AuditContext | None = None,
    environment: Environment | str | None = None,
    target_reference: str = "",
    target_image_id: str = "",
    parameters: dict[str, Any] | None = None,
    message: str = "",
    pull_job: PullJob | None = None,
    cleanup_request: CleanupRequest | None = None,
    removal_job: RemovalJob | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Append one audit event. `actor` None (and no user in the context) means the system (scheduled work).

    Who and from where come from `context`; `request` is the older spelling of the same and is
    turned into one (callers move to `context` at their own pace). ValueError for an action outside
    AuditAction: a misspelt action would be recorded (hash-chained, forever) under a name no filter offers.
    """
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}: add it to AuditAction (images_app/models/audit.py)")
    if context is None:
        context = AuditContext.from_request(request)
    if actor is None:
        actor = context.user
    if context.via and "via" not in (parameters or {}):
        parameters = {**(parameters or {}), "via": context.via}
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    name = actor_name or (user.get_username() if user is not None else SYSTEM_ACTOR)
    env_name = environment.name if isinstance(environment, Environment) else (environment or "")
    # A request that came through the API carries its mark (via, token): the event says so.
    mark = getattr(request, API_MARK_ATTRIBUTE, None) if request is not None else None
    if mark:
        parameters = {**(parameters or {}), **mark}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        # On SQLite the IMMEDIATE transaction already holds the write lock here.
        last_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
        event = AuditEvent(
            created_at=timezone.now(),
            actor=user,
            actor_name=name[:150],
            client_address=context.client_address,
            environment=str(env_name)[:50],
            action=str(action),
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


def audit_export_start(*, request: HttpRequest | None, fmt: str, filters: dict[str, Any]) -> int:
    """Record an export of the history; the last event's id the export goes up to (its own event excluded)."""
    # The export shows the history as it was when asked for, without its own event.
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    audit_record(
        action="audit_exported",
        outcome="success",
        request=request,
        parameters={"format": fmt, "filters": filters, "up_to_event": last_id},
    )
    return last_id
