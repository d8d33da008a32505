"""Kept page parts: when a part is drawn, kept and shown again (images_app.kept_pages)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.template import Context, Template
from django.test import override_settings

from images_app import kept_pages
from images_app.kept_pages import AGE_STEP_SECONDS, Drawn, PartKey, kept_part, part_key


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


def test_ages_are_drawn_again_once_per_step_and_parts_without_ages_are_not():
    start = 1_000 * AGE_STEP_SECONDS
    with_ages, without = key(), key(shows_ages=False)
    assert with_ages.cache_key(start) == with_ages.cache_key(start + AGE_STEP_SECONDS - 0.001)
    assert with_ages.cache_key(start) != with_ages.cache_key(start + AGE_STEP_SECONDS)
    assert without.cache_key(start) == without.cache_key(start + 100 * AGE_STEP_SECONDS)


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
    assert made.cache_key(0.0).startswith("history-events:")


def test_the_token_guard_recognises_what_djangos_csrf_tag_writes():
    written = Template("{% csrf_token %}").render(Context({"csrf_token": "abc"}))
    assert kept_pages.CSRF_FIELD in written
