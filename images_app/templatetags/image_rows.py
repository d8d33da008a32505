"""The images list's rows, and the image page's rows by tag, rendered in Python.

A list page has up to BERTH_PAGE_SIZE rows of ~30 values each; through the template
engine they were most of the page's CPU (bench.load). Same markup, built with
format_html, which escapes every value exactly as the template did. Rows of the
event-kept inventory are the same objects on every page until it changes: their
markup is kept between requests (ROW_MARKUP), so an unchanged host's page does not
format its rows again. An image page has a line per tag in two places (its tags, and
their update states); for an image with 40 tags those loops were a third of the page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from images_app.references import ImageStatus
from images_app.selectors.images import ImageRow
from images_app.sizes_and_ages import ages_written_later, fill_ages, human_size, shown_age, writing_ages_later
from images_app.update_state import UpdateState, Verdict

register = template.Library()

# reverse() once per page with this stand-in ID, then substitute each row's.
DETAIL_PLACEHOLDER = "0" * 12


def _status_cell(row: ImageRow) -> SafeString:
    status = row.status
    if status == ImageStatus.IN_USE:
        counts = f"{row.running_containers} running, {row.stopped_containers} stopped"
        return format_html('<span class="badge badge-inuse" title="{}">in use · {}</span>', counts, counts)
    if status == ImageStatus.DANGLING:
        return mark_safe('<span class="badge badge-dangling">dangling</span>')  # constant text
    return mark_safe('<span class="badge badge-unused">unused</span>')  # constant text


def _moment(value: datetime) -> str:
    return localtime(value).strftime("%Y-%m-%d %H:%M")


def _exact(moment: datetime) -> str:
    return localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")  # the date filter's "Y-m-d H:i:s T"


def _pull_link(pull_url: str, reference: str) -> str:
    return f"{pull_url}?reference={quote(reference, safe='/')}"  # as the urlencode filter; format_html escapes it


# Verdict.state holds an UpdateState's value; the class of any other state is the unknown one's.
_UPDATE_BADGE_CLASS: dict[str, str] = {
    UpdateState.UPDATE_AVAILABLE: "badge-update",
    UpdateState.UP_TO_DATE: "badge-current",
}


def _badge_class(verdict: Verdict) -> str:
    return _UPDATE_BADGE_CLASS.get(verdict.state, "badge-update-unknown")


def last_used_cell(row: ImageRow, now: datetime | None = None) -> SafeString:
    """What the watcher knows of the row's image, honest about what it cannot know."""
    use = row.last_use
    if use is None or not use.known:
        return mark_safe('<td class="last-used unknown" title="No watcher has watched this engine yet">unknown</td>')
    if use.in_use_now:
        return mark_safe('<td class="last-used now" data-sort="now">in use now</td>')
    if use.last_used is not None and not use.before_horizon:
        return format_html(
            '<td class="last-used" title="{} by container {}"><time datetime="{}">{}</time></td>',
            _moment(use.last_used),
            use.container_name or use.container_id[:12],
            use.last_used.isoformat(),
            shown_age(use.last_used, now),
        )
    if use.unused_since is not None and use.horizon is not None and use.unused_since > use.horizon:
        # Created (or first seen) after the watch began: everything since is known.
        return format_html(
            '<td class="last-used never" title="Not used since it appeared on {}">never</td>', _moment(use.unused_since)
        )
    known = (
        f"Last known use: {_moment(use.last_used)} by {use.container_name or use.container_id[:12]}. "
        if use.last_used is not None
        else ""
    )
    return format_html(
        '<td class="last-used unknown-before" title="{}Not used since the watch began; before it, unknown.">'
        "unknown before {}</td>",
        known,
        _moment(use.horizon) if use.horizon is not None else "",
    )


def update_badge(verdict: Verdict | None, now: datetime | None = None) -> SafeString:
    """The update state of a tag, with the check's age and the new digest in its tooltip."""
    if verdict is None:
        return mark_safe("")
    checked = f", checked {shown_age(verdict.checked_at, now)}" if verdict.checked_at else ""
    if verdict.state == UpdateState.UPDATE_AVAILABLE:
        title, text = f"The registry now serves {verdict.remote_digest}{checked}", "update available"
    elif verdict.state == UpdateState.UP_TO_DATE:
        title, text = f"Same digest as the registry{checked}", "up to date"
    else:
        title, text = f"{verdict.message or verdict.label}{checked}", verdict.label
    return format_html(' <span class="badge {}" title="{}">{}</span>', _badge_class(verdict), title, text)


