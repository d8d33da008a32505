import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("berth")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work (Celery beat: `celery -A config beat`). Each entry's interval comes from a documented setting.
from config.env import env_int  # noqa: E402

app.conf.beat_schedule = dict(app.conf.beat_schedule or {})
# Update checks: this tick only looks for environments whose interval (BERTH_UPDATE_CHECK_MINUTES,
# BERTH_UPDATE_CHECK_INTERVALS) has passed; the check itself runs only for those.
app.conf.beat_schedule["berth-update-checks"] = {
    "task": "images_app.updates_check_due",
    "schedule": float(env_int("BERTH_UPDATE_CHECK_TICK_SECONDS", 60, minimum=5)),
}
