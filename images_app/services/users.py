"""People and roles: create, change role, deactivate and reactivate users. Never delete: the audit names them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from images_app.errors import BerthError
from images_app.roles import ADMIN, ROLES, assign_role, role_of
from images_app.services.audit import audit_record


class UserChangeRefused(BerthError):
    """The change would leave Berth without an active admin (or is otherwise not allowed)."""

    http_status = 409
    title = "That change is not allowed"


def _active_admins_locked() -> list[Any]:
    # Locking the active admins' rows serialises concurrent demotions on Postgres;
    # SQLite's IMMEDIATE transaction already holds the write lock.
    user_model = get_user_model()
    admins = user_model.objects.filter(Q(groups__name=ADMIN) | Q(is_superuser=True), is_active=True).distinct()
    return list(user_model.objects.select_for_update().filter(pk__in=admins.values("pk")).order_by("pk"))


def _last_admin_problem(user: User) -> str:
    """Why the change would remove the last active admin, or "" when others remain."""
    admins = _active_admins_locked()
    if [admin.pk for admin in admins] == [user.pk]:
        return f"{user.get_username()} is the last active admin: make someone else admin first."
    return ""


def _refuse(
    *, actor: User | None, request: HttpRequest | None, action: str, user: User, message: str, **parameters: Any
) -> None:
    # Recorded outside the refused transaction, so the denial itself is kept.
    audit_record(
        action=action,
        outcome="denied",
        actor=actor,
        request=request,
        target_reference=user.get_username(),
        parameters=parameters,
        message=message,
    )
    raise UserChangeRefused(message)


def user_create(
    *,
    actor: User | None,
    request: HttpRequest | None = None,
    username: str,
    email: str,
    role: str,
    password: str,
    via: str = "users page",
) -> User:
    """Create an active user with a role (the password is already validated by the form)."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=username, email=email, password=password, is_staff=role == ADMIN
        )
        assign_role(user, role)
        audit_record(
            action="user_created",
            outcome="success",
            actor=actor,
            request=request,
            target_reference=username,
            parameters={"role": role, "email": email, "via": via},
        )
    return user


def user_role_change(*, actor: User | None, request: HttpRequest | None = None, user: User, role: str) -> User:
    """Give `user` exactly one role; refuses to demote the last active admin."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")
    previous = role_of(user)
    with transaction.atomic():
        if previous == role:
            return user
        problem = _last_admin_problem(user) if previous == ADMIN and user.is_active else ""
        if not problem:
            assign_role(user, role)
            # A superuser keeps every permission whatever its groups: demoting one means dropping that too.
            user.is_superuser = user.is_superuser and role == ADMIN
            user.is_staff = role == ADMIN
            user.save(update_fields=["is_superuser", "is_staff"])
            audit_record(
                action="user_role_changed",
                outcome="success",
                actor=actor,
                request=request,
                target_reference=user.get_username(),
                parameters={"role": role, "previous_role": previous},
            )
    if problem:
        _refuse(
            actor=actor,
            request=request,
            action="user_role_changed",
            user=user,
            message=problem,
            role=role,
            previous_role=previous,
        )
    return user


def user_deactivate(*, actor: User | None, request: HttpRequest | None = None, user: User) -> User:
    """Stop `user` from logging in (sessions end at their next request); the row stays for the history."""
    role = role_of(user)
    with transaction.atomic():
        if not user.is_active:
            return user
        problem = _last_admin_problem(user) if role == ADMIN else ""
        if not problem:
            user.is_active = False
            user.save(update_fields=["is_active"])
            audit_record(
                action="user_deactivated",
                outcome="success",
                actor=actor,
                request=request,
                target_reference=user.get_username(),
                parameters={"role": role},
            )
    if problem:
        _refuse(actor=actor, request=request, action="user_deactivated", user=user, message=problem, role=role)
    return user


def user_reactivate(*, actor: User | None, request: HttpRequest | None = None, user: User) -> User:
    """Let a deactivated user log in again, with the role they had."""
    with transaction.atomic():
        if user.is_active:
            return user
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(
            action="user_reactivated",
            outcome="success",
            actor=actor,
            request=request,
            target_reference=user.get_username(),
            parameters={"role": role_of(user)},
        )
    return user


class AlreadySetUp(Exception):
    """A user exists: the first-run setup is over."""


def user_first_admin_create(*, request: HttpRequest | None, username: str, email: str, password: str) -> User:
    """The first admin (a superuser), only while Berth has no user at all; AlreadySetUp otherwise."""
    user_model = get_user_model()
    with transaction.atomic():
        # Locks the (empty) table's rows on Postgres; SQLite's IMMEDIATE transaction holds the write lock.
        if user_model.objects.select_for_update().exists():
            raise AlreadySetUp()
        user = user_model.objects.create_user(
            username=username, email=email, password=password, is_staff=True, is_superuser=True
        )
        assign_role(user, ADMIN)
        audit_record(
            action="user_created",
            outcome="success",
            actor=user,
            request=request,
            target_reference=user.get_username(),
            parameters={"role": ADMIN, "via": "first-run setup"},
        )
    return user


def user_password_set(
    *, actor: User | None, user: User, password: str, via: str, request: HttpRequest | None = None
) -> User:
    """Give `user` a new password (already validated by the caller)."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(
            action="user_password_set",
            outcome="success",
            actor=actor,
            request=request,
            target_reference=user.get_username(),
            parameters={"via": via},
        )
    return user
