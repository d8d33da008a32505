"""A person in a real browser: open the list, filter, sort, open an image, copy its ID."""

from __future__ import annotations

import pytest

from tests.integration.conftest import browser_login

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_list_filter_sort_and_open_an_image(live_url, page, viewer, images, unique_name):
    repo = unique_name("browse")
    small = images.build(f"{repo}:small", busybox=False)
    large = images.build(f"{repo}:large", layers=[60_000])
    browser_login(page, live_url, "vera")

    page.goto(live_url + "/env/local/images/")
    page.fill("input[name=q]", repo)
    page.click("#image-filters button[type=submit]")
    page.wait_for_url(f"**q={repo}**")
    rows = page.locator("#images-table tbody tr")
    assert rows.count() == 2

    page.click("a.sort-link[data-sort=size]")  # newest first is the default; size starts biggest first
    page.wait_for_url("**sort=size**")
    assert page.locator("#images-table tbody tr").first.get_attribute("data-image-id") == large
    assert "order=desc" in page.url and f"q={repo}" in page.url
    page.click("a.sort-link[data-sort=size]")
    page.wait_for_url("**order=asc**")
    assert page.locator("#images-table tbody tr").first.get_attribute("data-image-id") == small

    copy = page.locator(f"tr[data-image-id='{large}'] button.js-copy")
    assert copy.is_visible()  # the script ran under the page's CSP and revealed it

    page.click(f"tr[data-image-id='{large}'] a.details-link")
    page.wait_for_url(f"**/images/{large[7:19]}/")
    assert page.locator("#full-id").inner_text() == large
    assert page.locator("#image-layers tbody tr").count() >= 3
    assert "empty layer" in page.locator("#image-layers").inner_text()


def test_bad_filter_shows_the_error_in_the_page(live_url, page, viewer, environment):
    browser_login(page, live_url, "vera")
    response = page.goto(live_url + "/env/local/images/?reference=no%20spaces")
    assert response.status == 400
    assert "reference" in page.locator("#filter-errors").inner_text()


def test_without_javascript_the_list_filters_and_hides_js_only_controls(live_url, browser, viewer, images, unique_name):
    repo = unique_name("nojs")
    image_id = images.build(f"{repo}:1", busybox=False)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        browser_login(page, live_url, "vera")
        page.goto(live_url + "/env/local/images/")
        page.fill("input[name=q]", repo)
        page.click("#image-filters button[type=submit]")
        page.wait_for_url(f"**q={repo}**")
        row = page.locator(f"tr[data-image-id='{image_id}']")
        assert row.count() == 1
        assert not row.locator("button.js-copy").is_visible()
        assert row.locator("code").get_attribute("title") == image_id  # the full ID is still on hover
    finally:
        context.close()
