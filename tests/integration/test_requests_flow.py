"""Operators ask, another admin approves, the frozen items are removed exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from images_app.models import AuditEvent, CleanupRequest, RemovalJob
from images_app.services import cleanup_requests
from images_app.services.cleanup_requests import RequestNotPending
from tests.integration.support.removal import REMOVE_URL, confirm_form, engine_ids, image_exists


def _request_removal(client, refs, reason="disk is full"):
    page = client.get(REMOVE_URL, {"ref": refs})
    assert page.status_code == 200 and page.context["mode"] == "request"
    query = "&".join(f"ref={r}" for r in refs)
    return client.post(REMOVE_URL + "?" + query, {**confirm_form(page), "reason": reason})


def test_operator_removal_becomes_a_pending_request_and_removes_nothing(
    operator_client, operator, environment, images, unique_name, docker_api
):
    repo = unique_name("req")
    image_id = images.build(f"{repo}:1", layers=[2048])

    response = _request_removal(operator_client, [f"{repo}:1"])

    request = CleanupRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/requests/{request.pk}/"
    assert image_exists(docker_api, image_id)
    assert request.status == "pending" and request.requested_by == operator and request.reason == "disk is full"
    assert request.items == [
        {
            "image_id": image_id,
            "reference": f"{repo}:1",
            "tags": [f"{repo}:1"],
            "force": False,
            "action": "delete",
            "by_id": False,
            "containers": [],
            "unique_size": request.bytes_preview,
        }
    ]
    assert request.bytes_preview > 2048
    assert request.expires_at > timezone.now() + timedelta(hours=71)
    assert AuditEvent.objects.get(action="cleanup_requested").cleanup_request == request


def test_a_request_needs_a_reason(operator_client, environment, images, unique_name):
    repo = unique_name("noreason")
    images.build(f"{repo}:1", busybox=False)

    response = _request_removal(operator_client, [f"{repo}:1"], reason="  ")

    assert response.status_code == 400
    assert not CleanupRequest.objects.exists()


def test_admin_approval_removes_exactly_the_requested_images(
    operator_client, admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("approve")
    wanted = images.build(f"{repo}:go", busybox=False)
    kept = images.build(f"{repo}:stay", busybox=False)
    _request_removal(operator_client, [f"{repo}:go"])
    request = CleanupRequest.objects.get()
    before = engine_ids(docker_api)

    response = admin_client.post(f"/requests/{request.pk}/approve/")

    assert response.status_code == 302
    assert before - engine_ids(docker_api) == {wanted}
    assert image_exists(docker_api, kept)
    request.refresh_from_db()
    assert request.status == "executed" and request.results[0]["outcome"] == "removed"
    assert [e.action for e in AuditEvent.objects.filter(cleanup_request=request).order_by("id")] == [
        "cleanup_requested",
        "cleanup_approved",
        "image_removed",
        "cleanup_executed",
    ]
    # The requester sees the outcome.
    page = operator_client.get(f"/requests/{request.pk}/")
    assert "executed" in page.content.decode() and f"Deleted: {wanted}" in page.content.decode()


def test_nobody_approves_their_own_request(admin_user, admin_client, environment, images, unique_name, docker_api):
    repo = unique_name("self")
    image_id = images.build(f"{repo}:1", busybox=False)
    plan_page = admin_client.get(REMOVE_URL, {"ref": f"{repo}:1"})
    request = cleanup_requests.cleanup_request_create(
        environment=environment,
        kind="remove",
        items=plan_page.context["plan"].snapshot(force=False),
        reason="tidy",
        actor=admin_user,
    )

    response = admin_client.post(f"/requests/{request.pk}/approve/")

    assert response.status_code == 403
    assert "four-eyes" in response.content.decode()
    request.refresh_from_db()
    assert request.status == "pending" and image_exists(docker_api, image_id)
    assert AuditEvent.objects.get(action="cleanup_approved").outcome == "denied"
    assert "another admin must approve" in admin_client.get(f"/requests/{request.pk}/").content.decode()


@override_settings(BERTH_ALLOW_SELF_APPROVAL=True)
def test_self_approval_works_when_the_setting_allows_it(
    admin_user, admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("selfok")
    image_id = images.build(f"{repo}:1", busybox=False)
    page = admin_client.get(REMOVE_URL, {"ref": f"{repo}:1"})
    request = cleanup_requests.cleanup_request_create(
        environment=environment,
        kind="remove",
        items=page.context["plan"].snapshot(force=False),
        reason="tidy",
        actor=admin_user,
    )

    admin_client.post(f"/requests/{request.pk}/approve/")

    assert not image_exists(docker_api, image_id)


def test_a_request_whose_tag_moved_is_flagged_and_removes_nothing_unintended(
    operator_client, admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("drift")
    first = images.build(f"{repo}:1", busybox=False)
    images.tag(first, f"{repo}:old")
    _request_removal(operator_client, [f"{repo}:1"])
    request = CleanupRequest.objects.get()
    assert request.items[0]["action"] == "untag"
    second = images.build(f"{repo}:1", busybox=False)  # the tag moved

    detail = admin_client.get(f"/requests/{request.pk}/")
    admin_client.post(f"/requests/{request.pk}/approve/")

    assert "now points to another image" in detail.content.decode() and 'id="request-drift"' in detail.content.decode()
    assert image_exists(docker_api, first) and image_exists(docker_api, second)
    assert docker_api.inspect_image(f"{repo}:1")["Id"] == second
    request.refresh_from_db()
    assert request.status == "executed" and request.results[0]["outcome"] == "skipped"
    assert AuditEvent.objects.get(action="cleanup_executed").outcome == "failure"


def test_rejecting_needs_a_reason_and_removes_nothing(
    operator_client, admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("reject")
    image_id = images.build(f"{repo}:1", busybox=False)
    _request_removal(operator_client, [f"{repo}:1"])
    request = CleanupRequest.objects.get()

    admin_client.post(f"/requests/{request.pk}/reject/", {"note": ""})
    request.refresh_from_db()
    assert request.status == "pending"
    admin_client.post(f"/requests/{request.pk}/reject/", {"note": "we need it"})

    request.refresh_from_db()
    assert request.status == "rejected" and request.decision_note == "we need it"
    assert image_exists(docker_api, image_id)
    assert AuditEvent.objects.get(action="cleanup_rejected").message == "we need it"
    assert admin_client.post(f"/requests/{request.pk}/approve/").status_code == 302  # nothing done, told so
    assert image_exists(docker_api, image_id)


def test_requests_expire_with_an_audit_event(operator, operator_client, admin_client, environment, images, unique_name):
    repo = unique_name("expire")
    images.build(f"{repo}:1", busybox=False)
    _request_removal(operator_client, [f"{repo}:1"])
    request = CleanupRequest.objects.get()
    CleanupRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    call_command("expire_requests")

    request.refresh_from_db()
    assert request.status == "expired"
    assert AuditEvent.objects.get(action="cleanup_expired").cleanup_request == request
    with pytest.raises(RequestNotPending):
        cleanup_requests.cleanup_request_approve(cleanup_request=request, actor=admin_client_user(admin_client))


def admin_client_user(client: Client):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_the_scheduled_expiry_expires_overdue_requests(operator_client, admin_client, environment, images, unique_name):
    # The list page only reads (an overdue request leaves the queue at once); beat's task records the expiry.
    from images_app.tasks.scheduled import overdue_requests_expire

    repo = unique_name("sweep")
    images.build(f"{repo}:1", busybox=False)
    _request_removal(operator_client, [f"{repo}:1"])
    request = CleanupRequest.objects.get()
    CleanupRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    page = admin_client.get("/requests/")
    assert page.status_code == 200
    assert page.context["pending"] == []
    request.refresh_from_db()
    assert request.status == "pending"

    overdue_requests_expire.apply()
    request.refresh_from_db()
    assert request.status == "expired"


def test_admins_see_the_pending_queue_with_a_nav_badge(operator_client, admin_client, environment, images, unique_name):
    repo = unique_name("queue")
    images.build(f"{repo}:1", busybox=False)
    _request_removal(operator_client, [f"{repo}:1"])

    html = admin_client.get("/requests/").content.decode()

    assert 'title="Pending approvals">1<' in html
    assert "disk is full" in html


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_execute_once(
    operator, admin_user, second_admin, environment, images, unique_name, docker_api
):
    repo = unique_name("race")
    image_id = images.build(f"{repo}:1", busybox=False)
    from images_app.services import removal

    plan = removal.removal_plan(environment=environment, refs=[f"{repo}:1"])
    request = cleanup_requests.cleanup_request_create(
        environment=environment, kind="remove", items=plan.snapshot(force=False), reason="race", actor=operator
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(user) -> None:
        try:
            client = Client()
            client.force_login(user)
            barrier.wait(timeout=10)
            response = client.post(f"/requests/{request.pk}/approve/")
            outcomes.append(str(response.status_code))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (admin_user, second_admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert outcomes == ["302", "302"]
    assert not image_exists(docker_api, image_id)
    assert RemovalJob.objects.count() == 1
    assert AuditEvent.objects.filter(action="cleanup_approved", outcome="success").count() == 1
    assert AuditEvent.objects.filter(action="image_removed").count() == 1
    assert AuditEvent.objects.filter(action="cleanup_executed").count() == 1


@override_settings(BERTH_REMOVAL_INLINE_MAX=0)
@pytest.mark.django_db(transaction=True)
def test_approved_request_runs_on_the_worker_and_stores_results(
    operator, second_admin, environment, images, unique_name, docker_api, celery_worker_process
):
    import time

    from images_app.services import removal

    repo = unique_name("worker")
    ids = [images.build(f"{repo}:{n}", busybox=False) for n in range(2)]
    plan = removal.removal_plan(environment=environment, refs=[f"{repo}:0", f"{repo}:1"])
    request = cleanup_requests.cleanup_request_create(
        environment=environment, kind="remove", items=plan.snapshot(force=False), reason="w", actor=operator
    )
    client = Client()
    client.force_login(second_admin)

    response = client.post(f"/requests/{request.pk}/approve/")

    assert response.status_code == 302 and "/removals/" in response["Location"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        request.refresh_from_db()
        if request.status == "executed":
            break
        time.sleep(0.2)
    assert request.status == "executed"
    assert [r["outcome"] for r in request.results] == ["removed", "removed"]
    assert not any(image_exists(docker_api, i) for i in ids)


def test_progress_page_refreshes_itself_while_the_job_waits(admin_user, admin_client, environment):
    job = RemovalJob.objects.create(environment=environment, items=[], created_by=admin_user)

    html = admin_client.get(f"/env/local/removals/{job.pk}/").content.decode()

    assert 'http-equiv="refresh"' in html and "0 / 0 done" in html


def test_a_forced_request_keeps_its_force_and_the_approval_uses_it(
    operator_client, admin_client, environment, images, unique_name, start_container, docker_api
):
    repo = unique_name("forcedreq")
    image_id = images.build(f"{repo}:1")
    container_id = start_container(f"{repo}:1", running=False)
    page = operator_client.get(REMOVE_URL, {"ref": f"{repo}:1"})
    operator_client.post(REMOVE_URL + f"?ref={repo}:1", {**confirm_form(page), "reason": "old", "force": "on"})
    request = CleanupRequest.objects.get()
    assert request.items[0]["force"] is True and request.items[0]["containers"] == [container_id]

    admin_client.post(f"/requests/{request.pk}/approve/")

    assert not image_exists(docker_api, image_id)
    assert AuditEvent.objects.get(action="image_removed").parameters["force"] is True


def test_approval_is_refused_while_the_engine_is_down(operator, admin_client, environment, images, unique_name):
    from images_app.engine import forget_clients
    from images_app.services import removal

    repo = unique_name("down")
    images.build(f"{repo}:1", busybox=False)
    plan = removal.removal_plan(environment=environment, refs=[f"{repo}:1"])
    request = cleanup_requests.cleanup_request_create(
        environment=environment, kind="remove", items=plan.snapshot(force=False), reason="x", actor=operator
    )
    real_host = environment.docker_host
    environment.docker_host = "unix:///tmp/berth-no-such-engine.sock"
    environment.save()
    forget_clients()
    try:
        response = admin_client.post(f"/requests/{request.pk}/approve/")
    finally:
        environment.docker_host = real_host
        environment.save()
        forget_clients()

    assert response.status_code == 503
    request.refresh_from_db()
    assert request.status == "pending"


def test_an_approved_prune_request_removes_exactly_the_previewed_images(
    operator_client, admin_client, environment, images, docker_api
):
    previewed = images.build(None, busybox=False)
    page = operator_client.get("/env/local/images/prune/")
    operator_client.post("/env/local/images/prune/", {**confirm_form(page), "reason": "space"})
    request = CleanupRequest.objects.get()
    late = images.build(None, busybox=False)  # dangling too, but never requested
    before = engine_ids(docker_api)

    detail = admin_client.get(f"/requests/{request.pk}/")
    admin_client.post(f"/requests/{request.pk}/approve/")

    assert detail.status_code == 200 and previewed[7:19] in detail.content.decode()
    assert before - engine_ids(docker_api) == {i["image_id"] for i in request.items}
    assert previewed in {i["image_id"] for i in request.items}
    assert image_exists(docker_api, late)
