"""The merged pages fit together: the nav marks where you are, buttons follow the role, links lead somewhere."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from images_app.context_processors import nav_section
from images_app.models import AuditEvent, PullJob, Registry
from images_app.services.audit import audit_record


@pytest.fixture
def tagged(images, unique_name):
    tag = f"{unique_name('team')}:v1"
    return tag, images.build(tag, busybox=False)


def current_nav(html: str) -> list[str]:
    return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)', html)


@pytest.mark.parametrize(
    ("url_name", "section"),
    [
        ("env_home", "dashboard"),
        ("image_list", "images"),
        ("image_detail", "images"),
        ("image_remove_confirm", "images"),
        ("removal_job_detail", "images"),
        ("pull_create", "pulls"),
        ("search", "search"),
        ("request_detail", "requests"),
        ("audit_detail", "history"),
        ("registry_tags", "registries"),
        ("user_new", "users"),
        ("login", ""),
    ],
)
def test_each_page_belongs_to_one_nav_link(url_name, section):
    assert nav_section(url_name) == section


def test_the_nav_marks_the_current_area_only(viewer_client, environment):
    assert current_nav(viewer_client.get("/env/local/images/").content.decode()) == ["Images"]
    assert current_nav(viewer_client.get("/audit/").content.decode()) == ["History"]
    assert current_nav(viewer_client.get("/env/local/pulls/").content.decode()) == ["Pulls"]


def test_a_viewer_sees_no_pull_or_remove_buttons(viewer_client, environment, tagged):
    tag, image_id = tagged
    listing = viewer_client.get("/env/local/images/").content.decode()
    detail = viewer_client.get(f"/env/local/images/{image_id[7:19]}/").content.decode()
    for html in (listing, detail):
        assert "pull-again" not in html
        assert "/pulls/new/" not in html
        assert "/images/remove/" not in html
    assert 'name="ref"' not in listing, "no selection checkboxes for a viewer"


def test_an_operator_is_offered_requests_and_an_admin_removal(operator_client, admin_client, environment, tagged):
    tag, image_id = tagged
    url = f"/env/local/images/{image_id[7:19]}/"
    operator_html = operator_client.get(url).content.decode()
    admin_html = admin_client.get(url).content.decode()
    assert "Request removal…" in operator_html and "pull-again" in operator_html
    assert "Remove…" in admin_html and "Request removal" not in admin_html
    assert "Request removal of selected…" in operator_client.get("/env/local/images/").content.decode()


def test_a_registry_tags_pull_link_opens_the_form_with_that_registry_chosen(operator_client, admin_user, environment):
    registry = Registry.objects.create(name="loop", url="localhost:5999", created_by=admin_user)
    html = operator_client.get(
        reverse("pull_create", kwargs={"env": "local"}), {"reference": "localhost:5999/app:1", "registry": registry.pk}
    ).content.decode()
    assert 'value="localhost:5999/app:1"' in html
    assert re.search(rf'<option value="{registry.pk}" selected>', html)


@pytest.mark.parametrize("value", ["987", "9" * 30, "x", ""])
def test_an_unknown_registry_in_the_pull_link_is_ignored(operator_client, environment, value):
    response = operator_client.get(reverse("pull_create", kwargs={"env": "local"}), {"registry": value})
    assert response.status_code == 200


def test_the_dashboard_links_recent_pulls_and_activity_to_their_pages(viewer_client, environment, operator):
    job = PullJob.objects.create(environment=environment, reference="localhost:1/app:v1", requested_by=operator)
    audit_record(action="pull_requested", outcome="success", actor=operator, environment=environment, pull_job=job)
    event = AuditEvent.objects.get(pull_job=job)
    html = viewer_client.get("/env/local/").content.decode()
    assert f'href="/env/local/pulls/{job.pk}/"' in html
    assert f'href="/audit/{event.pk}/"' in html
    assert 'href="/requests/"' in html


def test_the_images_list_links_each_running_pull(viewer_client, environment, operator):
    job = PullJob.objects.create(environment=environment, reference="localhost:1/slow:v1", requested_by=operator)
    html = viewer_client.get("/env/local/images/").content.decode()
    assert f'href="/env/local/pulls/{job.pk}/"' in html
    assert "1 pull in progress" in html


def test_the_requester_sees_who_rejected_the_request_and_why(operator_client, admin_client, environment, tagged):
    from tests.integration.support.removal import REMOVE_URL, confirm_and_post

    tag, _image_id = tagged
    confirm_and_post(operator_client, REMOVE_URL, [tag], reason="old build")
    from images_app.models import CleanupRequest

    pending = CleanupRequest.objects.get()
    admin_client.post(reverse("request_reject", kwargs={"pk": pending.pk}), {"note": "still used by the nightly job"})
    html = operator_client.get(reverse("request_list")).content.decode()
    mine = re.search(r'<table class="table" id="my-requests">(.*?)</table>', html, re.S).group(1)
    assert "rejected" in mine and "ada: still used by the nightly job" in mine


def test_an_operators_confirmation_page_says_it_sends_a_request(operator_client, admin_client, environment, tagged):
    tag, _image_id = tagged
    url = reverse("image_remove_confirm", kwargs={"env": "local"})
    assert "<title>Request: Remove images" in operator_client.get(url, {"ref": tag}).content.decode()
    assert "<title>Remove images" in admin_client.get(url, {"ref": tag}).content.decode()


def test_the_dashboard_shows_requesters_the_outcome_of_their_requests(
    operator_client, admin_client, viewer_client, environment, tagged
):
    from tests.integration.support.removal import REMOVE_URL, confirm_and_post

    tag, _image_id = tagged
    confirm_and_post(operator_client, REMOVE_URL, [tag], reason="old build")
    from images_app.models import CleanupRequest

    pending = CleanupRequest.objects.get()
    admin_client.post(reverse("request_reject", kwargs={"pk": pending.pk}), {"note": "keep it"})
    html = operator_client.get("/env/local/").content.decode()
    card = re.search(r'<section class="card" id="my-requests">(.*?)</section>', html, re.S).group(1)
    assert f'href="/requests/{pending.pk}/"' in card and "rejected" in card and "ada: keep it" in card
    assert 'id="my-requests"' not in viewer_client.get("/env/local/").content.decode()
