"""The API's documentation page and the tokens page in a real Chromium, under Berth's CSP."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_the_docs_page_renders_the_schema_from_berth_itself(live_url, page, viewer):
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    browser_login(page, live_url, "vera")
    page.goto(live_url + "/api/v1/docs/")
    page.wait_for_selector("text=Berth API")
    page.wait_for_selector("text=/api/v1/environments/{env}/images/")
    assert not [text for text in blocked if "script" in text], blocked


def test_a_person_makes_a_token_and_sees_it_once(live_url, page, operator):
    browser_login(page, live_url, "otto")
    page.goto(live_url + "/tokens/")
    page.fill("#id_name", "laptop script")
    page.click("#token-form button[type=submit]")
    token = page.inner_text("#new-token-value")
    assert re.fullmatch(r"berth_[A-Za-z0-9_-]{40,}", token)
    assert page.locator("#my-tokens").inner_text().count("laptop script") == 1
    page.goto(live_url + "/tokens/")
    assert token not in page.content()
    page.click("#my-tokens button.danger")
    page.wait_for_selector("#my-tokens .badge-failed")
