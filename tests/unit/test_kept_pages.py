"""Kept page parts: when a part is drawn, kept and shown again (images_app.kept_pages)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import INFO
from django.contrib.messages.storage.base import Message
from django.core.cache import caches
from django.middleware.csrf import _does_token_match  # the check CsrfViewMiddleware makes
from django.template import Context, Template
from django.template.context import make_context
from django.test import RequestFactory, override_settings
from django.utils import timezone

from images_app import kept_pages
from images_app.kept_pages import Drawn, PageDraft, PartKey, kept_page, kept_part, page_key, part_key
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


# --- whole pages (kept_page) ---------------------------------------------------------------------


@pytest.fixture
def page_templates(monkeypatch):
    """Templates by name, drawn as Django draws a page's: with the request's context processors."""
    texts: dict[str, str] = {}

    def render(name, context, request):
        return Template(texts[name]).render(make_context(context, request))  # as render_to_string does

    monkeypatch.setattr(kept_pages, "render_to_string", render)
    return texts


class PageDrawer:
    """A view's draft of page "page", counting how often it was asked for."""

    def __init__(self, context=None, *, status: int = 200, keep: bool = True) -> None:
        self.context, self.status, self.keep, self.count = context or {}, status, keep, 0

    def __call__(self) -> PageDraft:
        self.count += 1
        return PageDraft("page", self.context, self.status, self.keep)


def page_request(**query):
    request = RequestFactory().get("/env/local/images/", query)
    request.user = AnonymousUser()
    return request


def test_a_page_is_drawn_once_then_shown_with_each_requests_own_csrf_token(page_templates):
    page_templates["page"] = "<form>{% csrf_token %}</form><form>{% csrf_token %}</form>"
    draw = PageDrawer()
    pages = []
    for _ in range(2):
        request = page_request()
        html = kept_page(request, page_key("list", lambda: (1,), request), draw).content.decode()
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]*)"', html)
        assert len(tokens) == 2 and tokens[0] == tokens[1]  # one token a page, as Django draws it
        assert _does_token_match(tokens[0], request.META["CSRF_COOKIE"])  # this request's own
        pages.append(tokens[0])
    assert draw.count == 1 and pages[0] != pages[1]


def test_a_kept_page_writes_its_ages_and_its_kept_parts_ages_each_time_it_is_shown(page_templates, monkeypatch):
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    page_templates["page"] = "{% load berth %}<p>{{ part }}</p><p>{{ moment|age }}</p>"
    part = AgeDrawer(moment)
    draw = PageDrawer({"moment": moment})
    draw.context["part"] = kept_part(key(), part)  # kept before, as a part of another page

    def draft() -> PageDraft:
        draw.context["part"] = kept_part(key(), part)
        return draw()

    clock = [moment + timedelta(minutes=5)]
    monkeypatch.setattr(kept_pages, "ages_written_at", lambda: clock[0])
    request = page_request()
    first = kept_page(request, page_key("list", lambda: (1,), request), draft).content.decode()
    clock[0] += timedelta(hours=3)
    later = kept_page(request, page_key("list", lambda: (1,), request), draft).content.decode()
    assert first.count("5 minutes ago") == 3 and later.count("3 hours ago") == 3  # the part's two, the page's one
    assert draw.count == 1 and part.count == 1


def test_a_page_with_a_real_token_in_it_is_never_kept(page_templates):
    # A part drawn with the request's own token (kept_part never keeps it) ends up in the page.
    page_templates["page"] = "{{ part|safe }}<form>{% csrf_token %}</form>"
    draw = PageDrawer({"part": '<input type="hidden" name="csrfmiddlewaretoken" value="real">'})
    for _ in range(2):
        request = page_request()
        kept_page(request, page_key("list", lambda: (1,), request), draw)
    assert draw.count == 2


def test_a_page_that_says_something_failed_is_drawn_again_with_its_status(page_templates):
    page_templates["page"] = "<p>refused</p>"
    draw = PageDrawer(status=400, keep=False)
    for _ in range(2):
        request = page_request()
        assert kept_page(request, page_key("list", lambda: (1,), request), draw).status_code == 400
    assert draw.count == 2


def test_a_request_with_messages_to_show_draws_its_page():
    request = page_request()
    request._messages = [Message(INFO, "Saved.")]  # as MessageMiddleware's storage, with one message
    assert page_key("list", lambda: (1,), request) is None


def test_the_page_key_follows_its_stamp_query_and_shell():
    def key_of(request, stamp=(1,)):
        return page_key("list", lambda: stamp, request).cache_key()

    plain = key_of(page_request())
    assert key_of(page_request()) == plain
    assert key_of(page_request(), stamp=(2,)) != plain
    assert key_of(page_request(q="app")) != plain
    with timezone.override("Europe/Paris"):  # the page's dates are written in it
        assert key_of(page_request()) != plain
    with override_settings(BERTH_READ_ONLY=True):  # the shell's banner
        assert key_of(page_request()) != plain


def test_a_part_kept_without_ages_inside_a_kept_page_holds_no_age_marks(page_templates):
    # Such a part may later be shown outside a page that writes ages: it must not hold marks.
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    page_templates["page"] = "{{ part }}"

    def draft() -> PageDraft:
        return PageDraft("page", {"part": kept_part(key(shows_ages=False), AgeDrawer(moment))})

    request = page_request()
    kept_page(request, page_key("list", lambda: (1,), request), draft)
    alone = kept_part(key(shows_ages=False), AgeDrawer(moment))  # kept, now shown alone
    assert "ago" in alone and "\ue000" not in alone
