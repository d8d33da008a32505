"""Authentication events go to the audit history."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from images_app.services.audit import audit_record


@receiver(user_logged_in)
def _logged_in(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    audit_record(action="login", outcome="success", actor=user, request=request)


@receiver(user_logged_out)
def _logged_out(sender: object, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action="logout", outcome="success", actor=user, request=request)


@receiver(user_login_failed)
def _login_failed(
    sender: object, credentials: dict[str, Any] | None, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str((credentials or {}).get("username", ""))[:150]
    audit_record(
        action="login",
        outcome="failure",
        request=request,
        actor_name="anonymous",
        parameters={"username": username},
        message="Wrong username or password",
    )


@receiver(user_locked_out)
def _locked_out(
    sender: object, request: HttpRequest | None, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    # Sent by django-axes when a failure reaches the limit and again for each attempt refused while locked.
    audit_record(
        action="login_locked_out",
        outcome="denied",
        request=request,
        actor_name="anonymous",
        parameters={"username": str(username or "")[:150]},
        message="Login locked after repeated failures",
    )
