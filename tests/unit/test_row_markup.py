"""The images table's rows: kept markup is reused only while nothing it shows has changed, live reads too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from images_app.selectors.images import ImageRow
from images_app.templatetags import image_rows
from images_app.update_state import UpdateState, Verdict
from tests.unit.conftest import image

PATTERN = "/env/local/images/000000000000/"


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """References rendered from scratch, in order (a fresh memo per test)."""
    seen: list[str] = []
    real = image_rows._row_markup

    def counting(row, *args, **kwargs):
        seen.append(row.reference)
        return real(row, *args, **kwargs)

    monkeypatch.setattr(image_rows, "_row_markup", counting)
    monkeypatch.setattr(image_rows, "ROW_MARKUP", image_rows.RowMarkup(capacity=8))
    return seen


def row(hex_digit: str, tag: str = "app:1", *, created: datetime | None = None) -> ImageRow:
    info = image(hex_digit, [tag])
    if created is not None:
        info = type(info)(**{**info.__dict__, "created": created})
    repository, _, name = tag.rpartition(":")
    return ImageRow(image=info, repository=repository, tag=name, running_containers=0, stopped_containers=0)


def test_rows_render_once_and_then_come_from_the_memo(renders):
    rows = [row("a", "app:1"), row("b", "<script>:2")]

    first = image_rows.image_rows(rows, PATTERN, True, "/pull/", {})
    second = image_rows.image_rows(rows, PATTERN, True, "/pull/", {})

    assert second == first
    assert renders == ["app:1", "<script>:2"]
    assert "&lt;script&gt;" in first and "<script>" not in first  # escaped once, kept escaped


def test_rows_of_a_live_read_equal_to_the_last_ones_come_from_the_memo(renders):
    # A live read makes new objects on every page; with the same data they have the same markup.
    first = image_rows.image_rows([row("a")], PATTERN, True, "", {})
    again = image_rows.image_rows([row("a")], PATTERN, True, "", {})
    assert again == first
    assert renders == ["app:1"]


def test_the_same_markup_from_the_memo_as_drawn_afresh(renders, monkeypatch):
    rows = [row("a"), row("c", "other/thing:latest")]
    image_rows.image_rows(rows, PATTERN, True, "/pull/", {})
    kept = image_rows.image_rows(rows, PATTERN, True, "/pull/", {})
    monkeypatch.setattr(image_rows, "ROW_MARKUP", image_rows.RowMarkup(capacity=8))
    assert kept == image_rows.image_rows(rows, PATTERN, True, "/pull/", {})


@pytest.mark.parametrize("field", ["running_containers", "stopped_containers", "tag_index", "labels", "size"])
def test_a_row_that_differs_in_anything_renders_again(renders, field):
    kept = row("a")
    image_rows.image_rows([kept], PATTERN, True, "/pull/", {})
    if field == "labels":
        changed = replace(kept, image=replace(kept.image, labels={"version": "2"}))
    elif field == "size":
        changed = replace(kept, image=replace(kept.image, size=kept.image.size + 1))
    else:
        changed = replace(kept, **{field: getattr(kept, field) + 1})
    image_rows.image_rows([changed], PATTERN, True, "/pull/", {})
    assert renders == ["app:1", "app:1"]


def test_an_other_role_or_a_new_verdict_renders_again(renders):
    kept = row("a")
    image_rows.image_rows([kept], PATTERN, True, "/pull/", {})
    image_rows.image_rows([kept], PATTERN, False, "", {})  # a viewer: no checkbox, no pull link
    verdict = Verdict(UpdateState.UPDATE_AVAILABLE, remote_digest="sha256:" + "f" * 64)
    with_update = image_rows.image_rows([kept], PATTERN, True, "/pull/", {"app:1": verdict})
    assert renders == ["app:1"] * 3
    assert "update available" in with_update and "Pull update" in with_update


def test_ages_are_written_as_they_read_now_without_rendering_the_row_again(renders, monkeypatch):
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    checked = Verdict(UpdateState.UP_TO_DATE, checked_at=start - timedelta(minutes=2))
    kept = row("a", created=start - timedelta(seconds=5))
    clock = [start]
    monkeypatch.setattr("images_app.sizes_and_ages.timezone.now", lambda: clock[0])

    first = image_rows.image_rows([kept], PATTERN, True, "", {"app:1": checked})
    clock[0] = start + timedelta(seconds=3)  # now "8 seconds ago"
    later = image_rows.image_rows([kept], PATTERN, True, "", {"app:1": checked})

    assert renders == ["app:1"]
    assert ">5 seconds ago<" in first and ">8 seconds ago<" in later
    assert "checked 2 minutes ago" in first and "checked 2 minutes ago" in later  # in the badge's title
    assert "\ue000" not in first + later  # no mark left unwritten
    monkeypatch.setattr(image_rows, "ROW_MARKUP", image_rows.RowMarkup(capacity=8))
    assert image_rows.image_rows([kept], PATTERN, True, "", {"app:1": checked}) == later  # drawn afresh


def test_the_memo_stays_within_its_capacity(renders):
    for hex_digit in "0123456789abcdef":
        image_rows.image_rows([row(hex_digit)], PATTERN, True, "", {})
    assert len(image_rows.ROW_MARKUP) <= 8
