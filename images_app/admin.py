"""Django admin: the audit history read-only; users are managed only on Berth's audited pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from images_app.models import AuditAnchor, AuditEvent

# Role changes and deactivations made here would skip the audit history and the
# last-admin guard, and users must never be deleted: /users/ is the only way.
for _model in (User, Group):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm("images_app.export_auditevent") or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "actor_name", "action", "outcome", "environment", "target_reference")
    list_filter = ("outcome", "environment")
    search_fields = ("actor_name", "action", "target_reference", "target_image_id")
    date_hierarchy = None
    show_full_result_count = False  # no COUNT(*) over a million rows


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "last_id", "dropped_count", "cutoff", "archive_sha256")
