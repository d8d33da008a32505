"""Kept page parts (images_app.kept_pages): drawn once, shown again until what they show changes.

On the real engine with the inventory's keeper running (the list and the image page are kept only
while the inventory is current), and the history page, which is kept whatever the engine does.
"""

from __future__ import annotations

import os
import re
import signal
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from images_app import kept_pages
from images_app.models import AuditAction, PullJob, UpdateCheck, UpdateRun, WatchState
from images_app.services.audit import audit_record
from images_app.update_state import check_key
from tests.integration.support.pulls import push_image
from tests.integration.test_inventory import LIST_URL, build_listed, keeper, listed_references, wait_for  # noqa: F401  (keeper: a fixture)

pytestmark = pytest.mark.usefixtures("ages_read_at_one_moment")


@pytest.fixture
def ages_read_at_one_moment(monkeypatch):
    """Kept parts write their ages as at one moment: two pages of a test compare equal unless their data changed."""
    moment = timezone.now()
    monkeypatch.setattr(kept_pages, "ages_written_at", lambda: moment)


def _table(client, **query) -> str:
    """The list's table body (the page around it carries a fresh CSRF token each time)."""
    response = client.get(LIST_URL, query)
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index("<tbody>") : html.index("</tbody>")]


@pytest.mark.usefixtures("keeper")
def test_each_role_sees_its_own_actions_in_a_kept_table(
    environment, images, unique_name, viewer_client, operator_client
):
    repository = unique_name("kept-roles")
    build_listed(images, environment, f"{repository}:1")

    viewer_table = _table(viewer_client, q=repository)
    operator_table = _table(operator_client, q=repository)

    assert f'data-reference="{repository}:1"' in viewer_table and f'data-reference="{repository}:1"' in operator_table
    # The operator's rows can be selected for removal and pulled again; the viewer's, drawn first and kept, cannot.
    assert 'type="checkbox"' not in viewer_table and "/pulls/new/" not in viewer_table
    assert 'type="checkbox"' in operator_table and "/pulls/new/" in operator_table
    assert _table(viewer_client, q=repository) == viewer_table  # each kept for its own permissions


@pytest.mark.usefixtures("keeper")
def test_an_update_answer_stored_after_the_table_was_kept_shows_on_the_next_page(
    environment, images, unique_name, docker_api, registry_host, viewer_client
):
    name = unique_name("kept-update")
    push_image(images, docker_api, registry_host, name, layers=[1024], tag="1")
    repository = f"{registry_host}/{name}"
    docker_api.pull(repository, tag="1")  # now with the registry's digest, which an answer compares with
    wait_for(lambda: f"{repository}:1" in listed_references(environment), timeout=5)
    before = _table(viewer_client, q=repository)
    assert 'badge-update"' not in before and _table(viewer_client, q=repository) == before

    # What the worker's update check stores: the registry now serves another digest under the tag.
    key = check_key(f"{repository}:1")
    UpdateCheck.objects.create(
        registry=key.registry,
        repository=key.repository,
        tag=key.tag,
        remote_digest="sha256:" + "e" * 64,
        checked_at=timezone.now(),
    )

    after = _table(viewer_client, q=repository)
    assert after != before and 'badge-update"' in after


def test_an_event_written_after_the_history_was_kept_shows_on_the_next_page(admin_client, admin_user):
    audit_record(action=AuditAction.AUDIT_VERIFIED, outcome="info", actor=admin_user, message="first")
    first = admin_client.get("/audit/").content.decode()
    assert "first" in first and admin_client.get("/audit/").context is None  # kept, the whole page

    audit_record(action=AuditAction.AUDIT_VERIFIED, outcome="info", actor=admin_user, message="second event")

    response = admin_client.get("/audit/")
    assert response.context.get("page") is not None  # drawn again
    assert "second event" in response.content.decode()


@pytest.mark.usefixtures("keeper")
def test_with_kept_pages_off_every_page_draws_its_table(environment, viewer_client):
    with override_settings(BERTH_KEPT_PAGES=False):
        assert viewer_client.get(LIST_URL).context["listing"].prepared
        assert viewer_client.get(LIST_URL).context["listing"].prepared  # drawn again
    assert viewer_client.get(LIST_URL).context["listing"].prepared  # on again: drawn once...
    assert viewer_client.get(LIST_URL).context is None  # ...then kept, the whole page: no template drawn


def _drawn(response, parts=("images/_list_table.html", "images/_list_rows.html")) -> set[str]:
    return {template.name for template in response.templates if template.name in parts}


