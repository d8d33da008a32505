"""In a real browser: an admin force-removes an image; an operator asks and an admin approves."""

from __future__ import annotations

import pytest

from tests.integration.conftest import browser_login
from tests.integration.support.removal import image_exists

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_removes_an_image_with_force_in_the_browser(
    live_url, page, admin_user, environment, images, unique_name, start_container, docker_api
):
    repo = unique_name("browserforce")
    image_id = images.build(f"{repo}:1")
    container_id = start_container(f"{repo}:1", running=False)
    browser_login(page, live_url, admin_user.username)

    page.goto(f"{live_url}/env/local/images/remove/?ref={repo}:1")
    assert "needs force" in page.inner_text("#removal-plan")
    assert container_id[:12] in page.inner_text("#removal-plan")
    assert not page.is_checked("#id_force")
    page.check("#id_force")
    page.click("#submit-removal")
    page.wait_for_url(f"{live_url}/env/local/images/")

    assert f"Deleted: {image_id}" in page.inner_text(".messages")
    assert not image_exists(docker_api, image_id)
    assert docker_api.inspect_container(container_id)["Id"] == container_id


def test_operator_requests_and_admin_approves_in_the_browser(
    live_url, browser, operator, admin_user, environment, images, unique_name, docker_api
):
    repo = unique_name("browserreq")
    image_id = images.build(f"{repo}:1", busybox=False)

    operator_context = browser.new_context()
    operator_page = operator_context.new_page()
    browser_login(operator_page, live_url, operator.username)
    operator_page.goto(f"{live_url}/env/local/images/remove/?ref={repo}:1")
    operator_page.fill("#id_reason", "old build")
    operator_page.click("#submit-removal")
    operator_page.wait_for_url(f"{live_url}/requests/*/")
    request_url = operator_page.url
    assert "pending" in operator_page.inner_text("#request-status")
    assert image_exists(docker_api, image_id)

    admin_context = browser.new_context()
    admin_page = admin_context.new_page()
    browser_login(admin_page, live_url, admin_user.username)
    admin_page.goto(f"{live_url}/requests/")
    admin_page.click("#pending-requests a")
    admin_page.click("#approve")
    admin_page.wait_for_load_state()

    assert "executed" in admin_page.inner_text("#request-status")
    assert not image_exists(docker_api, image_id)
    operator_page.goto(request_url)
    assert "executed" in operator_page.inner_text("#request-status")
    assert f"Deleted: {image_id}" in operator_page.inner_text("#removal-results")
    operator_context.close()
    admin_context.close()
