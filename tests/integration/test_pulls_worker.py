"""Pulls for real: the web server, a Celery worker, the engine, the loopback registry and Redis."""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading

import docker
import pytest
import redis
from django.conf import settings
from django.test import override_settings

from images_app import pull_stream
from images_app.models import AuditEvent, Environment, PullJob
from images_app.services.pulls import pull_start
from tests.integration.conftest import BEAT_SWEEP_ONLY, login_session, start_beat, start_worker
from tests.integration.support.pulls import (
    SlowRegistry,
    collect_stream,
    push_image,
    sse_events,
    wait_for_job,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

MB = 1_000_000
FINISHED = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def slow_registry(registry_host):
    """The test registry, serving blobs at 3 MB/s per connection: pulls stay in flight for seconds."""
    proxy = SlowRegistry(registry_host, 3 * MB)
    yield proxy
    proxy.close()


def submit(session, live_url: str, reference: str) -> int:
    """POST the pull form like a browser; returns the job id the redirect points at."""
    response = session.post(
        f"{live_url}/env/local/pulls/new/",
        data={"reference": reference, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{live_url}/env/local/pulls/new/"},
        allow_redirects=False,
        timeout=15,
    )
    assert response.status_code == 302, response.text[:500]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def events_url(live_url: str, job_id: int) -> str:
    return f"{live_url}/env/local/pulls/{job_id}/events/"


def test_multi_layer_pull_streams_progress_in_order_and_succeeds(
    live_url,
    celery_worker_process,
    operator,
    environment,
    images,
    docker_api,
    registry_host,
    unique_name,
    slow_registry,
):
    name = unique_name("multi")
    push_image(images, docker_api, registry_host, name, layers=[3 * MB, 3 * MB, 2 * MB])
    reference = f"{slow_registry.host}/{name}:v1"
    session = login_session(live_url, operator.username)

    job_id = submit(session, live_url, reference)
    events = collect_stream(session, events_url(live_url, job_id))

    assert events[0][0] == "snapshot"
    assert events[-1][0] == "end"
    assert events[-1][1]["status"] == "succeeded"
    seqs = [data["seq"] for name_, data in events if name_ in ("progress", "end")]
    assert seqs == sorted(set(seqs)), "events out of order or repeated"
    assert seqs[0] > events[0][1]["seq"]
    downloading = [
        d["layer"] for n, d in events if n == "progress" and d["layer"] and d["layer"]["state"] == "downloading"
    ]
    assert any(0 < layer["current"] < layer["total"] for layer in downloading), "no partial download was streamed"
    final_layers = events[-1][1]["layers"]
    assert len(final_layers) == 4  # busybox and three data layers
    assert {layer["state"] for layer in final_layers} == {"complete"}
    assert events[-1][1]["overall"]["percent"] == 100

    job = PullJob.objects.get(pk=job_id)
    assert job.status == "succeeded"
    assert job.status_line == f"Downloaded newer image for {reference}"
    assert job.digest.startswith("sha256:")
    assert job.bytes_total >= 8 * MB
    assert docker_api.inspect_image(reference)["Id"] == job.image_id
    outcomes = list(AuditEvent.objects.filter(pull_job=job).order_by("id").values_list("action", "outcome"))
    assert outcomes == [("pull_requested", "success"), ("pull_succeeded", "success")]


def test_late_viewer_gets_the_state_at_once_then_every_newer_event(
    live_url, celery_worker_process, operator, viewer, environment, images, docker_api, registry_host, unique_name
):
    slow = SlowRegistry(registry_host, 1 * MB)
    try:
        name = unique_name("late")
        push_image(images, docker_api, registry_host, name, layers=[3 * MB, 3 * MB])
        job, _ = pull_start(user=operator, environment=environment, reference=f"{slow.host}/{name}:v1")
        wait_until(lambda: (pull_stream.read_snapshot(job.pk) or {}).get("seq", 0) > 5, 30, "pull in flight")

        session = login_session(live_url, viewer.username)  # any role may watch
        events = collect_stream(session, events_url(live_url, job.pk))
    finally:
        slow.close()

    name_, snapshot = events[0]
    assert name_ == "snapshot"
    assert snapshot["status"] == "running"
    assert snapshot["seq"] > 5
    assert snapshot["layers"], "the late viewer must see the layers at once"
    seqs = [data["seq"] for name_, data in events[1:]]
    # Each later event exactly once, none missing between the snapshot and the end.
    assert seqs == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(seqs)))
    assert events[-1][1]["status"] == "succeeded"


def test_pull_of_a_missing_tag_fails_with_the_registrys_message(
    celery_worker_process, operator, environment, images, docker_api, registry_host, unique_name
):
    name = unique_name("missing")
    push_image(images, docker_api, registry_host, name, layers=[1000])
    job, _ = pull_start(user=operator, environment=environment, reference=f"{registry_host}/{name}:nope")
    job = wait_for_job(job.pk, FINISHED, 30)
    assert job.status == "failed"
    assert job.error_message.startswith("The registry has no such image or tag")
    assert "manifest unknown" in job.error_message
    event = AuditEvent.objects.get(pull_job=job, action="pull_failed")
    assert event.outcome == "failure"
    assert "manifest unknown" in event.message


