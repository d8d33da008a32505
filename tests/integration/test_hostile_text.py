"""Untrusted text in a real browser: whatever the engine, an index or a URL says shows as text, never runs.

The CSP (`script-src 'self'`) would stop an injected inline script by itself, so
checking `window.__pwned` alone could not fail. Each test therefore also asserts
that no injected element exists in the page (the escaping works) and that the
text is visible as the characters it is.
"""

from __future__ import annotations

import pytest

from images_app.models import Registry
from images_app.services.audit import audit_record
from tests.integration.conftest import browser_login
from tests.integration.support.fake_index import PlantedResult, start_fake_index

pytestmark = [pytest.mark.browser]

# No double quotes: the ImageFactory quotes LABEL values with them.
IMG = "<img src=x id=pwned-img onerror=window.__pwned=1>"
SCRIPT = "<script id=pwned-script>window.__pwned=2</script>"
CLOSER = "</code></td></table><b id=pwned-bold>x</b>"
PAYLOADS = (IMG, SCRIPT, CLOSER)


@pytest.fixture
def hostile_image(images, unique_name) -> tuple[str, str]:
    """An image whose label, ENV and a RUN step's created-by carry HTML; returns (repository, image ID)."""
    repository = unique_name("hostile")
    image_id = images.build(
        f"{repository}:v1",
        labels={"evil.img": IMG, "evil.script": SCRIPT, "evil.closer": CLOSER},
        extra_dockerfile=(f'ENV EVIL_ENV={IMG.replace(" ", "_")}\nRUN ["/bin/busybox", "true", "{IMG}", "{SCRIPT}"]'),
    )
    return repository, image_id


def watch(page) -> list[str]:
    """Record every dialog a page opens (an alert() would be the classic proof of XSS)."""
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def assert_inert(page, dialogs: list[str]) -> None:
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    for selector in ("#pwned-img", "#pwned-script", "#pwned-bold"):
        assert page.locator(selector).count() == 0, f"{selector} was injected into {page.url}"


def test_image_page_shows_hostile_labels_env_and_history_as_text(
    transactional_db, live_url, page, viewer, environment, hostile_image
):
    _repository, image_id = hostile_image
    dialogs = watch(page)
    browser_login(page, live_url, "vera")
    response = page.goto(f"{live_url}/env/local/images/{image_id.removeprefix('sha256:')[:12]}/")
    assert response.status == 200
    body = page.locator("main").inner_text()
    for payload in PAYLOADS:
        assert payload in body, f"{payload!r} is not shown as text"
    assert "EVIL_ENV=" + IMG.replace(" ", "_") in body
    # The created-by cell is truncated on screen; its title holds the whole instruction.
    assert page.locator("td.created-by", has_text=IMG).count() >= 1
    titles = page.locator("td.created-by code").evaluate_all("els => els.map(e => e.title)")
    assert any(IMG in t and SCRIPT in t for t in titles), titles
    assert_inert(page, dialogs)


def test_images_list_and_dashboard_show_hostile_text_as_text(
    transactional_db, live_url, page, viewer, environment, hostile_image
):
    repository, _image_id = hostile_image
    # An audit row naming a hostile target, as a failed action could record it.
    audit_record(action="pull_requested", outcome="failure", environment=environment, target_reference=IMG)
    dialogs = watch(page)
    browser_login(page, live_url, "vera")

    page.goto(f"{live_url}/env/local/images/")
    assert page.locator("main", has_text=repository).count() == 1
    assert_inert(page, dialogs)

    page.goto(f"{live_url}/env/local/")
    assert page.locator("main code", has_text=IMG).count() >= 1
    assert_inert(page, dialogs)


def test_filters_echoed_back_on_the_images_list_stay_text(transactional_db, live_url, page, viewer, environment):
    from urllib.parse import urlencode

    dialogs = watch(page)
    browser_login(page, live_url, "vera")
    # The label filter is echoed as a chip and in the form; the search text in the form.
    query = urlencode({"label": f"evil={IMG}", "q": SCRIPT})
    page.goto(f"{live_url}/env/local/images/?{query}")
    assert page.locator("main", has_text=f"evil={IMG}").count() == 1
    assert page.input_value("input[name=q]") == SCRIPT
    assert_inert(page, dialogs)
    # A hostile value the form refuses is echoed in the error page: still text.
    page.goto(f"{live_url}/env/local/images/?" + urlencode({"reference": IMG, "before": SCRIPT}))
    assert page.input_value("input[name=reference]") == IMG
    assert_inert(page, dialogs)


def test_search_results_with_hostile_names_and_descriptions_stay_text(
    transactional_db, live_url, page, viewer, admin_user, environment
):
    index = start_fake_index(
        PlantedResult(f"team/hostile{IMG}", f"hostile {SCRIPT} {CLOSER}", star_count=3),
        PlantedResult("team/hostile-plain", IMG, star_count=1),
    )
    try:
        Registry.objects.create(name="evil-index", url=index.host, created_by=admin_user)
        dialogs = watch(page)
        browser_login(page, live_url, "vera")
        page.goto(f"{live_url}/env/local/search/?term={index.host}/hostile")
        rows = page.locator("#search-table tbody tr")
        assert rows.count() == 2, page.locator("main").inner_text()
        names = page.locator("#search-table td.name").all_inner_texts()
        assert f"team/hostile{IMG}" in names
        assert page.locator("#search-table td.description", has_text=SCRIPT).count() == 1
        assert page.locator("#search-table td.description", has_text=CLOSER).count() == 1
        assert page.locator("#search-table td.description", has_text=IMG).count() == 1
        assert_inert(page, dialogs)
    finally:
        index.stop()


def test_an_engine_error_echoed_on_the_pull_and_audit_pages_stays_text(
    transactional_db, live_url, page, viewer, operator, environment
):
    from images_app.models import PullJob

    # Engines and registries echo what they were given in their errors: store it as a pull failure would.
    message = f"The pull failed: manifest for {IMG} not found {SCRIPT}"
    job = PullJob.objects.create(
        environment=environment,
        reference="localhost:5000/app:v1",
        requested_by=operator,
        status="failed",
        error_message=message,
        status_line=CLOSER,
    )
    event = audit_record(
        action="pull_failed", outcome="failure", environment=environment, pull_job=job, message=message, actor=operator
    )
    dialogs = watch(page)
    browser_login(page, live_url, "vera")
    page.goto(f"{live_url}/env/local/pulls/{job.pk}/")
    assert message in page.locator("main").inner_text()
    assert_inert(page, dialogs)
    page.goto(f"{live_url}/env/local/pulls/")
    assert_inert(page, dialogs)
    page.goto(f"{live_url}/audit/")
    assert_inert(page, dialogs)
    assert page.goto(f"{live_url}/audit/?pull_job={job.pk}").status == 200
    assert_inert(page, dialogs)
    assert page.goto(f"{live_url}/audit/{event.pk}/").status == 200
    assert message in page.locator("main").inner_text()
    assert_inert(page, dialogs)
