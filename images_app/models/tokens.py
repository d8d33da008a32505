"""Per-user API tokens: what a script presents instead of a password and a session."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

# Who may see and revoke everybody's tokens: the people who manage users (admins).
MANAGE_TOKENS = "auth.change_user"


class ApiToken(models.Model):
    """One named token of one user. Only its SHA-256 is stored; the token itself is shown once.

    A token carries its owner's role and nothing more: requests made with it are the owner's
    requests (their permissions, as the database says now). Revoked tokens are kept (revoked_at
    set) so the history can still name them.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The token's first characters after "berth_", shown in lists and in the history to tell tokens apart.
    prefix = models.CharField(max_length=12, db_index=True)
    # SHA-256 (hex) of the whole token. The token has 256 bits of randomness, so an unsalted fast
    # hash is enough (nobody brute-forces 2^256), and it allows a direct indexed lookup.
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"API token {self.name} ({self.prefix}…) of {self.user_id}"

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired else "active"
