"""API tokens: create (shown once), authenticate, revoke. Each change is one audit event."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from images_app.models import ApiToken
from images_app.models.tokens import MANAGE_TOKENS
from images_app.services.audit import audit_record, client_address

TOKEN_START = "berth_"
PREFIX_LENGTH = 8
# last_used_at is written at most this often per token (plus whenever the address changes):
# a script polling a pull would otherwise turn every read into a database write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_create(
    *, user: Any, name: str, expires_at: datetime | None = None, request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token text, which is never stored nor shown again."""
    name = name.strip()
    if not name:
        raise ValueError("Give the token a name (what uses it).")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry must be in the future.")
    secret = secrets.token_urlsafe(32)  # 256 bits
    raw = f"{TOKEN_START}{secret}"
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=secret[:PREFIX_LENGTH],
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    audit_record(
        action="api_token_created",
        outcome="success",
        actor=user,
        request=request,
        target_reference=f"token {token.name}",
        parameters=_describe(token),
    )
    return token, raw


def _describe(token: ApiToken) -> dict[str, Any]:
    return {
        "api_token_id": token.pk,
        "api_token_name": token.name,
        "api_token_prefix": token.prefix,
        "owner": token.user.get_username(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


def token_authenticate(*, raw: str, request: HttpRequest | None = None) -> ApiToken | None:
    """The active token `raw` names (its user active too), or None. Records use and new addresses."""
    if not raw.startswith(TOKEN_START) or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    if token is None or not token.active or not token.user.is_active:
        return None
    _note_use(token, request)
    return token


def _note_use(token: ApiToken, request: HttpRequest | None) -> None:
    address = client_address(request)
    now = timezone.now()
    previous = token.last_used_address
    if address and address != previous:
        # Conditional on the old address: of two simultaneous first requests from a new
        # address, one wins the UPDATE and only that one records the event.
        unchanged = Q(last_used_address=previous) if previous else Q(last_used_address__isnull=True)
        won = ApiToken.objects.filter(unchanged, pk=token.pk).update(last_used_at=now, last_used_address=address)
        token.last_used_at, token.last_used_address = now, address
        if won:
            audit_record(
                action="api_token_new_address",
                outcome="info",
                actor=token.user,
                request=request,
                target_reference=f"token {token.name}",
                parameters={**_describe(token), "address": address, "previous_address": previous},
                message=f"Token {token.name} used from {address}" + (f" (before: {previous})" if previous else ""),
            )
        return
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def may_manage(*, user: Any, token: ApiToken) -> bool:
    return bool(token.user_id == user.pk or user.has_perm(MANAGE_TOKENS))


def token_revoke(*, token: ApiToken, actor: Any, request: HttpRequest | None = None) -> bool:
    """Revoke a token (its owner or an admin); False when it was already revoked."""
    if not may_manage(user=actor, token=token):
        audit_record(
            action="api_token_revoked",
            outcome="denied",
            actor=actor,
            request=request,
            target_reference=f"token {token.name}",
            parameters=_describe(token),
            message="Only the token's owner or an admin may revoke it.",
        )
        raise PermissionDenied("Only the token's owner or an admin may revoke it.")
    now = timezone.now()
    won = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
    token.refresh_from_db()
    if not won:
        return False
    audit_record(
        action="api_token_revoked",
        outcome="success",
        actor=actor,
        request=request,
        target_reference=f"token {token.name}",
        parameters=_describe(token),
    )
    return True
