"""Celery tasks, thin: load the row, call the service. Areas add their modules here."""
