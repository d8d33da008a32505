"""Celery tasks, thin: load the row, call the service. Each area's module is imported to register it."""

from images_app.tasks import notifications, pulls, removal, retention, scheduled, updates  # noqa: F401
