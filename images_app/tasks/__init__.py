"""Celery tasks, thin: load the row, call the service. Areas add their modules here."""

from images_app.tasks import removal  # noqa: F401,E402  (registers the task with the worker)
