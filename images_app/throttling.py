"""Which address a login attempt comes from, for django-axes' lockouts."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def login_client_ip(request: HttpRequest) -> str:
    """The peer address; behind a trusted proxy (BERTH_BEHIND_PROXY) the hop that proxy appended.

    The last X-Forwarded-For entry is the one our proxy wrote; earlier entries are whatever the
    client sent, so trusting the first would let an attacker pick a new address per attempt and
    never be locked out.
    """
    if settings.SECURE_PROXY_SSL_HEADER:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            try:
                return str(ipaddress.ip_address(hops[-1]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104  (a key for lockouts, never bound)
