"""Failing parts under a pull, for real: the registry stops mid-transfer; Redis stops under a running Berth.

Each part is private to its test (its own proxy port, its own redis-server), so
stopping it disturbs no other test; each recovers without restarting Berth.
"""

from __future__ import annotations

import secrets
import time

import docker
import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from images_app.models import AuditEvent, PullJob
from images_app.services.pulls import pull_start
from tests.integration.conftest import BEAT_SWEEP_ONLY, login_session, start_beat, start_web_server, start_worker
from tests.integration.support.failures import PrivateRedis
from tests.integration.support.pulls import SlowRegistry, collect_stream, push_image, wait_for_job, wait_until

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
    registry = SlowRegistry(registry_host, 2 * MB)
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


def test_redis_stopped_pages_still_work_pulls_get_503_and_recover_when_redis_returns(
    tmp_path_factory, process_dir, operator, viewer, environment, images, docker_api, registry_host, unique_name
):
    redis_server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    redis_server.start()
    web = worker = None
    queue = f"redisstop-{secrets.token_hex(4)}"
    env = {"REDIS_URL": redis_server.url, "BERTH_QUEUE": queue}
    pulled: list[str] = []
    try:
        web, url = start_web_server(process_dir, env)
        worker = start_worker(process_dir, env, name="redisstop")
        session = login_session(url, operator.username)
        name = unique_name("redisstop")
        push_image(images, docker_api, registry_host, name, layers=[1000])
        before = job_id_of(submit(session, url, f"{registry_host}/{name}:v1"))
        assert wait_for_job(before, FINISHED, 30).status == "succeeded"
        pulled.append(f"{registry_host}/{name}:v1")

        redis_server.stop()

        # Pages that need only the engine and the database answer as usual.
        assert session.get(f"{url}/env/local/images/", timeout=15).status_code == 200
        image_id = docker_api.inspect_image(f"{registry_host}/{name}:v1")["Id"]
        assert session.get(f"{url}/env/local/images/{image_id[7:19]}/", timeout=15).status_code == 200
        assert session.get(f"{url}/env/local/pulls/{before}/", timeout=15).status_code == 200

        # Asking for a pull: an honest 503 that says why, and nothing left queued.
        jobs = PullJob.objects.count()
        refused = submit(session, url, f"{registry_host}/{name}:v2")
        assert refused.status_code == 503
        assert "Redis" in refused.text and "not queued" in refused.text
        assert PullJob.objects.count() == jobs
        assert AuditEvent.objects.filter(action="pull_requested", outcome="failure").count() == 1

        # A finished job's stream needs no Redis. A running one gives the database's state, says
        # live progress is unavailable and ends (the page then refreshes itself without JS).
        finished = collect_stream(session, f"{url}/env/local/pulls/{before}/events/", timeout=15)
        assert finished[-1][0] == "end" and finished[-1][1]["status"] == "succeeded"
        orphan = PullJob.objects.create(
            environment=environment,
            reference=f"{registry_host}/{name}:orphan",
            requested_by=operator,
            status="running",
            heartbeat_at=timezone.now(),
        )
        live = collect_stream(session, f"{url}/env/local/pulls/{orphan.pk}/events/", timeout=15)
        assert [event for event, _ in live] == ["snapshot", "unavailable"], live
        assert live[0][1]["status"] == "running"
        # Nobody heartbeats it, and pages only read: it stays running while nothing can send the sweep.
        assert session.get(f"{url}/env/local/pulls/{orphan.pk}/", timeout=15).status_code == 200
        assert PullJob.objects.get(pk=orphan.pk).status == "running"

        # Redis is back on its port: beat's sweep reaches the same worker, which fails the orphan
        # (6 s in tests) with its audit event; and the same web server and worker pull again, no restart.
        redis_server.start()
        beat = start_beat(process_dir, {**env, **BEAT_SWEEP_ONLY})
        try:
            swept = lambda: PullJob.objects.get(pk=orphan.pk).status == "failed"  # noqa: E731
            wait_until(swept, 30, "the orphan job to be swept", interval=1)
        finally:
            beat.stop()
        assert AuditEvent.objects.filter(pull_job=orphan, action="pull_failed").count() == 1
        after = job_id_of(submit(session, url, f"{registry_host}/{name}:v1"))
        job = wait_for_job(after, FINISHED, 60)
        assert job.status == "succeeded", job.error_message
        assert PullJob.objects.filter(status__in=PullJob.ACTIVE).count() == 0
    finally:
        for process in (worker, web):
            if process is not None:
                process.stop()
        redis_server.stop()
        for reference in pulled:
            try:
                docker_api.remove_image(reference, force=True)
            except docker.errors.APIError:
                pass
