"""Who may remove: admins directly, operators by request, viewers not at all; checked on the server."""

from __future__ import annotations

import pytest
from django.test import Client

from images_app.models import CleanupRequest
from images_app.services import cleanup_requests, removal
from tests.integration.support.removal import REMOVE_URL, confirm_form, image_exists

CLEANUP_URLS = ["/env/local/images/prune/", "/env/local/images/remove-unused/", "/env/local/images/remove-all/"]


@pytest.fixture
def pending_request(operator, environment, images, unique_name):
    repo = unique_name("roles")
    image_id = images.build(f"{repo}:1", busybox=False)
    plan = removal.removal_plan(environment=environment, refs=[f"{repo}:1"])
    request = cleanup_requests.cleanup_request_create(
        environment=environment, kind="remove", items=plan.snapshot(force=False), reason="r", actor=operator
    )
    return request, image_id


@pytest.mark.parametrize("url", [REMOVE_URL + "?ref=x:1", *CLEANUP_URLS])
def test_viewer_cannot_open_or_post_a_removal(viewer_client, environment, url):
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url, {"snapshot": "[]"}).status_code == 403


def test_viewer_cannot_approve_or_reject(viewer_client, pending_request, docker_api):
    request, image_id = pending_request

    assert viewer_client.post(f"/requests/{request.pk}/approve/").status_code == 403
    assert viewer_client.post(f"/requests/{request.pk}/reject/", {"note": "no"}).status_code == 403

    request.refresh_from_db()
    assert request.status == "pending" and image_exists(docker_api, image_id)


def test_viewer_may_read_requests(viewer_client, pending_request):
    request, _ = pending_request

    assert viewer_client.get("/requests/").status_code == 200
    page = viewer_client.get(f"/requests/{request.pk}/")
    assert page.status_code == 200 and 'id="approve"' not in page.content.decode()


def test_operator_cannot_approve_even_others_requests(operator_client, pending_request, docker_api):
    request, image_id = pending_request

    assert operator_client.post(f"/requests/{request.pk}/approve/").status_code == 403
    assert image_exists(docker_api, image_id)


def test_operator_cannot_remove_everything(operator_client, environment):
    assert operator_client.get("/env/local/images/remove-all/").status_code == 403
    assert operator_client.post("/env/local/images/remove-all/", {"snapshot": "[]", "reason": "x"}).status_code == 403


def test_operator_prune_becomes_a_request(operator_client, environment, images, docker_api):
    image_id = images.build(None, busybox=False)
    page = operator_client.get("/env/local/images/prune/")

    response = operator_client.post("/env/local/images/prune/", {**confirm_form(page), "reason": "space"})

    assert response.status_code == 302
    request = CleanupRequest.objects.get()
    assert request.kind == "prune_dangling" and image_id in {i["image_id"] for i in request.items}
    assert image_exists(docker_api, image_id)


def test_removal_post_requires_csrf(admin_user, environment, images, unique_name, docker_api):
    repo = unique_name("csrf")
    image_id = images.build(f"{repo}:1", busybox=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    page = client.get(REMOVE_URL, {"ref": f"{repo}:1"})

    response = client.post(REMOVE_URL + f"?ref={repo}:1", confirm_form(page))

    assert response.status_code == 403
    assert image_exists(docker_api, image_id)


def test_anonymous_is_sent_to_login(client, db):
    for url in (REMOVE_URL + "?ref=x", "/requests/", "/requests/1/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_images_page_links_cleanups_by_role(viewer_client, operator_client, admin_client, environment):
    assert "/images/prune/" not in viewer_client.get("/env/local/images/").content.decode()
    operator_html = operator_client.get("/env/local/images/").content.decode()
    assert "/images/prune/" in operator_html and "/images/remove-all/" not in operator_html
    assert "/images/remove-all/" in admin_client.get("/env/local/images/").content.decode()
