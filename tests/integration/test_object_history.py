"""Each image page and each job/request page shows its own history (and not anybody else's)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from images_app.models import CleanupRequest, PullJob, RemovalJob
from images_app.services.audit import audit_record
from tests.integration.support.removal import REMOVE_URL, confirm_and_post


def history_section(html: str, section_id: str) -> str:
    match = re.search(rf'<section class="card" id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"no #{section_id} section on the page"
    return match.group(1)


@pytest.fixture
def tagged(images, unique_name):
    repository = unique_name("hist")
    image_id = images.build(f"{repository}:v1", busybox=False)
    return repository, image_id


def test_the_image_page_lists_events_by_its_id_and_by_any_spelling_of_its_tags(
    viewer_client, environment, tagged, admin_user
):
    repository, image_id = tagged
    audit_record(action="image_untagged", outcome="success", actor=admin_user, target_image_id=image_id)
    audit_record(
        action="pull_requested",
        outcome="success",
        actor=admin_user,
        target_reference=f"docker.io/library/{repository}:v1",
    )
    audit_record(action="pull_requested", outcome="success", actor=admin_user, target_reference=f"{repository}:v2")
    html = viewer_client.get(f"/env/local/images/{image_id[7:19]}/").content.decode()
    history = history_section(html, "image-history")
    assert "image_untagged" in history
    assert f"docker.io/library/{repository}:v1" in history
    assert f"{repository}:v2" not in history, "another tag's event is not this image's"
    assert f'href="/audit/?target={image_id.replace(":", "%3A")}"' in history


def test_an_image_without_events_says_so(viewer_client, environment, tagged):
    _repository, image_id = tagged
    html = viewer_client.get(f"/env/local/images/{image_id[7:19]}/").content.decode()
    assert "No events." in history_section(html, "image-history")


def test_the_pull_page_shows_its_own_events_with_the_shared_partial(viewer_client, environment, operator):
    mine = PullJob.objects.create(environment=environment, reference="localhost:1/mine:v1", requested_by=operator)
    other = PullJob.objects.create(environment=environment, reference="localhost:1/other:v1", requested_by=operator)
    audit_record(action="pull_requested", outcome="success", actor=operator, pull_job=mine, message="mine-event")
    audit_record(action="pull_requested", outcome="success", actor=operator, pull_job=other, message="other-event")
    html = viewer_client.get(f"/env/local/pulls/{mine.pk}/").content.decode()
    history = history_section(html, "pull-history")
    assert 'class="table audit-table"' in history
    assert "mine-event" in history and "other-event" not in history
    assert f'href="/audit/?pull_job={mine.pk}"' in history


def test_a_request_and_its_removal_job_show_the_whole_chain(
    operator_client, admin_client, viewer_client, environment, tagged
):
    repository, image_id = tagged
    confirm_and_post(operator_client, REMOVE_URL, [f"{repository}:v1"], reason="old build")
    cleanup_request = CleanupRequest.objects.get(requested_by__username="otto")
    admin_client.post(reverse("request_approve", kwargs={"pk": cleanup_request.pk}))
    job = RemovalJob.objects.get(cleanup_request=cleanup_request)

    request_html = viewer_client.get(f"/requests/{cleanup_request.pk}/").content.decode()
    request_history = history_section(request_html, "request-history")
    for action in ("cleanup_requested", "cleanup_approved", "image_removed"):
        assert action in request_history, f"{action} missing from the request's history"
    assert f'href="/audit/?cleanup_request={cleanup_request.pk}"' in request_history

    job_html = viewer_client.get(f"/env/local/removals/{job.pk}/").content.decode()
    job_history = history_section(job_html, "removal-history")
    assert "image_removed" in job_history and "cleanup_requested" in job_history
    assert f'href="/audit/?removal_job={job.pk}"' in job_history


def test_a_single_image_request_names_the_image_id_so_the_image_page_lists_it(
    operator_client, viewer_client, environment, tagged
):
    repository, image_id = tagged
    confirm_and_post(operator_client, REMOVE_URL, [f"{repository}:v1"], reason="old build")
    html = viewer_client.get(f"/env/local/images/{image_id[7:19]}/").content.decode()
    assert "cleanup_requested" in history_section(html, "image-history")


def test_the_history_for_a_full_image_id_includes_the_pull_that_produced_it(viewer_client, environment, operator):
    full = "sha256:" + "c0ffee" * 10 + "abcd"
    job = PullJob.objects.create(
        environment=environment,
        reference="localhost:1/app:v1",
        requested_by=operator,
        status="succeeded",
        image_id=full,
    )
    audit_record(action="pull_requested", outcome="success", actor=operator, pull_job=job, message="asked-before-id")
    whole = viewer_client.get("/audit/", {"target": full}).content.decode()
    prefix = viewer_client.get("/audit/", {"target": full[:19]}).content.decode()
    assert "asked-before-id" in whole
    assert "asked-before-id" not in prefix, "a prefix stays a plain, indexed prefix search"
