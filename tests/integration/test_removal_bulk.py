"""Bulk removal and cleanups: the preview is exactly what the engine then loses."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings

from images_app.models import AuditEvent, RemovalJob
from images_app.services import removal
from tests.integration.support.removal import REMOVE_URL, confirm_form, engine_ids, engine_tags, image_exists


def test_bulk_removal_reports_each_item_with_mixed_outcomes(
    admin_client, environment, images, unique_name, start_container, docker_api
):
    repo = unique_name("bulk")
    plain = images.build(f"{repo}:plain", busybox=False)
    two_tags = images.build(f"{repo}:a", busybox=False)
    images.tag(two_tags, f"{repo}:b")
    used = images.build(f"{repo}:used")
    start_container(f"{repo}:used", running=False)
    refs = [f"{repo}:plain", f"{repo}:a", f"{repo}:used", "no-such:thing"]
    page = admin_client.get(REMOVE_URL, {"ref": refs})
    # Frozen data that omits a needed force (as a request made before force existed would):
    # the engine itself refuses that item with its 409, the others go through.
    items = removal.removal_confirm(
        plan=page.context["plan"], snapshot=page.context["plan"].snapshot(force=True), force=True
    )
    items = [dataclasses.replace(i, force=False) if i.image_id == used else i for i in items]

    results = removal.removal_execute(environment=environment, items=items, actor=None)

    outcomes = {r.reference: r.outcome for r in results}
    assert outcomes == {f"{repo}:plain": "removed", f"{repo}:a": "untagged", f"{repo}:used": "failed"}
    failed = next(r for r in results if r.outcome == "failed")
    assert "must force" in failed.message or "Containers:" in failed.message
    assert not image_exists(docker_api, plain)
    assert image_exists(docker_api, two_tags) and f"{repo}:b" in engine_tags(docker_api)
    assert image_exists(docker_api, used)
    assert AuditEvent.objects.filter(action="image_remove_failed", outcome="failure").count() == 1


def test_selecting_every_tag_of_an_image_deletes_it(admin_client, environment, images, unique_name, docker_api):
    repo = unique_name("alltags")
    image_id = images.build(f"{repo}:a", busybox=False)
    images.tag(image_id, f"{repo}:b")
    refs = [f"{repo}:a", f"{repo}:b"]

    page = admin_client.get(REMOVE_URL, {"ref": refs})
    actions = [i.action for i in page.context["plan"].actionable]
    response = admin_client.post(REMOVE_URL + f"?ref={repo}:a&ref={repo}:b", confirm_form(page))

    assert actions == ["untag", "delete"]
    assert response.status_code == 302
    assert not image_exists(docker_api, image_id)
    texts = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert f"Untagged: {repo}:a" in texts and f"Deleted: {image_id}" in texts


def _post_cleanup(client, url, **extra):
    page = client.get(url)
    assert page.status_code == 200
    return page, client.post(url, {**confirm_form(page), **extra})


def test_prune_preview_equals_what_the_engine_removes(
    admin_client, environment, images, unique_name, start_container, docker_api
):
    dangling = [images.build(None, busybox=False) for _ in range(2)]
    used_dangling = images.build(None)
    start_container(used_dangling, running=False)
    tagged = images.build(f"{unique_name('kept')}:1", busybox=False)
    before = engine_ids(docker_api)

    page, response = _post_cleanup(admin_client, "/env/local/images/prune/")

    preview = {i.image_id for i in page.context["plan"].actionable}
    assert set(dangling) <= preview and used_dangling not in preview and tagged not in preview
    assert response.status_code == 302
    assert before - engine_ids(docker_api) == preview
    assert page.context["plan"].bytes_freed >= 0


def test_remove_unused_preview_equals_what_the_engine_removes(
    admin_client, environment, images, unique_name, start_container, docker_api
):
    repo = unique_name("unused")
    unused = images.build(f"{repo}:1", busybox=False)
    images.tag(unused, f"{unique_name('unused2')}:x")  # several repositories: removed with force
    used = images.build(f"{repo}:used")
    start_container(used, running=True)
    before = engine_ids(docker_api)

    page, response = _post_cleanup(admin_client, "/env/local/images/remove-unused/")

    preview = {i.image_id for i in page.context["plan"].actionable}
    assert unused in preview and used not in preview
    assert before - engine_ids(docker_api) == preview
    assert image_exists(docker_api, used)


def test_cleanup_executes_exactly_the_previewed_images_not_new_ones(admin_client, environment, images, docker_api):
    first = images.build(None, busybox=False)
    page = admin_client.get("/env/local/images/prune/")
    late = images.build(None, busybox=False)  # dangling, but never shown

    admin_client.post("/env/local/images/prune/", confirm_form(page))

    assert not image_exists(docker_api, first)
    assert image_exists(docker_api, late)


def test_remove_everything_needs_the_environment_name_typed(admin_client, environment, images, docker_api):
    image_id = images.build(None, busybox=False)

    page, refused = _post_cleanup(admin_client, "/env/local/images/remove-all/", confirm_name="wrong")

    assert refused.status_code == 400 and image_exists(docker_api, image_id)
    assert image_id in {i.image_id for i in page.context["plan"].actionable}


@override_settings(BERTH_REMOVAL_INLINE_MAX=0)
@pytest.mark.django_db(transaction=True)
def test_remove_everything_keeps_images_of_running_containers(
    admin_client, environment, images, unique_name, start_container, docker_api, celery_worker_process
):
    stopped_image = images.build(f"{unique_name('all')}:1")
    start_container(stopped_image, running=False)
    running_image = images.build(f"{unique_name('run')}:1")
    start_container(running_image, running=True)
    before = engine_ids(docker_api)

    page, response = _post_cleanup(admin_client, "/env/local/images/remove-all/", confirm_name="local")

    assert response.status_code == 302 and "/removals/" in response["Location"]
    job = RemovalJob.objects.get()
    _wait_for_job(job)
    preview = {i.image_id for i in page.context["plan"].actionable}
    assert running_image not in preview and stopped_image in preview
    assert before - engine_ids(docker_api) == preview
    progress = admin_client.get(response["Location"])
    assert progress.status_code == 200 and 'http-equiv="refresh"' not in progress.content.decode()


def _wait_for_job(job, timeout=60):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job still {job.status}")


@override_settings(BERTH_REMOVAL_INLINE_MAX=0)
@pytest.mark.django_db(transaction=True)
def test_long_bulk_runs_as_a_job_with_a_progress_page(
    admin_client, environment, images, unique_name, docker_api, celery_worker_process
):
    repo = unique_name("job")
    ids = [images.build(f"{repo}:{n}", busybox=False) for n in range(3)]
    refs = [f"{repo}:{n}" for n in range(3)]
    page = admin_client.get(REMOVE_URL, {"ref": refs})

    response = admin_client.post(REMOVE_URL + "?" + "&".join(f"ref={r}" for r in refs), confirm_form(page))

    assert response.status_code == 302
    job = _wait_for_job(RemovalJob.objects.get())
    assert job.status == "succeeded" and job.done_count == 3
    assert not any(image_exists(docker_api, i) for i in ids)
    progress = admin_client.get(response["Location"])
    html = progress.content.decode()
    assert "3 / 3 done" in html and html.count("Deleted: ") >= 3


def test_running_a_job_twice_executes_it_once(admin_client, admin_user, environment, images, unique_name, docker_api):
    repo = unique_name("twice")
    image_id = images.build(f"{repo}:1", busybox=False)
    plan = removal.removal_plan(environment=environment, refs=[f"{repo}:1"])
    job = removal.removal_job_create(
        environment=environment, kind="remove", items=plan.snapshot(force=False), actor=admin_user
    )

    first = removal.removal_job_run(job_id=job.pk)
    second = removal.removal_job_run(job_id=job.pk)

    assert first is not None and first.status == "succeeded" and second is None
    assert not image_exists(docker_api, image_id)
    assert AuditEvent.objects.filter(action="image_removed").count() == 1
