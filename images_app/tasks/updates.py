"""Update check tasks: the schedule's tick (beat) and "check now". Thin: find the environments, run the service."""

from __future__ import annotations

from celery import shared_task

from images_app.environments import environment_by_pk
from images_app.selectors.users import user_or_none
from images_app.services.notifications import notify_updates_available
from images_app.services.updates import environments_due, updates_check_run


# No autoretry: a registry that does not answer is an "unknown" state stored for the pages, not a failure.
@shared_task(name="images_app.updates_check_due", ignore_result=True)
def updates_check_due() -> None:
    """Run by Celery beat every BERTH_UPDATE_CHECK_TICK_SECONDS: checks the environments that are due."""
    environments = environments_due()
    if environments:
        updates_check_run(environments=environments, on_outdated=notify_updates_available)


@shared_task(name="images_app.updates_check_environment", ignore_result=True)
def updates_check_environment(environment_id: int, user_id: int | None = None) -> None:
    environment = environment_by_pk(environment_id)
    if environment is None:
        return
    actor = user_or_none(user_id)
    updates_check_run(environments=[environment], force=True, actor=actor, on_outdated=notify_updates_available)
