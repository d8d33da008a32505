"""What a failed pull says: the engine's words, prefixed by what they mean for a person."""

from __future__ import annotations

import pytest

from images_app.errors import EngineUnavailable, ImageNotFound, PullFailed
from images_app.services.pulls import failure_text


@pytest.mark.parametrize(
    ("engine_says", "meaning"),
    [
        ("manifest for app:9 not found: manifest unknown", "The registry has no such image or tag"),
        ("pull access denied for app, repository does not exist", "The registry requires valid credentials"),
        ("unauthorized: authentication required", "The registry requires valid credentials"),
        (
            "Get https://r.example/v2/: dial tcp 10.0.0.1:443: connect: connection refused",
            "The registry could not be reached",
        ),
        ("Get https://r.example/v2/: net/http: TLS handshake timeout", "The registry could not be reached"),
        ("write /var/lib/docker/tmp/x: no space left on device", "The engine's disk is full"),
        ("something nobody expected", "The pull failed"),
    ],
)
def test_a_pull_failure_says_what_it_means_then_what_the_engine_said(engine_says, meaning):
    assert failure_text(PullFailed(engine_says)) == f"{meaning}: {engine_says}"


def test_an_image_the_engine_cannot_find_is_a_missing_image():
    assert failure_text(ImageNotFound("app:9")).startswith("The registry has no such image or tag: ")


def test_an_engine_that_does_not_answer_keeps_its_own_message():
    exc = EngineUnavailable("unix:///var/run/docker.sock", "connection refused")

    assert failure_text(exc) == exc.message
