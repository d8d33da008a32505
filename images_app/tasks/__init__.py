"""Celery tasks, thin: load the row, call the service. Areas add their modules here."""

from images_app.tasks import pulls  # noqa: F401  (registers the pull task with the worker)
