"""In a real browser, on the real server: pages kept whole stay each viewer's own and their forms keep working.

The inventory's keeper runs (pages are kept whole only while it is fresh), as under `make run`.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import browser_login
from tests.integration.test_inventory import build_listed, keeper  # noqa: F401  (keeper: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("keeper")]


def test_kept_pages_show_each_admin_their_own_name_forms_and_the_engine_as_it_is(
    live_url, browser, admin_user, second_admin, environment, images, unique_name
):
    repo = unique_name("keptbrowser")
    build_listed(images, environment, f"{repo}:1")
    pages = {}
    for user in (admin_user, second_admin):
        context = browser.new_context()
        pages[user.username] = context.new_page()
        browser_login(pages[user.username], live_url, user.username)
    ada, alan = pages[admin_user.username], pages[second_admin.username]
    list_url = f"{live_url}/env/local/images/"

    for _ in range(3):  # the first draws the page, the next ones are served kept
        for page, name in ((ada, admin_user.username), (alan, second_admin.username)):
            page.goto(list_url)
            assert page.inner_text(".who").startswith(name)
            assert f"{repo}" in page.inner_text("table")

    # A form of a kept page (its CSRF token written for this request) goes through: ada removes the image.
    ada.goto(f"{live_url}/env/local/images/remove/?ref={repo}:1")
    ada.click("#submit-removal")
    ada.wait_for_url(list_url)
    assert "Deleted" in ada.inner_text(".messages")
    for page in (ada, alan):
        page.goto(list_url)
        assert repo not in page.inner_text("main")

    # The log-out button of alan's kept page works, and only for alan.
    alan.goto(list_url)
    alan.click(".who ~ form button[type=submit]")
    alan.wait_for_url(f"{live_url}/login/*")
    alan.goto(list_url)
    assert "/login/" in alan.url
    ada.goto(list_url)
    assert ada.inner_text(".who").startswith(admin_user.username)
    for page in (ada, alan):
        page.context.close()
