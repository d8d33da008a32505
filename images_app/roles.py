"""Roles are Django groups carrying model permissions; the server checks permissions, never role names."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group, Permission

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)

ROLE_DESCRIPTIONS = {
    VIEWER: "Sees everything, changes nothing.",
    OPERATOR: "Pulls images and requests removals and cleanups.",
    ADMIN: "Everything: removes directly, approves requests, manages users and registries.",
}

_OPERATOR_PERMISSIONS = ["images_app.pull_image", "images_app.request_cleanup"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: [],
    OPERATOR: _OPERATOR_PERMISSIONS,
    ADMIN: _OPERATOR_PERMISSIONS
    + [
        "images_app.cancel_any_pull",
        "images_app.approve_cleanup",
        "images_app.remove_image",
        "images_app.remove_all_images",
        "images_app.manage_registries",
        "images_app.export_auditevent",
        "auth.add_user",
        "auth.change_user",
        "auth.view_user",
    ],
}


def ensure_roles() -> None:
    """Create the role groups with their permissions (idempotent).

    Called after every migrate (permissions only exist once post_migrate has run,
    so a data migration cannot grant them on a fresh database).
    """
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)


def assign_role(user: AbstractBaseUser, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}")
    ensure_roles()
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get(name=role))


def role_of(user: AbstractBaseUser) -> str | None:
    """The user's highest role, or None."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    for role in (ADMIN, OPERATOR, VIEWER):
        if role in names:
            return role
    return None