class RowMarkup:
    """Rendered `<tr>`s of image rows, by the row's data and everything else its markup shows.

    A row equal to the one an entry was rendered from (every field: the image, its tags,
    containers and last use) has the same markup; a row of the kept inventory is even the same
    object until the inventory changes, which answers at once. Rows read live are new objects
    on every page, with the same data while the host is unchanged: equality (a few
    microseconds a row) saves their formatting (most of a live list page's rows' CPU). The key
    adds what comes from outside the row: the page's URLs and role, the update verdict and the
    time zone. Its ages are kept as marks and written as they read now each time the rows are
    shown, so a kept row never says anything a fresh render would not.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: dict[tuple[str, str, str], tuple[ImageRow, tuple[object, ...], SafeString]] = {}
        self._lock = threading.Lock()

    def get(self, row: ImageRow, key: tuple[object, ...], render: Callable[[], SafeString]) -> SafeString:
        """The row's markup, its ages as marks (sizes_and_ages.fill_ages writes them)."""
        place = (row.image.id, row.repository, row.tag)
        entry = self._entries.get(place)
        if entry is not None and entry[1] == key and (entry[0] is row or entry[0] == row):
            return entry[2]
        with ages_written_later():
            markup = render()
        with self._lock:
            if place not in self._entries and len(self._entries) >= self._capacity:
                # The oldest quarter: rows of images that are gone are never asked for again.
                for stale in list(self._entries)[: self._capacity // 4]:
                    del self._entries[stale]
            self._entries[place] = (row, key, markup)
        return markup

    def __len__(self) -> int:
        return len(self._entries)


ROW_MARKUP = RowMarkup(capacity=4096)  # ~1 KB a row: a few MB at most, per web process


@register.simple_tag
def image_rows(
    rows: list[ImageRow],
    detail_url_pattern: str,
    can_select: bool,
    pull_url: str,
    updates: dict[str, Any] | None = None,
) -> SafeString:
    """The `<tr>`s of one page of the images table, in one call (a template loop costs more than the rows).

    `updates` maps references to their update state (selectors.updates). A row whose data and
    surroundings were rendered before is not formatted again (ROW_MARKUP).
    """
    updates = updates or {}
    zone = timezone.get_current_timezone_name()
    parts = []
    for row in rows:
        verdict = updates.get(row.reference)
        key = (detail_url_pattern, bool(can_select), pull_url, verdict, zone)
        render = partial(_row_markup, row, detail_url_pattern, can_select, pull_url, verdict)
        parts.append(ROW_MARKUP.get(row, key, render))
    joined = _joined(parts)
    # A kept part around the rows writes their ages when shown; otherwise they are written here.
    return joined if writing_ages_later() else mark_safe(fill_ages(joined))  # noqa: S308  (ages are plain words)


def _joined(parts: Iterable[SafeString]) -> SafeString:
    # format_html_join leaves SafeStrings as they are and would escape anything else.
    return format_html_join("", "{}", ((part,) for part in parts))


def _row_markup(
    row: ImageRow,
    detail_url_pattern: str,
    can_select: bool,
    pull_url: str,
    verdict: Verdict | None,
    now: datetime | None = None,
) -> SafeString:
    image = row.image
    short_id = image.short_id
    detail_url = detail_url_pattern.replace(DETAIL_PLACEHOLDER, short_id)
    created = localtime(image.created)
    select = (
        format_html(
            '<td class="select"><input type="checkbox" name="ref" value="{}" aria-label="Select {}"></td>',
            row.reference,
            row.reference,
        )
        if can_select
        else ""
    )
    same_image = (
        format_html(
            ' <span class="same-image" title="The same image as {}">tag {} of {}</span>',
            row.other_tags_text,
            row.tag_index,
            row.tag_count,
        )
        if row.tag_count > 1
        else ""
    )
    outdated = verdict is not None and verdict.outdated
    pull_again = (
        format_html(
            ' · <a href="{}" class="{}">{}</a>',
            _pull_link(pull_url, row.reference),
            "pull-again pull-update" if outdated else "pull-again",
            "Pull update" if outdated else "Pull again",
        )
        if pull_url and row.tagged
        else ""
    )
    return format_html(
        '<tr data-image-id="{id}" data-reference="{ref}" class="status-{status}">{select}'
        '<td class="repo">{repo}</td>'
        '<td class="tag">{tag}{same_image}</td>'
        '<td class="id"><a href="{detail}"><code title="{id}">{short}</code></a>'
        ' <button type="button" class="copy js-copy" data-copy="{id}" title="Copy the full image ID" hidden>'
        "copy</button></td>"
        '<td class="created" title="{exact}"><time datetime="{iso}">{age}</time></td>'
        '<td class="num size" title="{size} bytes">{human}</td>'
        "{last_used}"
        '<td class="status">{status_cell}{update_cell}</td>'
        '<td class="actions"><a href="{detail}" class="details-link">Details</a>{pull_again}</td></tr>',
        id=image.id,
        ref=row.reference,
        status=row.status,
        select=select,
        repo=row.repository,
        tag=row.tag,
        same_image=same_image,
        detail=detail_url,
        short=short_id,
        exact=_exact(image.created),
        iso=created.isoformat(),
        age=shown_age(image.created, now),
        size=image.size,
        human=human_size(image.size),
        last_used=last_used_cell(row, now),
        status_cell=_status_cell(row),
        update_cell=update_badge(verdict, now),
        pull_again=pull_again,
    )


@register.simple_tag
def tag_chips(tags: Sequence[str], pull_url: str) -> SafeString:
    """The image page's tags, one a line, each with its pull-again link when the role may pull."""
    if not tags:
        return mark_safe('<span class="muted">none (dangling)</span>')  # constant text
    if not pull_url:
        return format_html_join(mark_safe("<br>"), '<code class="tag-chip">{}</code>', ((tag,) for tag in tags))
    return format_html_join(
        mark_safe("<br>"),
        '<code class="tag-chip">{}</code> <a class="pull-again" href="{}" title="Pull {} again">↻</a>',
        ((tag, _pull_link(pull_url, tag), tag) for tag in tags),
    )


@register.simple_tag
def update_rows(updates: Sequence[tuple[str, Verdict]], pull_url: str) -> SafeString:
    """The `<tr>`s of the image page's updates table: each tag's state, what the registry serves, the check's age."""
    now = timezone.now()
    return _joined(_update_row(tag, verdict, pull_url, now) for tag, verdict in updates)


def _update_row(tag: str, verdict: Verdict, pull_url: str, now: datetime) -> SafeString:
    title = format_html(' title="{}"', verdict.message) if verdict.message else ""
    digest = (
        format_html('<code class="remote-digest">{}</code>', verdict.remote_digest) if verdict.remote_digest else "—"
    )
    created = (
        format_html(
            '<time datetime="{}">{}</time> ({})',
            localtime(verdict.remote_created).isoformat(),
            _exact(verdict.remote_created),
            shown_age(verdict.remote_created, now),
        )
        if verdict.remote_created
        else "—"
    )
    checked = (
        format_html('<span title="{}">{}</span>', _exact(verdict.checked_at), shown_age(verdict.checked_at, now))
        if verdict.checked_at
        else "—"
    )
    pull = (
        format_html('<a class="button pull-update" href="{}">Pull update</a>', _pull_link(pull_url, tag))
        if verdict.outdated and pull_url
        else ""
    )
    return format_html(
        '<tr class="update-{state}" data-tag="{tag}"><td><code>{tag}</code></td>'
        '<td><span class="badge {badge}"{title}>{label}</span></td>'
        "<td>{digest}</td>"
        '<td class="remote-created">{created}</td>'
        "<td>{checked}</td>"
        "<td>{pull}</td></tr>",
        state=verdict.state,
        tag=tag,
        badge=_badge_class(verdict),
        title=title,
        label=verdict.label,
        digest=digest,
        created=created,
        checked=checked,
        pull=pull,
    )