@pytest.mark.usefixtures("keeper")
def test_ages_are_written_as_they_read_on_each_page_without_drawing_anything_again(
    environment, images, unique_name, operator_client, monkeypatch
):
    repository = unique_name("kept-ages")
    build_listed(images, environment, f"{repository}:1")
    clock = [timezone.now()]
    monkeypatch.setattr(kept_pages, "ages_written_at", lambda: clock[0])

    first = operator_client.get(LIST_URL, {"q": repository})
    assert _drawn(first) == {"images/_list_table.html", "images/_list_rows.html"}
    clock[0] += timedelta(minutes=3)
    later = operator_client.get(LIST_URL, {"q": repository})
    assert _drawn(later) == set()  # time passing draws nothing again

    rows = [_between(r.content.decode(), f'data-reference="{repository}:1"', "</tr>") for r in (first, later)]
    ages = [row.split('<td class="created"', 1)[1].split("</time>", 1)[0].rsplit(">", 1)[1] for row in rows]
    assert re.fullmatch(r"(Less than a second|1 second|\d+ seconds) ago", ages[0]), ages[0]  # built just now
    assert ages[1] == "3 minutes ago"  # exact on every page, not as old as the drawing
    for html in (first.content.decode(), later.content.decode()):
        body = html[html.index('id="image-totals"') : html.index("</table>")]
        assert body.count(f'data-reference="{repository}:1"') == 1 and "berth:rows" not in body
        assert 'type="checkbox"' in body  # the operator's own rows, in the operator's own table
        assert "\ue000" not in html  # no mark left unwritten


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


@pytest.mark.usefixtures("keeper")
def test_the_lists_title_filters_and_watch_note_are_kept_per_viewer_query_and_watch(
    request, environment, viewer_client, operator_client
):
    watcher = request.getfixturevalue("keeper")  # its process is paused below
    outer = ("images/_list_heading.html", "images/_list_filters.html", "images/_watch_note.html")
    first = viewer_client.get(LIST_URL, {"q": "alpha", "sort": "size"})
    assert _drawn(first, outer) == set(outer)
    again = viewer_client.get(LIST_URL, {"q": "alpha", "sort": "size"})
    assert _drawn(again, outer) == set()  # all three kept
    assert again.content.decode().count('id="watch-note"') == 1

    # Another viewer role sees its own actions; another query, its own values in the form.
    operator_page = operator_client.get(LIST_URL, {"q": "alpha", "sort": "size"}).content.decode()
    viewer_page = again.content.decode()
    assert "Pull an image" in _between(operator_page, 'class="page-head"', "</div>")
    assert "Pull an image" not in _between(viewer_page, 'class="page-head"', "</div>")
    other = viewer_client.get(LIST_URL, {"q": "beta"})
    assert _drawn(other, outer) == {"images/_list_filters.html"}
    form = _between(other.content.decode(), 'id="image-filters"', "</form>")
    assert 'value="beta"' in form and 'value="alpha"' not in form and 'name="sort" value="created"' in form
    assert 'name="sort" value="size"' in _between(viewer_page, 'id="image-filters"', "</form>")

    # The note follows the watch: once the watcher's lease has lapsed, the note says no watcher runs.
    os.killpg(watcher.pid, signal.SIGSTOP)  # frozen: it cannot renew the lease
    try:
        WatchState.objects.filter(environment=environment).update(
            lease_expires_at=timezone.now() - timedelta(minutes=5)
        )
        stopped = viewer_client.get(LIST_URL, {"q": "alpha", "sort": "size"}).content.decode()
    finally:
        os.killpg(watcher.pid, signal.SIGCONT)  # so the fixture's SIGTERM is heard
    assert "no watcher is running now" in _between(stopped, 'id="watch-note"', "</p>")
    assert "no watcher is running now" not in _between(viewer_page, 'id="watch-note"', "</p>")


