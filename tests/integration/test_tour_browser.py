"""One team flow end to end in a real browser, with the real worker, engine and loopback registry.

An operator finds an image in a registered registry, pulls it and watches it finish, asks for
its removal with a reason; an admin sees the badge, approves; the image is gone; the history
tells the whole story for that image.
"""

from __future__ import annotations

import pytest

from images_app.models import CleanupRequest
from images_app.services.registries import registry_create
from tests.integration.conftest import browser_login
from tests.integration.support.pulls import push_image
from tests.integration.support.removal import image_exists

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

MB = 1_000_000
CHAIN = ["pull_requested", "pull_succeeded", "cleanup_requested", "cleanup_approved", "image_removed"]


def is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    remaining = iter(seen)
    return all(item in remaining for item in wanted)


def test_a_pull_then_a_removal_request_approved_by_an_admin(
    live_url,
    celery_worker_process,
    browser,
    operator,
    admin_user,
    environment,
    images,
    docker_api,
    registry_host,
    unique_name,
):
    name = unique_name("tour")
    push_image(images, docker_api, registry_host, name, layers=[MB, MB])
    reference = f"{registry_host}/{name}:v1"
    registry = registry_create(
        actor=admin_user, request=None, name="loopback", url=registry_host, username="", password=""
    )

    operator_context = browser.new_context()
    op = operator_context.new_page()
    op.set_default_timeout(20000)
    browser_login(op, live_url, operator.username)

    # The registry's tag list offers "Pull": the form comes prefilled, credentials chosen.
    op.click("nav >> text=Registries")
    op.goto(f"{live_url}/registries/{registry.pk}/repositories/{name}/")
    op.click("td.actions a:has-text('Pull')")
    op.wait_for_url("**/pulls/new/**")
    assert op.input_value("#id_reference") == reference
    assert op.input_value("#id_registry") == str(registry.pk)
    op.click(".pull-form button[type=submit]")
    op.wait_for_url("**/pulls/*/")
    op.wait_for_function("() => document.querySelector('#pull-job').dataset.status === 'succeeded'", timeout=60000)
    assert "Downloaded newer image for" in op.inner_text("#pull-status-line")
    image_id = docker_api.inspect_image(reference)["Id"]

    # From the images list to the image's page, and its removal: an operator's is a request.
    op.click("nav >> text=Images")
    op.click(f'tr[data-reference="{reference}"] a.details-link')
    assert "pull_succeeded" in op.inner_text("#image-history")
    op.click("#remove-image")
    op.fill("#id_reason", "tour: superseded by v2")
    op.click("#submit-removal")
    op.wait_for_url(f"{live_url}/requests/*/")
    assert "pending" in op.inner_text("#request-status")
    assert image_exists(docker_api, image_id)
    request_url = op.url
    cleanup_request = CleanupRequest.objects.get(requested_by=operator, status="pending")

    # The admin sees the badge, opens the queue, approves.
    admin_context = browser.new_context()
    ad = admin_context.new_page()
    ad.set_default_timeout(20000)
    browser_login(ad, live_url, admin_user.username)
    assert ad.inner_text("#pending-badge") == "1"
    ad.click("nav >> text=Requests")
    ad.click(f'#pending-requests a[href="/requests/{cleanup_request.pk}/"]')
    assert "tour: superseded by v2" in ad.inner_text("main")
    ad.click("#approve")
    ad.wait_for_load_state()
    assert "executed" in ad.inner_text("#request-status")
    assert not image_exists(docker_api, image_id)
    assert ad.locator("#pending-badge").count() == 0

    # The requester sees the outcome; the history tells the chain for that image, oldest first here.
    op.goto(request_url)
    assert "executed" in op.inner_text("#request-status")
    assert f"Deleted: {image_id}" in op.inner_text("#removal-results")
    op.goto(f"{live_url}/audit/?target={image_id}")  # where the image page's "Whole history" led
    actions = op.locator(".audit-table td.action").all_inner_texts()
    assert is_subsequence(CHAIN, list(reversed(actions))), actions
    operator_context.close()
    admin_context.close()
