"""Search and registries in a real browser against the real ASGI server (no JavaScript needed)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import browser_login
from tests.integration.support.fake_index import PlantedResult, start_fake_index

pytestmark = [pytest.mark.browser]


@pytest.fixture
def fake_index():
    index = start_fake_index(
        PlantedResult("team/webserver", "<b>bold</b> web server", star_count=7, is_automated=True),
        PlantedResult("webserver", "The official one", star_count=900, is_official=True),
    )
    yield index
    index.stop()


def test_an_admin_registers_an_index_then_anyone_searches_it(
    transactional_db, live_url, page, admin_user, viewer, fake_index, tmp_path
):
    browser_login(page, live_url, "ada")
    page.goto(live_url + "/registries/add/")
    page.fill("#id_name", "team-index")
    page.fill("#id_url", fake_index.host)
    page.click("main button[type=submit]")
    assert page.locator("#registries-table td.name").inner_text() == "team-index"

    page.context.clear_cookies()
    browser_login(page, live_url, "vera")
    page.goto(live_url + "/env/local/search/")
    page.fill("#id_term", "webserver")
    page.select_option("#id_index", label=f"team-index ({fake_index.host})")
    page.check("#id_official")
    page.click("main button[type=submit]")

    rows = page.locator("#search-table tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td.name").inner_text() == "webserver"
    assert rows.first.locator("td.official").inner_text() == "[OK]"
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    page.uncheck("#id_official")
    page.click("main button[type=submit]")
    assert page.locator("#search-table tbody tr").count() == 2
    # Untrusted HTML from the index shows as the text it is.
    assert page.locator("#search-table td.description", has_text="<b>bold</b> web server").count() == 1
    page.reload()
    assert "From cache" in page.locator("#search-meta").inner_text()
