"""A person pulls an image in a real browser and watches the bars fill."""

from __future__ import annotations

import pytest

from tests.integration.conftest import browser_login
from tests.integration.support.pulls import SlowRegistry, push_image

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

MB = 1_000_000

ALL_BARS_FULL = """() => {
  const bars = [...document.querySelectorAll('#pull-layers progress')];
  return document.querySelector('#pull-overall').value === 100
    && bars.length === 3 && bars.every(bar => bar.value === 100)
    && document.querySelector('#pull-job').dataset.status === 'succeeded';
}"""


def test_browser_watches_the_layer_bars_reach_100_percent(
    live_url, celery_worker_process, page, operator, environment, images, docker_api, registry_host, unique_name
):
    slow = SlowRegistry(registry_host, 2 * MB)
    try:
        name = unique_name("browser")
        push_image(images, docker_api, registry_host, name, layers=[4 * MB, 4 * MB])
        reference = f"{slow.host}/{name}:v1"
        browser_login(page, live_url, operator.username)

        page.goto(f"{live_url}/env/local/pulls/new/?reference={reference}")
        assert page.input_value("#id_reference") == reference
        page.click(".pull-form button[type=submit]")
        page.wait_for_url("**/pulls/*/")
        # What follows is drawn by the script from the stream: the server drew the page mid-way.
        assert page.eval_on_selector("#pull-overall", "bar => bar.value") < 100
        page.wait_for_function("() => document.querySelectorAll('#pull-layers progress').length > 0", timeout=20000)
        assert page.is_visible("#pull-cancel-form")  # an operator may cancel their running pull
        page.wait_for_function(ALL_BARS_FULL, timeout=30000)
        # Nothing left to cancel: the button goes with the end event, before the page reloads.
        assert not page.is_visible("#pull-cancel-form")
        assert "Downloaded newer image for" in page.inner_text("#pull-status-line")
        assert page.inner_text("#pull-digest").startswith("sha256:")
    finally:
        slow.close()


def test_a_pull_with_nothing_to_download_says_so_when_it_ends_not_waiting_for_the_engine(
    live_url, celery_worker_process, page, operator, environment, images, docker_api, registry_host, unique_name
):
    slow = SlowRegistry(registry_host, 2 * MB)
    try:
        name = unique_name("uptodate")
        push_image(images, docker_api, registry_host, name, layers=[MB])
        reference = f"{slow.host}/{name}:v1"
        docker_api.pull(reference)  # here already: pulling it again downloads nothing
        # The engine asks for the manifest first: held, the page is drawn while the pull runs.
        slow.manifest_delay = 3.0
        browser_login(page, live_url, operator.username)

        page.goto(f"{live_url}/env/local/pulls/new/?reference={reference}")
        page.click(".pull-form button[type=submit]")
        page.wait_for_url("**/pulls/*/")
        assert page.inner_text("#pull-layers tr.no-layers") == "Waiting for the engine…"
        page.evaluate("() => { window.drawnOnce = true; }")  # gone if the page reloads
        # The end event says it in this page, before the reload that draws the final page.
        page.wait_for_function(
            """() => window.drawnOnce === true
              && document.querySelector('#pull-job').dataset.status === 'succeeded'
              && document.querySelector('#pull-layers tr.no-layers').innerText === 'No layer was downloaded.'""",
            timeout=20000,
        )
        assert "Image is up to date for" in page.inner_text("#pull-status-line")
    finally:
        slow.close()
