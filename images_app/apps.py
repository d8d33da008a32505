from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    from django.db import connections

    from images_app.audit_planner import install_audit_planner_hints
    from images_app.environments import sync_environments
    from images_app.roles import ensure_roles

    ensure_roles()
    sync_environments()
    install_audit_planner_hints(connections[kwargs.get("using") or "default"])


class ImagesAppConfig(AppConfig):
    name = "images_app"
    verbose_name = "Berth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self)
        from images_app import signals  # noqa: F401  (login/logout audit receivers)
