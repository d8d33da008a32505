"""Roles are Django groups carrying model permissions; the server checks permissions, never role names."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection, models
from django.http import HttpRequest

from images_app.selectors.prepared import PreparedRows, quoted_column, quoted_table

# A user as Django types request.user (an anonymous one has no role). Berth uses Django's own User model.
Actor = User | AnonymousUser


class AuthenticatedRequest(HttpRequest):
    """A request on a page behind login (LoginRequiredMiddleware): its user is a User, never anonymous."""

    user: User


VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)

ROLE_DESCRIPTIONS = {
    VIEWER: "Sees everything, changes nothing.",
    OPERATOR: "Pulls images and requests removals and cleanups.",
    ADMIN: "Everything: removes directly, approves requests, manages users and registries.",
}

_OPERATOR_PERMISSIONS = ["images_app.pull_image", "images_app.request_cleanup", "images_app.check_updates"]
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
        "images_app.manage_retention",
        "images_app.manage_notifications",
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


def assign_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}")
    ensure_roles()
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get(name=role))


def role_of(user: User) -> str | None:
    """The user's highest role, or None, as the database says now."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    return _highest_role(set(user.groups.values_list("name", flat=True)))


def request_role(user: Actor) -> str | None:
    """role_of() for the user of the current request, from the query that also read its permissions."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    return _highest_role(_grants(user).roles)


def permission_signature(user: Actor) -> str:
    """Every permission the user has, as one string: two users with the same one see the same buttons."""
    if not user.is_authenticated or not user.is_active:
        return ""  # has_perm grants such a user nothing
    if user.is_superuser:
        return "*"
    return _grants(user).signature


def require_role(user: Actor) -> None:
    """PermissionDenied (403) for an account without a role (one an admin has not set up yet)."""
    if request_role(user) is None:
        raise PermissionDenied("Your account has no role yet.")


def _highest_role(names: set[str] | frozenset[str]) -> str | None:
    for role in (ADMIN, OPERATOR, VIEWER):
        if role in names:
            return role
    return None


@dataclass(frozen=True)
class _Grants:
    roles: frozenset[str]
    permissions: frozenset[str]

    @cached_property
    def signature(self) -> str:
        """The permissions as one string, made once a request: a page keys each kept part by it."""
        return ",".join(sorted(self.permissions))


_GRANTS_CACHE = "_berth_grants"


def _grants(user: User) -> _Grants:
    """The user's groups and their permissions, read in one query and kept on the user object.

    Every page asks for the role (navigation) and several permissions; Django's ModelBackend
    would spend three queries on that. The cache lives as long as the request's user object,
    like ModelBackend's own.
    """
    cached = getattr(user, _GRANTS_CACHE, None)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute(_grants_statement(), [user.pk])
            rows = cursor.fetchall()
        roles: set[str] = set()
        permissions: set[str] = set()
        for name, app_label, codename in rows:
            roles.add(name)
            if codename is not None:  # a group without permissions (viewer) still names the role
                permissions.add(f"{app_label}.{codename}")
        cached = _Grants(frozenset(roles), frozenset(permissions))
        setattr(user, _GRANTS_CACHE, cached)
    return cached


@lru_cache(maxsize=1)
def _grants_statement() -> str:
    """Group.objects.filter(user=user).values_list("name", "permissions__content_type__app_label",
    "permissions__codename"), written once: every page reads it (selectors.prepared says why)."""

    def table(model: type[models.Model]) -> str:
        return quoted_table(model, connection)

    def column(model: type[models.Model], name: str) -> str:
        return quoted_column(model, name, connection)

    user_groups, group_permissions = User.groups.through, Group.permissions.through
    name, app_label, codename = column(Group, "name"), column(ContentType, "app_label"), column(Permission, "codename")
    group_id, permission_id, type_id = column(Group, "id"), column(Permission, "id"), column(ContentType, "id")
    # Only table and column names from the models' metadata, quoted: the user's id is a parameter.
    return (
        f"SELECT g.{name}, ct.{app_label}, p.{codename}"  # noqa: S608
        f" FROM {table(user_groups)} ug"
        f" JOIN {table(Group)} g ON g.{group_id} = ug.{column(user_groups, 'group')}"
        f" LEFT JOIN {table(group_permissions)} gp ON gp.{column(group_permissions, 'group')} = g.{group_id}"
        f" LEFT JOIN {table(Permission)} p ON p.{permission_id} = gp.{column(group_permissions, 'permission')}"
        f" LEFT JOIN {table(ContentType)} ct ON ct.{type_id} = p.{column(Permission, 'content_type')}"
        f" WHERE ug.{column(user_groups, 'user')} = %s"
    )


_USER_BY_ID = PreparedRows(User, "{id} = %s", params=("id",))


class RoleBackend(ModelBackend):
    """ModelBackend whose permissions come from role groups only.

    Berth never grants a permission to a user directly: its users pages assign roles and
    the Django admin does not manage users (see admin.py). So the per-user permission query
    is skipped, and the groups and their permissions come from one query (_grants).
    """

    def get_user(self, user_id: int) -> User | None:
        """ModelBackend's, with its read prepared once: every request of a signed-in person makes it."""
        user = _USER_BY_ID.first(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_user_permissions(self, user_obj: User | AnonymousUser, obj: object = None) -> set[str]:
        if user_obj.is_active and user_obj.is_superuser and obj is None:
            return super().get_user_permissions(user_obj, obj)
        return set()

    def get_group_permissions(self, user_obj: User | AnonymousUser, obj: object = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_group_permissions(user_obj, obj)
        return set(_grants(user_obj).permissions)


def removal_mode(user: User | AnonymousUser, kind: str) -> str:
    """How this person removes: "remove" (admins) or "request" (operators); PermissionDenied otherwise.

    One rule for the confirmation pages and the API. `kind` is a RemovalKind value.
    """
    if kind == "remove_all":
        if user.has_perm("images_app.remove_all_images"):
            return "remove"
        raise PermissionDenied("Only admins may remove every image.")
    if user.has_perm("images_app.remove_image"):
        return "remove"
    if user.has_perm("images_app.request_cleanup"):
        return "request"
    raise PermissionDenied("Your role may not remove images.")
