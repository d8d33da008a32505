from datetime import UTC, datetime, timedelta

import pytest

from images_app.sizes_and_ages import human_age, human_duration, human_size


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
