"""A real Chromium logs in and sees the images table."""

from __future__ import annotations

import pytest

from tests.integration.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_logs_in_and_sees_the_images_table(live_url, page, viewer, images, unique_name):
    repo = unique_name("browser")
    image_id = images.build(f"{repo}:v1", busybox=False)

    page.goto(live_url + "/env/local/images/")
    assert "/login/" in page.url  # not logged in yet: sent to the login page

    browser_login(page, live_url, "vera")
    page.goto(live_url + "/env/local/images/")

    row = page.locator("#images-table tbody tr", has_text=repo)
    assert row.count() == 1
    assert row.locator("td.tag").inner_text() == "v1"
    assert row.locator("td.id code").inner_text() == image_id[7:19]


def test_wrong_password_is_refused_in_the_browser(live_url, page, viewer):
    browser_login(page, live_url, "vera", password="not-the-password")
    assert "/login/" in page.url
    assert "didn't match" in page.content()
