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

So a page is never older than its data. The rest of the page (navigation, banners, the
filter form, CSRF tokens, messages) is drawn for each request, as before. Nothing here is
read by a write: confirmations and removals still check the live engine.
BERTH_KEPT_PAGES=0 draws every part every time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.utils.safestring import SafeString, mark_safe

from images_app.roles import Actor, permission_signature
from images_app.sizes_and_ages import ages_written_later, fill_ages

CSRF_FIELD = 'name="csrfmiddlewaretoken"'


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
    """The part kept under `key`, or `draw()`n now (and kept when it may be)."""
    if key is None:
        return mark_safe(draw().html)  # noqa: S308  (a template's output, escaped when drawn)
    store = caches["pages"]
    cache_key = key.cache_key()
    html = store.get(cache_key)
    if html is None:
        with ages_written_later() if key.shows_ages else nullcontext():
            drawn = draw()
        html = drawn.html
        # A form's CSRF token belongs to one viewer: a part with one is never shown to another.
        if drawn.keep and CSRF_FIELD not in html:
            store.set(cache_key, html)
    if key.shows_ages:
        html = fill_ages(html)
    return mark_safe(html)  # noqa: S308  (a template's output, escaped when drawn; ages are plain words)