def test_pull_from_an_unreachable_registry_fails_with_a_clear_message(celery_worker_process, operator, environment):
    job, _ = pull_start(user=operator, environment=environment, reference="localhost:1/none:v1")
    job = wait_for_job(job.pk, FINISHED, 30)
    assert job.status == "failed"
    assert job.error_message.startswith("The registry could not be reached")
    assert "connection refused" in job.error_message


def test_pull_needing_credentials_fails_saying_so(celery_worker_process, operator, environment):
    auth_registry = os.environ["BERTH_TEST_AUTH_REGISTRY"]
    job, _ = pull_start(user=operator, environment=environment, reference=f"{auth_registry}/private:v1")
    job = wait_for_job(job.pk, FINISHED, 30)
    assert job.status == "failed"
    assert job.error_message.startswith("The registry requires valid credentials")
    assert "no basic auth credentials" in job.error_message


def test_engine_down_when_the_task_starts_fails_once_without_retrying(celery_worker_process, operator):
    down = Environment.objects.create(name="down", docker_host=f"unix:///tmp/berth-nowhere-{secrets.token_hex(3)}.sock")
    job, _ = pull_start(user=operator, environment=down, reference="localhost:5000/app:v1")
    job = wait_for_job(job.pk, FINISHED, 30)
    assert job.status == "failed"
    assert "Could not reach the Docker Engine" in job.error_message
    assert job.attempts == 1
    assert AuditEvent.objects.filter(pull_job=job, action="pull_failed").count() == 1


