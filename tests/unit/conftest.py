"""The unit tier: pure logic from literal data. No Docker, Redis, browser, database or service variables.

Run alone with `make test-unit` (pytest --confcutdir=tests/unit, so tests/conftest.py and its service
fixtures are never loaded). Django's settings load with their defaults: some modules under test
import models or settings, but no test here touches the database (pytest-django refuses it unless
a test asks for `db`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from images_app.engine import ContainerInfo, ImageInfo
from images_app.models import Environment

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def image(hex_digit: str, tags: list[str] | tuple[str, ...] = (), *, parent: str = "", digests=(), size=100):
    """An ImageInfo from literal data: ID "sha256:" + 64 times `hex_digit`."""
    return ImageInfo(
        id="sha256:" + hex_digit * 64,
        repo_tags=tuple(tags),
        repo_digests=tuple(digests),
        created=WHEN,
        size=size,
        labels={},
        parent_id=parent,
    )


def container(name: str, image_id: str, *, state: str = "exited") -> ContainerInfo:
    return ContainerInfo(
        id=(name * 64)[:64], name=name, image=image_id, image_id=image_id, state=state, status="", created=WHEN
    )


@pytest.fixture
def environment() -> Environment:
    """An unsaved environment: plans carry one, nothing here saves it."""
    return Environment(name="unit")
