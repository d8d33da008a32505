import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("berth")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Retention policies: every minute, run those whose interval has passed (idempotent: the service
# claims each run with a conditional UPDATE, so two beats never run a policy twice).
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "retention-policies-due": {"task": "images_app.retention_run_due", "schedule": 60.0},
}
