"""Sizes and ages written the way the Docker CLI writes them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

_DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]


def human_size(size: int | float | None) -> str:
    """Decimal units with three significant digits, as `docker image ls` ("77.9MB", "1.23GB")."""
    if size is None:
        return ""
    value = float(size)
    if value < 0:
        return "-" + human_size(-value)
    unit = 0
    while value >= 1000 and unit < len(_DECIMAL_UNITS) - 1:
        value /= 1000
        unit += 1
    text = f"{value:.3g}"
    if "e" in text:  # 3 significant digits of 999.5 round up to "1e+03"
        text = f"{value:.0f}"
    return f"{text}{_DECIMAL_UNITS[unit]}"


def human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration: "Less than a second", "About an hour", "5 months"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def human_age(moment: datetime | None, now: datetime | None = None) -> str:
    """`5 months ago`, as the CLI's CREATED column."""
    if moment is None:
        return "N/A"
    now = now or timezone.now()
    return f"{human_duration((now - moment).total_seconds())} ago"


# --- ages written when a kept part is shown, not when it is drawn ----------------------------
#
# A kept page part (images_app.kept_pages) is drawn once and shown for many requests. The ages it
# shows ("5 minutes ago") are drawn as marks holding their moment, and written anew each time the
# part is shown: exact on every page, and the part is never drawn again only because time passed.
# A mark is two private-use characters around a number of this process's own (unguessable, so no
# text from an image label or a user can pass for one) and the moment; escaping leaves all of them
# as they are, so a mark can stand in a text or in an attribute.

_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_MARK_NONCE = secrets.token_hex(8)
_MARK = re.compile(f"{_MARK_OPEN}{_MARK_NONCE}:(-?[0-9]+){_MARK_CLOSE}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_writing_ages_later: ContextVar[bool] = ContextVar("berth_writing_ages_later", default=False)


@contextmanager
def ages_written_later(later: bool = True) -> Iterator[None]:
    """While drawing a part that fill_ages() will finish: shown_age() writes marks (`later=False`: ages)."""
    token = _writing_ages_later.set(later)
    try:
        yield
    finally:
        _writing_ages_later.reset(token)


def writing_ages_later() -> bool:
    return _writing_ages_later.get()


def age_mark(moment: datetime) -> str:
    """A mark fill_ages() turns into human_age(moment) as it reads then."""
    # Whole microseconds, as datetimes count: the age written is exactly human_age()'s.
    return f"{_MARK_OPEN}{_MARK_NONCE}:{(moment - _EPOCH) // _MICROSECOND}{_MARK_CLOSE}"


def shown_age(moment: datetime | None, now: datetime | None = None) -> str:
    """human_age(), or its mark while a part is drawn to be kept (ages_written_later)."""
    if moment is not None and moment.tzinfo is not None and _writing_ages_later.get():
        return age_mark(moment)
    return human_age(moment, now)


def fill_ages(text: str, now: datetime | None = None) -> str:
    """`text` with each age mark written as the age it reads at `now` (a text without marks is returned as is)."""
    if _MARK_OPEN not in text:
        return text
    return AgedText.of(text).written(now)


@dataclass(frozen=True)
class AgedText:
    """A text whose age marks were found once, for a text written again and again (a kept page).

    Searching a kept list page (70 KB) for its marks at every showing was 0.17 ms of a
    request's 4 ms of CPU: split once when the page is kept, each showing is a join of its
    pieces and ages (fill_ages splits and writes a text shown once).
    """

    pieces: tuple[str, ...]  # the text between the marks: one more than the moments
    moments: tuple[int, ...]  # each mark's moment, in microseconds since the epoch

    @classmethod
    def of(cls, text: str) -> AgedText:
        parts = _MARK.split(text)
        return cls(tuple(parts[0::2]), tuple(int(moment) for moment in parts[1::2]))

    def written(self, now: datetime | None = None) -> str:
        """The text with each age mark written as the age it reads at `now`."""
        if not self.moments:
            return self.pieces[0]
        at = ((now or timezone.now()) - _EPOCH) // _MICROSECOND
        written: dict[int, str] = {}  # rows often share a moment (tags of one image)
        out = [self.pieces[0]]
        for moment, piece in zip(self.moments, self.pieces[1:], strict=True):
            age = written.get(moment)
            if age is None:
                age = written[moment] = f"{human_duration((at - moment) / 1_000_000)} ago"
            out.append(age)
            out.append(piece)
        return "".join(out)
