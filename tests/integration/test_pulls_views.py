"""Asking for, listing, showing and cancelling pulls: permissions, validation, the broker being down, the sweep."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from images_app import pull_stream
from images_app.errors import BrokerUnavailable
from images_app.models import AuditEvent, PullJob
from images_app.services import pulls as pull_services
from images_app.services.pulls import pull_start, pulls_sweep_stale
from tests.integration.conftest import free_port, logged_in

CREATE_URL = "/env/local/pulls/new/"


def closed_redis_url() -> str:
    # A loopback port nobody listens on: the shared test Redis keeps running for the others.
    return f"redis://127.0.0.1:{free_port()}/0"


def make_job(environment, user, reference="localhost:5000/app:v1", **fields) -> PullJob:
    job = PullJob.objects.create(environment=environment, reference=reference, requested_by=user, **fields)
    pull_stream.forget(job.pk)  # test databases hand ids out again; Redis would remember them
    return job


def test_viewer_cannot_see_the_pull_form(viewer_client, environment):
    assert viewer_client.get(CREATE_URL).status_code == 403


def test_viewer_cannot_pull(viewer_client, environment):
    response = viewer_client.post(CREATE_URL, {"reference": "localhost:5000/app:v1"})
    assert response.status_code == 403
    assert not PullJob.objects.exists()


def test_viewer_cannot_pull_through_the_service(viewer, environment):
    with pytest.raises(pull_services.PermissionDenied):
        pull_start(user=viewer, environment=environment, reference="localhost:5000/app:v1")
    assert not PullJob.objects.exists()


def test_pull_form_is_prefilled_from_the_query(operator_client, environment):
    response = operator_client.get(CREATE_URL + "?reference=localhost:5000/app:v2")
    assert response.status_code == 200
    assert 'value="localhost:5000/app:v2"' in response.content.decode()


def test_pull_form_has_no_registry_choice_without_registries(operator_client, environment):
    response = operator_client.get(CREATE_URL)
    assert "registry" not in response.context["form"].fields


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("Ubuntu:22.04", "lowercase"),
        ("ubuntu:", "Missing tag"),
        ("ubuntu@sha256:abc", "digest"),
        ("my app", "spaces"),
    ],
)
def test_bad_reference_gets_a_form_error_saying_what_is_wrong(operator_client, environment, reference, message):
    response = operator_client.post(CREATE_URL, {"reference": reference})
    assert response.status_code == 400
    errors = response.context["form"].errors["reference"]
    assert any(message.lower() in error.lower() for error in errors), errors
    assert not PullJob.objects.exists()


def test_redis_down_at_submit_gives_503_and_leaves_no_job(operator_client, environment):
    url = closed_redis_url()
    with override_settings(CELERY_BROKER_URL=url, REDIS_URL=url):
        response = operator_client.post(CREATE_URL, {"reference": "localhost:5000/app:v1"})
    assert response.status_code == 503
    assert "job queue" in response.content.decode()
    assert not PullJob.objects.exists()
    event = AuditEvent.objects.get(action="pull_requested")
    assert event.outcome == "failure"


def test_enqueue_refused_after_commit_fails_the_job_with_the_reason(operator, environment):
    job = make_job(environment, operator)
    url = closed_redis_url()
    started = time.monotonic()
    with override_settings(CELERY_BROKER_URL=url, REDIS_URL=url), pytest.raises(BrokerUnavailable):
        pull_services._enqueue(job)
    assert time.monotonic() - started < 2, "publishing must fail fast, not keep reconnecting"
    job.refresh_from_db()
    assert job.status == PullJob.Status.FAILED
    assert "did not accept" in job.error_message
    assert AuditEvent.objects.get(pull_job=job, action="pull_failed").outcome == "failure"


def test_pulling_the_same_reference_again_joins_the_active_job(operator, admin_user, environment):
    # With the `db` fixture nothing commits, so no task is sent: the jobs stay queued.
    first, joined_first = pull_start(user=operator, environment=environment, reference="localhost:5000/app")
    second, joined_second = pull_start(user=admin_user, environment=environment, reference="localhost:5000/app:latest")
    assert (joined_first, joined_second) == (False, True)
    assert first.pk == second.pk
    assert first.reference == "localhost:5000/app:latest"
    assert PullJob.objects.count() == 1
    assert AuditEvent.objects.filter(pull_job=first, action="pull_requested").count() == 2


def test_the_database_refuses_two_active_pulls_of_one_reference(operator, environment):
    from django.db import IntegrityError, transaction

    make_job(environment, operator)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_job(environment, operator)


def test_digest_references_are_accepted(operator, environment):
    digest = "sha256:" + "a" * 64
    job, _ = pull_start(user=operator, environment=environment, reference=f"localhost:5000/app@{digest}")
    assert job.reference == f"localhost:5000/app@{digest}"


def test_owner_cancels_a_queued_pull_at_once(operator, operator_client, environment):
    job = make_job(environment, operator)
    response = operator_client.post(reverse("pull_cancel", kwargs={"env": "local", "pk": job.pk}))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == PullJob.Status.CANCELLED
    assert job.finished_at is not None
    assert AuditEvent.objects.get(pull_job=job, action="pull_cancelled").actor == operator


def test_another_operator_cannot_cancel(make_user, operator, environment):
    job = make_job(environment, operator)
    other = logged_in(make_user("olga", "operator"))
    response = other.post(reverse("pull_cancel", kwargs={"env": "local", "pk": job.pk}))
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == PullJob.Status.QUEUED
    assert AuditEvent.objects.get(pull_job=job, action="pull_cancel").outcome == "denied"


def test_admin_cancels_anyones_pull(operator, admin_client, environment):
    job = make_job(environment, operator)
    admin_client.post(reverse("pull_cancel", kwargs={"env": "local", "pk": job.pk}))
    job.refresh_from_db()
    assert job.status == PullJob.Status.CANCELLED


def test_cancel_needs_post(operator, operator_client, environment):
    job = make_job(environment, operator)
    assert operator_client.get(reverse("pull_cancel", kwargs={"env": "local", "pk": job.pk})).status_code == 405


def test_cancelling_a_running_pull_flags_it_for_the_worker(operator, operator_client, environment):
    job = make_job(environment, operator, status=PullJob.Status.RUNNING, heartbeat_at=timezone.now())
    operator_client.post(reverse("pull_cancel", kwargs={"env": "local", "pk": job.pk}))
    job.refresh_from_db()
    assert job.status == PullJob.Status.RUNNING
    assert job.cancel_requested
    assert AuditEvent.objects.filter(pull_job=job, action="pull_cancel_requested").exists()


@override_settings(BERTH_PULL_STALE_SECONDS=6)
def test_the_scheduled_sweep_fails_a_pull_whose_worker_stopped_heartbeating(operator, viewer_client, environment):
    # The sweep runs on Celery beat (tests/integration/test_scheduled_work.py); the jobs page then shows the result.
    from images_app.tasks.scheduled import stale_jobs_sweep

    old = timezone.now() - timedelta(seconds=30)
    stale = make_job(environment, operator, status=PullJob.Status.RUNNING, started_at=old, heartbeat_at=old)
    now = timezone.now()
    alive = make_job(environment, operator, reference="localhost:5000/b:1", status="running", heartbeat_at=now)
    stale_jobs_sweep.apply()
    response = viewer_client.get(reverse("pull_list", kwargs={"env": "local"}))
    assert response.status_code == 200
    assert [job.pk for job in response.context["running"]] == [alive.pk]
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == PullJob.Status.FAILED
    assert "worker stopped responding" in stale.error_message
    assert alive.status == PullJob.Status.RUNNING
    event = AuditEvent.objects.get(pull_job=stale, action="pull_failed")
    assert event.actor_name == "system"
    assert pulls_sweep_stale() == 0  # once


def test_job_page_draws_the_layers_without_javascript(operator, viewer_client, environment):
    progress = {
        "layers": [
            {"id": "b341e62c2caa", "state": "complete", "current": 10, "total": 10, "percent": 100, "text": "Done"}
        ],
        "overall": {"bytes_done": 10, "bytes_total": 10, "percent": 100},
        "digest": "sha256:" + "c" * 64,
        "status_line": "Downloaded newer image for localhost:5000/app:v1",
        "message": "",
    }
    job = make_job(
        environment,
        operator,
        status=PullJob.Status.SUCCEEDED,
        progress=progress,
        digest=progress["digest"],
        status_line=progress["status_line"],
        image_id="sha256:" + "e" * 64,
    )
    html = viewer_client.get(reverse("pull_detail", kwargs={"env": "local", "pk": job.pk})).content.decode()
    assert 'data-layer="b341e62c2caa"' in html
    assert '<progress id="pull-overall" max="100" value="100">' in html
    assert "Downloaded newer image for localhost:5000/app:v1" in html
    assert "eeeeeeeeeeee" in html
    assert 'http-equiv="refresh"' not in html  # finished: nothing to refresh for
    assert "pull_progress.js" not in html


def test_active_job_page_refreshes_without_javascript(operator, viewer_client, environment):
    job = make_job(environment, operator)
    html = viewer_client.get(reverse("pull_detail", kwargs={"env": "local", "pk": job.pk})).content.decode()
    assert '<noscript><meta http-equiv="refresh"' in html
    assert "pull_progress.js" in html
    assert "Cancel pull" not in html  # a viewer sees no cancel button


def test_job_of_another_environment_is_404(operator, viewer_client, environment):
    job = make_job(environment, operator)
    assert viewer_client.get(f"/env/other/pulls/{job.pk}/").status_code == 404
    assert viewer_client.get("/env/local/pulls/999999/").status_code == 404


def test_jobs_page_lists_running_and_recent_pulls(operator, viewer_client, environment):
    running = make_job(environment, operator, reference="localhost:5000/running:1", status="running")
    done = make_job(environment, operator, reference="localhost:5000/done:1", status="succeeded")
    response = viewer_client.get(reverse("pull_list", kwargs={"env": "local"}))
    assert [job.pk for job in response.context["running"]] == [running.pk]
    assert {job.pk for job in response.context["recent"]} == {running.pk, done.pk}


def test_registry_choice_applies_its_host_to_a_bare_reference(operator, operator_client, admin_user, environment):
    from images_app.models import Registry

    registry = Registry.objects.create(name="private", url="http://localhost:5999/", created_by=admin_user)
    response = operator_client.get(CREATE_URL)
    assert 'name="registry"' in response.content.decode()
    response = operator_client.post(CREATE_URL, {"reference": "team/app:v3", "registry": registry.pk})
    assert response.status_code == 302
    job = PullJob.objects.get()
    assert (job.reference, job.registry) == ("localhost:5999/team/app:v3", registry)


def test_registry_credentials_are_never_sent_to_another_registry(operator_client, admin_user, environment):
    from images_app.models import Registry

    registry = Registry.objects.create(name="private", url="localhost:5999", created_by=admin_user)
    response = operator_client.post(CREATE_URL, {"reference": "ghcr.io/team/app:v3", "registry": registry.pk})
    assert response.status_code == 400
    assert "not on private" in " ".join(response.context["form"].errors["registry"])
    assert not PullJob.objects.exists()


def test_a_registry_saved_with_its_default_port_accepts_a_pull_of_its_host(operator_client, admin_user, environment):
    # The pull form and the credentials compare hosts by one rule: ":443" on https is the same registry.
    from images_app.models import Registry

    registry = Registry.objects.create(name="corp", url="registry.example.com:443", created_by=admin_user)
    response = operator_client.post(CREATE_URL, {"reference": "registry.example.com/app", "registry": registry.pk})
    assert response.status_code == 302, response.context["form"].errors
    job = PullJob.objects.get()
    assert (job.reference, job.registry) == ("registry.example.com/app:latest", registry)
