import random
from datetime import UTC, datetime, timedelta

import pytest
from django.utils.html import escape

from images_app.sizes_and_ages import (
    AgedText,
    age_mark,
    ages_written_later,
    fill_ages,
    human_age,
    human_duration,
    human_size,
    shown_age,
    writing_ages_later,
)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (999, "999B"),
        (1000, "1kB"),
        (1_234_567, "1.23MB"),
        (77_900_000, "77.9MB"),
        (999_500, "1e+03kB".replace("1e+03kB", "1000kB")),
        (5_000_000_000, "5GB"),
    ],
)
def test_human_size_is_decimal_like_the_cli(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "Less than a second"),
        (1, "1 second"),
        (45, "45 seconds"),
        (61, "About a minute"),
        (600, "10 minutes"),
        (3600, "About an hour"),
        (5 * 3600, "5 hours"),
        (3 * 86400, "3 days"),
        (20 * 86400, "2 weeks"),
        (150 * 86400, "5 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration_matches_docker_units(seconds, text):
    assert human_duration(seconds) == text


def test_human_age_says_ago():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert human_age(now - timedelta(days=3), now) == "3 days ago"
    assert human_age(None) == "N/A"


def test_a_mark_is_written_as_exactly_the_age_human_age_gives():
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    rng = random.Random(7)
    boundaries = [timedelta(seconds=s) for s in (0, 1, 59, 60, 119, 120, 3599, 5400, 48 * 3600, 14 * 86400)]
    jittered = [timedelta(microseconds=rng.randrange(10**14)) for _ in range(2000)]
    for ago in boundaries + [b + timedelta(microseconds=d) for b in boundaries for d in (-1, 1)] + jittered:
        moment = now - ago
        assert fill_ages(f"<td>{age_mark(moment)}</td>", now) == f"<td>{human_age(moment, now)}</td>", ago


def test_shown_age_writes_marks_only_while_a_part_is_drawn_to_be_kept():
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    moment = now - timedelta(minutes=7)
    assert shown_age(moment, now) == "7 minutes ago"
    with ages_written_later():
        assert writing_ages_later()
        marked = shown_age(moment, now)
        assert shown_age(None, now) == "N/A"  # nothing to write later
    assert not writing_ages_later()
    assert marked != "7 minutes ago" and escape(marked) == marked  # stands in text and attributes alike
    assert fill_ages(marked, now) == "7 minutes ago"


def test_text_that_only_looks_like_a_mark_is_left_as_it_is():
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    plain = "no marks here"
    assert fill_ages(plain, now) is plain
    # A label cannot pass for a mark: it does not know this process's number.
    forged = "\ue000" + "0" * 16 + ":0\ue001"
    assert fill_ages(f"label={forged}", now) == f"label={forged}"


@pytest.mark.parametrize("seed", range(40))
def test_a_text_split_once_is_written_with_each_marks_age(seed):
    # Kept pages are split at their marks once and joined at each showing (AgedText); fill_ages does both.
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    rng = random.Random(seed)
    moments = [now - timedelta(microseconds=rng.randrange(10**13)) for _ in range(rng.randrange(1, 6))]
    forged = "\ue000" + "0" * 16 + ":0\ue001"
    pieces = ["", "<td>", "</td>", ' title="', "é", forged, "\ue000", "x" * rng.randrange(50)]
    parts = [rng.choice([rng.choice(pieces), rng.choice(moments)]) for _ in range(rng.randrange(30))]
    text = "".join(part if isinstance(part, str) else age_mark(part) for part in parts)

    def expected(at: datetime) -> str:
        return "".join(part if isinstance(part, str) else human_age(part, at) for part in parts)

    aged = AgedText.of(text)
    assert aged.written(now) == fill_ages(text, now) == expected(now)
    later = now + timedelta(hours=5)
    assert aged.written(later) == fill_ages(text, later) == expected(later)
    assert len(aged.moments) == text.count(age_mark(now)[:18])  # every mark found, none forged


def test_a_text_without_marks_is_written_as_it_is():
    assert AgedText.of("plain").written() == "plain"
    assert AgedText.of("").written() == ""
