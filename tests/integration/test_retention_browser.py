"""In a real browser: an admin defines a retention policy, previews it and runs it as a request for approval.

The web server serves an engine of this module's own ("priv"): a policy acts on every image of its engine.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from images_app.models import CleanupRequest, RetentionPolicy
from tests.integration.conftest import browser_login, start_web_server
from tests.integration.support.retention import priv_environment, private_engine_host
from tooling.old_images import load_old_image
from tooling.scratch_images import build_scratch_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE_NAME = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def engine_host():
    with private_engine_host("-p") as host:
        yield host


@pytest.fixture(scope="module")
def priv_url(django_db_setup, django_db_blocker, engine_host, process_dir):
    """uvicorn serving Berth with that engine as its only environment, on the test database."""
    proc, url = start_web_server(
        process_dir, {"BERTH_ENVIRONMENTS": f"priv={engine_host}", "BERTH_DEFAULT_ENVIRONMENT": "priv"}
    )
    yield url
    proc.stop()


@pytest.fixture
def priv(transactional_db, engine_host):
    with priv_environment(engine_host) as environment_and_api:
        yield environment_and_api


@pytest.fixture
def fleet(priv):
    """Three tags of repository app, one kept by its label, the newest run by a container; one other repository."""
    _, api = priv
    ids = {
        "app1": load_old_image(api, "app:1", datetime(2024, 1, 1, tzinfo=UTC), size=400_000),
        "app2": load_old_image(api, "app:2", datetime(2024, 2, 1, tzinfo=UTC), size=800_000),
        "app3": load_old_image(
            api, "app:3", datetime(2024, 3, 1, tzinfo=UTC), size=200_000, labels={"berth.keep": "true"}
        ),
        "app4": build_scratch_image(api, "app:4", layers=[100_000], labels={"n": "app4"}),
        "other": load_old_image(api, "other:1", datetime(2024, 1, 1, tzinfo=UTC), size=100_000),
    }
    container = api.create_container(
        ids["app4"], command=["/bin/busybox", "sleep", "600"], host_config=api.create_host_config(network_mode="none")
    )
    api.start(container["Id"])
    return ids


def test_an_admin_defines_previews_and_runs_an_ask_policy(priv_url, page, admin_user, priv, fleet):
    _, api = priv
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:  # a script the page ran by mistake would show up here
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    browser_login(page, priv_url, admin_user.username)

    page.goto(priv_url + "/policies/")
    page.click("a:text-is('New policy')")
    page.wait_for_url("**/policies/new/")
    page.fill("#id_name", HOSTILE_NAME)
    page.select_option("#id_environment", label="priv")
    page.fill("#id_keep_newest", "1")
    page.fill("#id_exclude_labels", "berth.keep=true")
    page.select_option("#id_action", "ask")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.click("#policy-form button[type=submit]")
    page.wait_for_load_state()
    # A form error in the page, the value shown back as text (never run), nothing saved.
    assert refused.value.status == 400
    assert "slug" in page.locator("#policy-form .errorlist").first.inner_text()
    assert page.input_value("#id_name") == HOSTILE_NAME
    assert page.locator("#policy-form img").count() == 0 and dialogs == []
    assert not RetentionPolicy.objects.exists()

    page.fill("#id_name", "tidy-app")  # the other fields kept what was typed
    page.click("#policy-form button[type=submit]")
    page.wait_for_url(priv_url + "/policies/")
    assert "Policy tidy-app saved" in page.inner_text(".messages")
    page.locator("#policies-table tr[data-policy='tidy-app']").get_by_role("link", name="priv").click()
    page.wait_for_url("**/policies/*/preview/priv/")

    # The verdicts: each image with the rule or exclusion that decided it.
    why = {name: page.locator(f"#preview-table tr[data-image-id='{image_id}']") for name, image_id in fleet.items()}
    expected = {
        "app1": ("remove", "older than the newest 1 tags of app"),
        "app2": ("remove", "older than the newest 1 tags of app"),
        "app3": ("keep", "excluded by label berth.keep=true"),
        "app4": ("keep", "in use by 1 running container (never removed)"),
        "other": ("keep", "no rule picks it"),
    }
    assert {
        name: (row.get_attribute("data-decision"), row.locator("td.why").inner_text()) for name, row in why.items()
    } == expected
    assert page.locator("#preview-table tbody tr").count() == len(fleet)

    # The totals, the bytes freed as the engine's disk report counts them.
    unique = {i["Id"]: i["Size"] - i["SharedSize"] for i in api.df()["Images"]}
    freed = unique[fleet["app1"]] + unique[fleet["app2"]]
    totals = page.locator("#preview-totals .stat")
    labels, values = totals.locator(".label").all_inner_texts(), totals.locator(".value").all_inner_texts()
    counts = [("images removed", "2"), ("untagged (other tags keep them)", "0"), ("kept", "3")]
    assert list(zip(labels, values, strict=True))[:3] == counts
    assert page.get_attribute("#bytes-freed", "title") == f"{freed} bytes"
    for name in ("app1", "app2"):
        assert why[name].locator("td.freed").get_attribute("data-bytes") == str(unique[fleet[name]])

    run_now = page.locator("#policy-run button[type=submit]")
    assert run_now.inner_text() == "Run now: ask for approval of exactly this"
    run_now.click()
    page.wait_for_url(re.compile(r".*/requests/\d+/$"))
    request = CleanupRequest.objects.get()
    assert page.url == f"{priv_url}/requests/{request.pk}/"
    assert page.inner_text("#request-status") == "pending"
    assert f"Policy tidy-app ran: Request #{request.pk} created for an admin to approve" in page.inner_text(".messages")
    assert request.status == CleanupRequest.Status.PENDING and request.requested_by == admin_user
    assert {item["image_id"] for item in request.items} == {fleet["app1"], fleet["app2"]}
    assert {image["Id"] for image in api.images()} == set(fleet.values())  # asked, nothing removed
    assert dialogs == []
