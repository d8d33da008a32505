import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("berth")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def beat_schedule() -> dict[str, dict[str, object]]:
    """What Celery beat runs and how often (seconds from BERTH_BEAT_*_SECONDS; 0 leaves a task out).

    Pages only read: this periodic work used to happen on GET (sweeps, expiry) or from cron.
    """
    from django.conf import settings

    every = {
        "images_app.stale_jobs_sweep": settings.BERTH_BEAT_SWEEP_SECONDS,
        "images_app.overdue_requests_expire": settings.BERTH_BEAT_EXPIRE_SECONDS,
        "images_app.audit_retention": settings.BERTH_BEAT_RETENTION_SECONDS,
        "images_app.audit_verify": settings.BERTH_BEAT_VERIFY_SECONDS,
        # Retention policies whose interval has passed (each run is claimed by a conditional UPDATE,
        # so two beats never run a policy twice).
        "images_app.retention_run_due": settings.BERTH_BEAT_POLICIES_SECONDS,
        # Update checks: this tick only looks for environments whose interval (BERTH_UPDATE_CHECK_MINUTES,
        # BERTH_UPDATE_CHECK_INTERVALS) has passed; the check itself runs only for those.
        "images_app.updates_check_due": settings.BERTH_UPDATE_CHECK_TICK_SECONDS,
    }
    schedule: dict[str, dict[str, object]] = {
        # An entry expires after one interval: a beat that was down does not send a backlog.
        name: {"task": name, "schedule": float(seconds), "options": {"expires": float(seconds)}}
        for name, seconds in every.items()
        if seconds > 0
    }
    return schedule


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **kwargs: object) -> None:
    # Read when Celery configures itself, not at import: Django's settings come from the environment.
    sender.conf.beat_schedule = beat_schedule()