def test_concurrent_identical_pulls_share_one_job(
    live_url, celery_worker_process, operator, admin_user, environment, images, docker_api, registry_host, unique_name
):
    name = unique_name("dedupe")
    push_image(images, docker_api, registry_host, name, layers=[1 * MB])
    reference = f"{registry_host}/{name}:v1"
    sessions = [login_session(live_url, user.username) for user in (operator, admin_user, operator, admin_user)]
    job_ids: list[int] = []
    barrier = threading.Barrier(len(sessions))

    def ask(session) -> None:
        barrier.wait(10)
        job_ids.append(submit(session, live_url, reference))

    threads = [threading.Thread(target=ask, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(job_ids) == 4
    assert len(set(job_ids)) == 1, job_ids
    assert PullJob.objects.filter(reference=reference).count() == 1
    assert wait_for_job(job_ids[0], FINISHED, 30).status == "succeeded"


def test_cancelled_pull_stops_and_leaves_no_image(
    live_url, celery_worker_process, operator, environment, images, docker_api, registry_host, unique_name
):
    slow = SlowRegistry(registry_host, 1 * MB)
    try:
        name = unique_name("cancel")
        push_image(images, docker_api, registry_host, name, layers=[8 * MB, 8 * MB])
        reference = f"{slow.host}/{name}:v1"
        session = login_session(live_url, operator.username)
        job_id = submit(session, live_url, reference)

        def downloading() -> bool:
            layers = (pull_stream.read_snapshot(job_id) or {}).get("layers", [])
            return any(layer["state"] == "downloading" and layer["current"] > 0 for layer in layers)

        wait_until(downloading, 30, "a layer downloading")
        response = session.post(
            f"{live_url}/env/local/pulls/{job_id}/cancel/",
            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{live_url}/env/local/pulls/{job_id}/"},
            allow_redirects=False,
            timeout=15,
        )
        assert response.status_code == 302
        job = wait_for_job(job_id, FINISHED, 15)
    finally:
        slow.close()
    assert job.status == "cancelled"
    assert job.finished_at is not None
    with pytest.raises(docker.errors.ImageNotFound):
        docker_api.inspect_image(reference)
    actions = set(AuditEvent.objects.filter(pull_job=job).values_list("action", flat=True))
    assert actions == {"pull_requested", "pull_cancel_requested", "pull_cancelled"}


def test_worker_killed_mid_pull_leaves_a_failed_job_within_bounded_time(
    celery_worker_process, process_dir, operator, environment, images, docker_api, registry_host, unique_name
):
    # A worker of our own on a queue of our own: killing it must not touch the shared one.
    queue = f"kill-{secrets.token_hex(4)}"
    worker = start_worker(process_dir, {"BERTH_QUEUE": queue}, name="doomed")
    slow = SlowRegistry(registry_host, 1 * MB)
    try:
        name = unique_name("killed")
        push_image(images, docker_api, registry_host, name, layers=[8 * MB, 8 * MB])
        with override_settings(CELERY_TASK_DEFAULT_QUEUE=queue):
            job, _ = pull_start(user=operator, environment=environment, reference=f"{slow.host}/{name}:v1")
        wait_until(lambda: PullJob.objects.get(pk=job.pk).status == "running", 30, "the worker took the job")
        wait_until(lambda: (pull_stream.read_snapshot(job.pk) or {}).get("seq", 0) > 3, 30, "pull in flight")

        worker.stop(signal.SIGKILL)  # the whole process group: pool children too

        # Celery beat sends the sweep to the surviving worker (stale after 6 s in tests); pages only read.
        beat = start_beat(process_dir, BEAT_SWEEP_ONLY)
        try:
            wait_until(lambda: PullJob.objects.get(pk=job.pk).status != "running", 30, "the stale job to be swept")
        finally:
            beat.stop()
    finally:
        slow.close()
        worker.stop()
    job.refresh_from_db()
    assert job.status == "failed"
    assert "worker stopped responding" in job.error_message
    event = AuditEvent.objects.get(pull_job=job, action="pull_failed")
    assert event.actor_name == "system"


def test_closing_the_stream_releases_its_redis_subscription(live_url, operator, viewer, environment):
    # A queued job with no worker for it: its stream stays open until the viewer leaves.
    job = PullJob.objects.create(environment=environment, reference="localhost:5000/idle:v1", requested_by=operator)
    pull_stream.forget(job.pk)  # test databases hand ids out again; Redis would remember them
    client = redis.Redis.from_url(settings.REDIS_URL)
    channel = pull_stream.channel_name(job.pk)
    session = login_session(live_url, viewer.username)

    response = session.get(events_url(live_url, job.pk), stream=True, timeout=(5, 20))
    events = sse_events(response)  # kept referenced: dropping it would close the connection already
    first = next(events)
    assert first[0] == "snapshot" and first[1]["status"] == "queued"
    assert client.pubsub_numsub(channel) == [(channel.encode(), 1)]

    response.close()  # the tab is closed

    wait_until(lambda: client.pubsub_numsub(channel) == [(channel.encode(), 0)], 10, "subscription released")


def test_stream_requires_login(live_url, operator, environment):
    job = PullJob.objects.create(environment=environment, reference="localhost:5000/idle:v2", requested_by=operator)
    import requests

    response = requests.get(events_url(live_url, job.pk), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert "/login/" in response.headers["Location"]


def test_worker_start_sweeps_jobs_its_predecessor_abandoned(process_dir, operator, environment):
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(minutes=5)
    job = PullJob.objects.create(
        environment=environment,
        reference="localhost:5000/abandoned:v1",
        requested_by=operator,
        status="running",
        started_at=old,
        heartbeat_at=old,
    )
    worker = start_worker(process_dir, {"BERTH_QUEUE": f"sweep-{secrets.token_hex(4)}"}, name="fresh")
    try:
        job = wait_for_job(job.pk, FINISHED, 20)
    finally:
        worker.stop()
    assert job.status == "failed"
    assert "worker stopped responding" in job.error_message


def test_pull_with_a_registry_sends_its_credentials_for_that_pull(
    celery_worker_process, operator, admin_user, environment, images, docker_api, unique_name
):
    from images_app.services.registries import registry_create

    host = os.environ["BERTH_TEST_AUTH_REGISTRY"]
    credentials = {
        "username": os.environ["BERTH_TEST_AUTH_REGISTRY_USER"],
        "password": os.environ["BERTH_TEST_AUTH_REGISTRY_PASSWORD"],
    }
    name = unique_name("private")
    image_id = images.build(f"{host}/{name}:v1", layers=[1000])
    for chunk in docker_api.push(f"{host}/{name}", tag="v1", stream=True, decode=True, auth_config=credentials):
        assert "error" not in chunk, chunk
    docker_api.remove_image(image_id, force=True)
    # Stored encrypted by the registries service; the worker decrypts it for this pull only.
    registry = registry_create(actor=admin_user, name="private", url=f"http://{host}", **credentials)

    job, _ = pull_start(user=operator, environment=environment, reference=f"{host}/{name}:v1", registry=registry)
    job = wait_for_job(job.pk, FINISHED, 60)

    assert job.status == "succeeded", job.error_message
    assert docker_api.inspect_image(f"{host}/{name}:v1")["Id"] == image_id
    assert credentials["password"] not in json.dumps(list(AuditEvent.objects.values("parameters", "message")))


def test_error_inside_the_engines_stream_fails_the_pull(
    celery_worker_process, operator, environment, images, docker_api, registry_host, unique_name
):
    # The engine answers 200, streams progress, then reports the bad layer in the stream itself.
    corrupting = SlowRegistry(registry_host, 50 * MB, corrupt=True)
    try:
        name = unique_name("corrupt")
        push_image(images, docker_api, registry_host, name, layers=[200_000])
        job, _ = pull_start(user=operator, environment=environment, reference=f"{corrupting.host}/{name}:v1")
        job = wait_for_job(job.pk, FINISHED, 60)
    finally:
        corrupting.close()
    assert job.status == "failed"
    assert "verification failed" in job.error_message or "digest" in job.error_message, job.error_message
    assert job.progress["layers"], "progress streamed before the error is kept"
