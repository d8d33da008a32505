"""Kept page parts: when a part is drawn, kept and shown again (images_app.kept_pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.template import Context, Template
from django.test import override_settings

from images_app import kept_pages
from images_app.kept_pages import Drawn, PartKey, kept_part, part_key
from images_app.sizes_and_ages import shown_age


@pytest.fixture(autouse=True)
def empty_store():
    caches["pages"].clear()
    yield
    caches["pages"].clear()


class Drawer:
    """Draws `html` and counts how often it was asked to."""

    def __init__(self, html: str = "<table>rows</table>", keep: bool = True) -> None:
        self.html, self.keep, self.count = html, keep, 0

    def __call__(self) -> Drawn:
        self.count += 1
        return Drawn(self.html, self.keep)


def key(**changes) -> PartKey:
    fields = {"part": "images-table", "stamp": (1, 7, None), "query": "q=app", "permissions": "", "shows_ages": True}
    return PartKey(**(fields | changes))


def test_a_part_is_drawn_once_then_shown_as_kept():
    draw = Drawer()
    assert kept_part(key(), draw) == "<table>rows</table>"
    assert kept_part(key(), draw) == "<table>rows</table>"
    assert draw.count == 1


@pytest.mark.parametrize(
    "change",
    [{"stamp": (1, 8, None)}, {"query": "q=app&page=2"}, {"permissions": "images_app.remove_image"}, {"part": "other"}],
)
def test_any_change_of_what_a_part_was_drawn_from_draws_it_again(change):
    draw = Drawer()
    kept_part(key(), draw)
    kept_part(key(**change), draw)
    assert draw.count == 2


class AgeDrawer(Drawer):
    """Draws a cell with an age, as the `age` filter and the rows' markup write it."""

    def __init__(self, moment: datetime) -> None:
        super().__init__()
        self.moment = moment

    def __call__(self) -> Drawn:
        self.count += 1
        return Drawn(f'<td title="checked {shown_age(self.moment)}">{shown_age(self.moment)}</td>', True)


def test_a_kept_part_writes_its_ages_as_they_read_each_time_it_is_shown(monkeypatch):
    clock = [datetime(2026, 12, 3, 8, 0, tzinfo=UTC)]
    monkeypatch.setattr("images_app.sizes_and_ages.timezone.now", lambda: clock[0])
    draw = AgeDrawer(clock[0] - timedelta(seconds=5))
    assert kept_part(key(), draw) == '<td title="checked 5 seconds ago">5 seconds ago</td>'
    clock[0] += timedelta(minutes=3)
    assert kept_part(key(), draw) == '<td title="checked 3 minutes ago">3 minutes ago</td>'
    assert draw.count == 1  # time passing draws nothing again


def test_a_part_without_ages_or_not_kept_gets_its_ages_written_when_drawn(monkeypatch):
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    monkeypatch.setattr("images_app.sizes_and_ages.timezone.now", lambda: now)
    moment = now - timedelta(hours=3)
    assert kept_part(None, AgeDrawer(moment)) == '<td title="checked 3 hours ago">3 hours ago</td>'
    assert kept_part(key(shows_ages=False), AgeDrawer(moment)) == '<td title="checked 3 hours ago">3 hours ago</td>'


def test_a_part_that_says_something_failed_is_drawn_again_next_time():
    draw = Drawer(keep=False)
    kept_part(key(), draw)
    kept_part(key(), draw)
    assert draw.count == 2


def test_a_part_holding_a_form_token_is_never_kept():
    # Another viewer must never be shown this viewer's CSRF token.
    draw = Drawer('<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="abc"></form>')
    kept_part(key(), draw)
    kept_part(key(), draw)
    assert draw.count == 2


def test_no_key_draws_every_time():
    draw = Drawer()
    kept_part(None, draw)
    kept_part(None, draw)
    assert draw.count == 2


def test_a_part_without_a_stamp_is_not_kept():
    assert part_key("images-table", lambda: None, "", AnonymousUser(), shows_ages=True) is None


def test_kept_pages_off_asks_for_no_stamp_and_keeps_nothing():
    def stamp():
        raise AssertionError("no stamp is read when parts are not kept")

    with override_settings(BERTH_KEPT_PAGES=False):
        assert part_key("images-table", stamp, "", AnonymousUser(), shows_ages=True) is None


def test_the_key_names_the_part_and_the_viewers_permissions():
    made = part_key("history-events", lambda: (5, 1, None), "actor=ann", AnonymousUser(), shows_ages=False)
    assert made == PartKey("history-events", (5, 1, None), "actor=ann", "", False)
    assert made.cache_key().startswith("history-events:")


def test_the_token_guard_recognises_what_djangos_csrf_tag_writes():
    written = Template("{% csrf_token %}").render(Context({"csrf_token": "abc"}))
    assert kept_pages.CSRF_FIELD in written
