"""The heavy part of a page, drawn once and kept in each web process while what it shows is unchanged.

Most requests for a list see the same data as the one before: under load, drawing the same
rows again was most of every page's CPU, and a page waited behind the others' drawing
(bench.load). A part is kept under a key naming everything it was drawn from:

- a stamp of its data, from the selectors that read it (the inventory object in use, the
  newest stored update answer, the newest history event...): any change is a new stamp;
- the request's query string and the viewer's permissions (the buttons it shows).

A part that shows ages ("5 minutes ago") is drawn with marks in their place, and the ages are
written each time it is shown (sizes_and_ages.fill_ages): exact on every page, and the part is
not drawn again only because time passed (it was, every 10 s, in each process: a page that
paid for it took 3-5x its usual CPU, bench.load).

A whole page is kept the same way (kept_page) when its view names everything else it shows:
the banners' data, and the page's shell (outer_stamp: the navigation's environment, section
and pending approvals, the viewer's name and role, the time zone). Its forms' CSRF token is
drawn as a mark too and written with the request's own token each time the page is shown; a
page drawn with any other token in it is not kept, and a request with messages to show draws
its page (showing them uses them up). Under load, drawing the page around its kept parts was
half of a page's CPU (bench.load).

So a page is never older than its data. Nothing here is read by a write: confirmations and
removals still check the live engine. BERTH_KEPT_PAGES=0 draws every part every time.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from images_app.context_processors import berth
from images_app.roles import Actor, permission_signature
from images_app.sizes_and_ages import AgedText, ages_written_later, fill_ages, writing_ages_later

CSRF_FIELD = 'name="csrfmiddlewaretoken"'
# A kept page's forms hold this in place of the CSRF token; each showing writes the request's own.
# Private-use characters around a number of this process's own, as the age marks: escaping leaves
# it as it is, and no text from an image label or a user can pass for it.
CSRF_MARK = f"\ue002{secrets.token_hex(8)}\ue003"
_MARKED_CSRF_FIELD = f'{CSRF_FIELD} value="{CSRF_MARK}"'


@dataclass(frozen=True)
class PartKey:
    """What a kept part was drawn from."""

    part: str  # which part of which page, e.g. "images-table"
    stamp: tuple[Hashable, ...]
    query: str  # the request's query string (filters, sort, page)
    permissions: str  # permission_signature of the viewer
    shows_ages: bool = False  # drawn with age marks, written when shown

    def cache_key(self) -> str:
        # repr of ints, strings, datetimes and tuples of them is stable within a process.
        digest = hashlib.blake2b(repr((self.stamp, self.query, self.permissions)).encode(), digest_size=16)
        return f"{self.part}:{digest.hexdigest()}"


@dataclass(frozen=True)
class Drawn:
    html: str
    keep: bool  # False for a part that says something went wrong: draw it again next time


def part_key(
    part: str, stamp_of: Callable[[], tuple[Hashable, ...] | None], query: str, user: Actor, *, shows_ages: bool
) -> PartKey | None:
    """The key of a part, or None when it must be drawn for this request only (`stamp_of()` says None).

    Call it before drawing: the part then shows data as new as its stamp or newer, never older.
    """
    if not settings.BERTH_KEPT_PAGES:
        return None
    stamp = stamp_of()
    if stamp is None:
        return None
    return PartKey(part, stamp, query, permission_signature(user), shows_ages)


def kept_part(key: PartKey | None, draw: Callable[[], Drawn]) -> SafeString:
    """The part kept under `key`, or `draw()`n now (and kept when it may be).

    Inside a page being drawn to be kept (kept_page), its ages stay marks: the page writes them.
    """
    in_kept_page = writing_ages_later()
    if key is None:
        return mark_safe(draw().html)  # noqa: S308  (a template's output, escaped when drawn)
    store = caches["pages"]
    cache_key = key.cache_key()
    html = store.get(cache_key)
    if html is None:
        with ages_written_later(key.shows_ages):
            drawn = draw()
        html = drawn.html
        # A form's CSRF token belongs to one viewer: a part with one is never shown to another.
        if drawn.keep and CSRF_FIELD not in html:
            store.set(cache_key, html)
    if key.shows_ages and not in_kept_page:
        html = fill_ages(html, ages_written_at())
    return mark_safe(html)  # noqa: S308  (a template's output, escaped when drawn; ages are plain words)


def ages_written_at() -> datetime:
    """The moment the ages of a part or page shown now read at (tests set it)."""
    return timezone.now()


# --- whole pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageDraft:
    """What a view hands kept_page to draw: its template and context, and whether the page may be kept."""

    template: str
    context: dict[str, Any]
    status: int = 200
    keep: bool = True  # False for a page that says something went wrong


def outer_stamp(request: HttpRequest) -> tuple[Hashable, ...]:
    """What the shell around every page shows besides the viewer's permissions.

    The navigation (environment, section, pending approvals), the sandbox and read-only banners
    and the viewer's role: the context processor's own answer; then the viewer's name, the time
    zone dates are shown in, and the prefix every URL starts with.
    """
    shell = berth(request)
    return (
        tuple(sorted(shell.items())),
        request.user.get_username(),
        timezone.get_current_timezone_name(),
        get_script_prefix(),
    )


def page_key(page: str, stamp_of: Callable[[], tuple[Hashable, ...] | None], request: HttpRequest) -> PartKey | None:
    """The key of a whole page, or None when it is drawn for this request only.

    `stamp_of()` names everything the page's own template shows (its kept parts' keys, its
    banners' data); None when some of it cannot be kept. A request with messages to show draws
    its page: showing them uses them up.
    """
    if not settings.BERTH_KEPT_PAGES or get_messages(request):
        return None
    stamp = stamp_of()
    if stamp is None:
        return None
    return PartKey(
        page,
        (stamp, outer_stamp(request)),
        request.GET.urlencode(),
        permission_signature(request.user),
        shows_ages=True,
    )


def kept_page(request: HttpRequest, key: PartKey | None, draft_of: Callable[[], PageDraft]) -> HttpResponse:
    """The page kept under `key` with this request's CSRF token and ages written in, or drawn now."""
    if key is None:
        draft = draft_of()
        return render(request, draft.template, draft.context, status=draft.status)
    store = caches["pages"]
    cache_key = key.cache_key()
    kept: _KeptPage | None = store.get(cache_key)
    if kept is None:
        with ages_written_later():
            draft = draft_of()
            html = render_to_string(draft.template, {**draft.context, "csrf_token": CSRF_MARK}, request)
        kept = _KeptPage.of(draft.status, html)
        # Kept only when every form holds the mark: a real token belongs to one viewer.
        if draft.keep and html.count(CSRF_FIELD) == html.count(_MARKED_CSRF_FIELD):
            store.set(cache_key, kept)
    return HttpResponse(kept.shown(request), status=kept.status)


@dataclass(frozen=True)
class _KeptPage:
    """A whole page as kept: split once at its CSRF marks and age marks, written in at each showing."""

    status: int
    between_tokens: tuple[AgedText, ...]  # the page's text around its CSRF marks

    @classmethod
    def of(cls, status: int, html: str) -> _KeptPage:
        return cls(status, tuple(AgedText.of(text) for text in html.split(CSRF_MARK)))

    def shown(self, request: HttpRequest) -> str:
        now = ages_written_at()
        texts = [text.written(now) for text in self.between_tokens]
        # get_token only for a page with forms: it also sends the CSRF cookie.
        return get_token(request).join(texts) if len(texts) > 1 else texts[0]