@pytest.mark.usefixtures("keeper")
def test_a_filter_the_engine_refuses_shows_its_error_beside_the_form_and_keeps_nothing_of_it(viewer_client):
    refused = viewer_client.get(LIST_URL, {"before": "no-such-image:1"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="filter-errors"' in html and 'value="no-such-image:1"' in _between(html, 'id="image-filters"', "</form>")
    assert viewer_client.get(LIST_URL, {"before": "no-such-image:1"}).status_code == 400  # and again


def _image_page(client, image_id: str) -> tuple[str, bool]:
    """The image page's content, and whether it was drawn for this request (not shown as kept)."""
    response = client.get(f"/env/local/images/{image_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    drawn = response.context is not None and "usage" in response.context  # None: the whole page was kept
    return html[html.index('<main class="content">') : html.index("</main>")], drawn


@pytest.mark.usefixtures("keeper")
def test_the_kept_image_page_follows_its_containers_and_its_history(
    environment, images, unique_name, start_container, admin_client, admin_user
):
    tag = f"{unique_name('kept-image')}:1"
    image_id = images.build(tag)
    wait_for(lambda: tag in listed_references(environment), timeout=5)
    first, drawn = _image_page(admin_client, image_id)
    assert drawn and "No container uses this image." in first
    assert _image_page(admin_client, image_id) == (first, False)  # kept

    container_id = start_container(tag, running=False)  # the inventory's next version lists it
    wait_for(lambda: f'data-container-id="{container_id}"' in _image_page(admin_client, image_id)[0], timeout=2)
    with_container, _ = _image_page(admin_client, image_id)
    assert f'data-container-id="{container_id}"' in with_container

    audit_record(
        action=AuditAction.AUDIT_VERIFIED,
        outcome="info",
        actor=admin_user,
        target_image_id=image_id,
        message="an event about this image",
    )
    with_event, drawn = _image_page(admin_client, image_id)
    assert drawn and "an event about this image" in with_event


def _token(html: str) -> str:
    """The CSRF token of the page's first form (the log-out button's)."""
    return html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]


@pytest.mark.usefixtures("keeper")
def test_a_kept_page_shows_each_viewer_their_name_and_a_token_of_their_own_that_works(make_user):
    # Two viewers: the same permissions, so the same parts; each page still names its own viewer.
    clients = {}
    for name in ("kept-vera", "kept-vic"):
        clients[name] = Client(enforce_csrf_checks=True)
        clients[name].force_login(make_user(name))
    vera, vic = clients["kept-vera"], clients["kept-vic"]
    assert vera.get(LIST_URL).context is not None  # drawn...
    kept = vera.get(LIST_URL)
    assert kept.context is None  # ...then kept whole
    other = vic.get(LIST_URL)
    assert "kept-vera" in kept.content.decode() and "kept-vic" not in kept.content.decode()
    assert "kept-vic" in other.content.decode() and "kept-vera" not in other.content.decode()

    html = kept.content.decode()
    assert "\ue002" not in html and "\ue000" not in html  # no mark left unwritten
    assert _token(html) != _token(vera.get(LIST_URL).content.decode())  # a token written for each request
    # The kept page's token is this viewer's own: the form it sits in works (a forged one does not).
    assert vic.post("/logout/", {"csrfmiddlewaretoken": _token(html)}).status_code == 403
    assert vera.post("/logout/", {"csrfmiddlewaretoken": _token(html)}).status_code == 302


@pytest.mark.usefixtures("keeper")
def test_a_message_is_shown_on_the_next_page_even_where_the_page_was_kept(operator_client):
    operator_client.get(LIST_URL)
    assert operator_client.get(LIST_URL).context is None  # kept
    saved = operator_client.post(reverse("notification_preferences"), {"pull_failed": "on"})
    assert saved.status_code == 302

    with_message = operator_client.get(LIST_URL)
    assert "Your notification choices are saved." in with_message.content.decode()  # drawn, the message used up
    after = operator_client.get(LIST_URL)
    assert "Your notification choices are saved." not in after.content.decode()
    assert after.context is None  # and the page kept again


@pytest.mark.usefixtures("keeper")
def test_a_kept_page_follows_the_running_pulls_and_the_update_check(environment, operator, operator_client):
    operator_client.get(LIST_URL)
    assert operator_client.get(LIST_URL).context is None
    job = PullJob.objects.create(
        environment=environment, reference="kept/banner:1", requested_by=operator, status=PullJob.Status.RUNNING
    )
    assert "kept/banner:1" in _between(operator_client.get(LIST_URL).content.decode(), "<main", "</main>")
    PullJob.objects.filter(pk=job.pk).update(status=PullJob.Status.SUCCEEDED)
    assert "kept/banner:1" not in operator_client.get(LIST_URL).content.decode()

    UpdateRun.objects.update_or_create(
        environment=environment, defaults={"started_at": timezone.now() - timedelta(hours=3), "finished_at": None}
    )
    checking = _between(operator_client.get(LIST_URL).content.decode(), 'id="update-bar"', "</div>")
    assert "3 hours ago" in checking and "checking" in checking
