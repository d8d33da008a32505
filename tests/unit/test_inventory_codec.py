"""The inventory's stored form and which events touch which list (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from images_app.engine import ContainerInfo, EngineEvent, ImageInfo
from images_app.inventory_codec import decode_containers, decode_images, encode_containers, encode_images
from images_app.services.inventory import CONTAINERS, IMAGES, lists_changed_by

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_images_survive_the_round_trip_exactly():
    images = [
        ImageInfo("sha256:" + "a" * 64, ("app:1", "app:2"), ("app@sha256:" + "d" * 64,), WHEN, 123, {"k": "v"}, ""),
        ImageInfo("sha256:" + "b" * 64, (), (), WHEN, 0, {}, "sha256:" + "a" * 64),
    ]

    assert decode_images(encode_images(images)) == images


def test_containers_survive_the_round_trip_exactly():
    containers = [ContainerInfo("c" * 64, "web", "app:1", "sha256:" + "a" * 64, "running", "Up 2 minutes", WHEN)]

    assert decode_containers(encode_containers(containers)) == containers


def test_an_empty_store_decodes_to_no_rows():
    assert decode_images(b"") == [] and decode_containers(b"") == []


def event(type_: str, action: str) -> EngineEvent:
    return EngineEvent(type=type_, action=action, actor_id="x", attributes={}, time_nano=1)


def test_container_lifecycle_events_touch_the_container_list():
    for action in ("create", "start", "die", "destroy", "rename", "pause"):
        assert lists_changed_by(event("container", action)) == {CONTAINERS}


def test_exec_and_health_events_touch_nothing():
    assert lists_changed_by(event("container", "exec_start")) == set()
    assert lists_changed_by(event("container", "health_status")) == set()


def test_image_events_touch_both_lists_but_push_touches_none():
    # A container is listed by the tag it was created from only while the tag names its image.
    for action in ("pull", "tag", "untag", "delete", "import", "load"):
        assert lists_changed_by(event("image", action)) == {IMAGES, CONTAINERS}
    assert lists_changed_by(event("image", "push")) == set()


def test_a_commit_touches_both_lists():
    assert lists_changed_by(event("container", "commit")) == {IMAGES, CONTAINERS}


def test_network_and_volume_events_touch_nothing():
    assert lists_changed_by(event("network", "connect")) == set()
    assert lists_changed_by(event("volume", "create")) == set()
