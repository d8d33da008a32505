"""Authentication events go to the audit history."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from images_app.services.audit import audit_record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:  # noqa: ANN001
    audit_record(action="login", outcome="success", actor=user, request=request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:  # noqa: ANN001
    if user is not None:
        audit_record(action="logout", outcome="success", actor=user, request=request)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:  # noqa: ANN001
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
def _locked_out(sender, request, username, ip_address, **kwargs) -> None:  # noqa: ANN001
    # Sent by django-axes when a failure reaches the limit and again for each attempt refused while locked.
    audit_record(
        action="login_locked_out",
        outcome="denied",
        request=request,
        actor_name="anonymous",
        parameters={"username": str(username or "")[:150]},
        message="Login locked after repeated failures",
    )
