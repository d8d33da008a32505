"""The pages speak what the watcher knows: the Last used column, unused_for=, the image's use, the horizon."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from images_app import engine
from images_app.models import ImageUsage, ImageUse, WatchState
from tests.integration.support.inventory import LABEL, new_run_label
from tooling.old_images import load_old_image

URL = "/env/local/images/"
OLD = datetime(2024, 1, 2, tzinfo=UTC)


def _cells(html: str) -> dict[str, str]:
    """Reference -> text of the Last used cell, for every row on the page."""
    pattern = r'<tr data-image-id="[^"]+" data-reference="([^"]+)".*?<td class="last-used[^"]*"[^>]*>(.*?)</td>'
    rows = re.findall(pattern, html)
    return {ref: re.sub(r"<[^>]+>", "", text) for ref, text in rows}


@pytest.fixture
def watched(environment):
    def watch(days: int) -> WatchState:
        state, _ = WatchState.objects.get_or_create(environment=environment)
        state.watched_since = timezone.now() - timedelta(days=days)
        state.save()
        return state

    return watch


@pytest.fixture
def fleet(environment, images, docker_api, unique_name, start_container):
    """Four images of one test: old and never seen used, old and used 3 days ago, fresh, running."""
    value, label = new_run_label()
    repo = unique_name("use")
    ids = {
        "idle": load_old_image(docker_api, f"{repo}:idle", OLD, labels={LABEL: value}),
        "recent": load_old_image(docker_api, f"{repo}:recent", OLD, labels={LABEL: value}),
        "fresh": images.build(f"{repo}:fresh", busybox=False, labels={LABEL: value}),
        "running": images.build(f"{repo}:running", labels={LABEL: value}),
    }
    images.created += [ids["idle"], ids["recent"]]
    start_container(ids["running"], running=True)
    ImageUsage.objects.create(
        environment=environment,
        image_id=ids["recent"],
        last_used_at=timezone.now() - timedelta(days=3),
        last_container_name="nightly-job",
        last_container_id="c" * 64,
    )
    return {"repo": repo, "label": label, **ids}


def test_last_used_says_in_use_now_a_time_never_or_unknown_before_the_horizon(viewer_client, fleet, watched):
    horizon = watched(60).watched_since
    html = viewer_client.get(URL, {"q": fleet["repo"]}).content.decode()
    cells = _cells(html)
    repo = fleet["repo"]
    assert cells[f"{repo}:running"] == "in use now"
    assert cells[f"{repo}:recent"] == "3 days ago"
    assert cells[f"{repo}:fresh"] == "never"
    assert cells[f"{repo}:idle"] == f"unknown before {timezone.localtime(horizon):%Y-%m-%d %H:%M}"
    assert "has watched this engine since" in html


def test_without_any_watch_last_used_is_unknown_and_the_page_says_why(viewer_client, fleet):
    html = viewer_client.get(URL, {"q": fleet["repo"]}).content.decode()
    assert set(_cells(html).values()) == {"unknown"}
    assert "has never watched this engine" in html


def test_unused_for_keeps_only_images_watched_unused_that_long(viewer_client, fleet, watched):
    watched(60)
    rows = viewer_client.get(URL, {"q": fleet["repo"], "unused_for": "30d"}).context["rows"]
    assert [r.image.id for r in rows] == [fleet["idle"]]
    rows = viewer_client.get(URL, {"q": fleet["repo"], "unused_for": "2d"}).context["rows"]
    assert {r.image.id for r in rows} == {fleet["idle"], fleet["recent"]}


def test_an_image_is_not_unused_for_30d_when_the_watch_began_10_days_ago(viewer_client, fleet, watched):
    watched(10)
    response = viewer_client.get(URL, {"q": fleet["repo"], "unused_for": "30d"})
    assert response.status_code == 200
    assert list(response.context["rows"]) == []
    # ... but it is for 7 days, which the watch covers.
    rows = viewer_client.get(URL, {"q": fleet["repo"], "unused_for": "7d"}).context["rows"]
    assert [r.image.id for r in rows] == [fleet["idle"]]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sorting_by_last_used_puts_running_first_and_unknown_last_when_descending(viewer_client, fleet, watched, order):
    watched(60)
    rows = viewer_client.get(URL, {"q": fleet["repo"], "sort": "last_used", "order": order}).context["rows"]
    names = [r.tag for r in rows]
    expected = ["running", "recent"]
    assert names[:2] == expected if order == "desc" else names[-2:] == list(reversed(expected))


@pytest.mark.parametrize("value", ["30", "30x", "-1d", "0d", "99999d", "1d;drop", "🙂"])
def test_a_malformed_unused_for_is_a_400_form_error(viewer_client, environment, value):
    response = viewer_client.get(URL, {"unused_for": value})
    assert response.status_code == 400
    assert "unused_for=" in response.content.decode()


def test_the_last_used_column_costs_no_engine_call(viewer_client, fleet, watched):
    watched(60)
    viewer_client.get(URL)
    before = engine.api_request_count()
    viewer_client.get(URL, {"q": fleet["repo"], "sort": "last_used", "unused_for": "1d"})
    assert engine.api_request_count() - before == 2


def test_the_image_page_shows_its_use_history_newest_first(viewer_client, fleet, watched, environment):
    watched(60)
    now = timezone.now()
    for minutes, action in ((30, "create"), (29, "start"), (5, "die")):
        moment = now - timedelta(minutes=minutes)
        ImageUse.objects.create(
            environment=environment,
            image_id=fleet["fresh"],
            container_id="d" * 64,
            container_name="batch-7",
            action=action,
            time_nano=int(moment.timestamp() * 1e9),
            used_at=moment,
        )
    ImageUsage.objects.create(
        environment=environment, image_id=fleet["fresh"], last_used_at=now - timedelta(minutes=5),
        last_container_name="batch-7", last_container_id="d" * 64,
    )  # fmt: skip
    html = viewer_client.get(f"/env/local/images/{fleet['fresh'][7:19]}/").content.decode()
    section = html[html.index('id="image-use"') :]
    assert "Last used <strong" in section and "batch-7" in section
    assert re.findall(r"<td>(stopped|started|created a container)</td>", section) == [
        "stopped",
        "started",
        "created a container",
    ]


def test_the_image_page_says_unknown_before_the_horizon_for_an_old_unused_image(viewer_client, fleet, watched):
    horizon = watched(60).watched_since
    html = viewer_client.get(f"/env/local/images/{fleet['idle'][7:19]}/").content.decode()
    assert f"unknown before {timezone.localtime(horizon):%Y-%m-%d %H:%M}" in html


def test_the_dashboard_shows_the_watched_since_horizon(viewer_client, environment, watched):
    horizon = watched(12).watched_since
    html = viewer_client.get("/env/local/").content.decode()
    assert f"{timezone.localtime(horizon):%Y-%m-%d %H:%M}" in html
    assert "no watcher is running now" in html  # the row has no live lease
