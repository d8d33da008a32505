"""Failing parts under a pull, for real: the registry stops mid-transfer; Redis stops under a running Berth.

Each part is private to its test (its own proxy port, its own redis-server), so
stopping it disturbs no other test; each recovers without restarting Berth.
"""

from __future__ import annotations

import secrets
import time

import pytest
import requests
from django.test import override_settings

from images_app.models import AuditEvent
from images_app.services.pulls import pull_start
from tests.conftest import login_session, start_worker
from tests.support.failures import StoppableRegistry
from tests.support.pulls import push_image, wait_for_job, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

MB = 1_000_000
FINISHED = ("succeeded", "failed", "cancelled")


def submit(session: requests.Session, base_url: str, reference: str) -> requests.Response:
    """POST the pull form like a browser."""
    return session.post(
        f"{base_url}/env/local/pulls/new/",
        data={"reference": reference, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base_url}/env/local/pulls/new/"},
        allow_redirects=False,
        timeout=15,
    )


def job_id_of(response: requests.Response) -> int:
    assert response.status_code == 302, response.text[:500]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_registry_stopped_mid_pull_fails_the_job_plainly_then_a_new_pull_succeeds(
    live_url, process_dir, operator, environment, images, docker_api, registry_host, unique_name
):
    # A worker of our own (its own queue) with a short stall limit, so the test need not wait 45 s.
    queue = f"regstop-{secrets.token_hex(4)}"
    worker = start_worker(process_dir, {"BERTH_QUEUE": queue, "BERTH_PULL_STALL_SECONDS": "6"}, name="regstop")
    registry = StoppableRegistry(registry_host, 2 * MB)
    name = unique_name("regstop")
    try:
        push_image(images, docker_api, registry_host, name, layers=[6 * MB, 6 * MB])
        reference = f"{registry.host}/{name}:v1"
        with override_settings(CELERY_TASK_DEFAULT_QUEUE=queue):
            job, _ = pull_start(user=operator, environment=environment, reference=reference)
        wait_until(lambda: registry.blob_bytes > 1 * MB, 30, "layers downloading")

        registry.stop()
        started = time.monotonic()
        job = wait_for_job(job.pk, FINISHED, 40)
        took = time.monotonic() - started

        assert job.status == "failed", job.status
        assert job.error_message.startswith("The registry could not be reached"), job.error_message
        assert "no data from the registry for" in job.error_message
        assert 5 < took < 30, took  # the stall limit, not the engine's minute of retries
        session = login_session(live_url, operator.username)
        page = session.get(f"{live_url}/env/local/pulls/{job.pk}/", timeout=10)
        assert page.status_code == 200
        assert "could not be reached" in page.text
        assert AuditEvent.objects.get(pull_job=job, action="pull_failed").outcome == "failure"
        assert not AuditEvent.objects.filter(pull_job=job, action="pull_succeeded").exists()
        assert not docker_api.images(name=f"{registry.host}/{name}")

        # The registry is back: the same worker and web server pull again, no restart.
        registry.start()
        with override_settings(CELERY_TASK_DEFAULT_QUEUE=queue):
            again, joined = pull_start(user=operator, environment=environment, reference=reference)
        assert not joined
        again = wait_for_job(again.pk, FINISHED, 60)
        assert again.status == "succeeded", again.error_message
        assert AuditEvent.objects.filter(pull_job=again, action="pull_succeeded").count() == 1
    finally:
        registry.stop()
        worker.stop()
        for image in docker_api.images(name=f"{registry.host}/{name}"):
            docker_api.remove_image(image["Id"], force=True)
