"""The gateway's reading of the engine's 409s, checked against the real engine's own words."""

from __future__ import annotations

import pytest

from images_app import engine
from images_app.engine.images import conflict_from_message
from images_app.errors import RemovalConflict


def _conflict(environment, reference, force=False) -> RemovalConflict:
    with pytest.raises(RemovalConflict) as caught:
        engine.remove_image(environment, reference, force=force)
    return caught.value


def test_running_container_by_id_cannot_be_forced(environment, images, unique_name, start_container):
    image_id = images.build(f"{unique_name('run')}:1")
    container_id = start_container(image_id, running=True)

    conflict = _conflict(environment, image_id, force=True)

    assert conflict.reason == RemovalConflict.REASON_RUNNING_CONTAINER and not conflict.forcible
    assert [c.id for c in conflict.containers] == [container_id[:12]]
    assert "cannot be forced" in conflict.engine_message


def test_stopped_container_by_id_must_be_forced(environment, images, unique_name, start_container):
    image_id = images.build(f"{unique_name('stop')}:1")
    container_id = start_container(image_id, running=False)

    conflict = _conflict(environment, image_id)

    assert conflict.reason == RemovalConflict.REASON_STOPPED_CONTAINER and conflict.forcible
    assert conflict.containers[0].id == container_id[:12] and conflict.containers[0].state == "stopped"


def test_stopped_container_by_tag_must_force_without_claiming_a_state(
    environment, images, unique_name, start_container
):
    repo = unique_name("tag")
    images.build(f"{repo}:1")
    start_container(f"{repo}:1", running=False)

    conflict = _conflict(environment, f"{repo}:1")

    assert conflict.reason == RemovalConflict.REASON_STOPPED_CONTAINER and conflict.forcible
    assert conflict.containers[0].state == ""  # the engine's text does not say


def test_several_repositories_by_id_must_be_forced(environment, images, unique_name):
    image_id = images.build(f"{unique_name('a')}:1", busybox=False)
    images.tag(image_id, f"{unique_name('b')}:1")

    conflict = _conflict(environment, image_id)

    assert conflict.reason == RemovalConflict.REASON_MULTIPLE_REPOSITORIES and conflict.forcible


def test_dependent_children_cannot_be_forced():
    conflict = conflict_from_message(
        "conflict: unable to delete 0123456789ab (cannot be forced) - image has dependent child images"
    )

    assert conflict.reason == RemovalConflict.REASON_DEPENDENT_CHILDREN and not conflict.forcible


def test_list_images_all_includes_intermediate_parents(environment, images, unique_name):
    image_id = images.build(f"{unique_name('chain')}:1", layers=[10])

    everything = {i.id: i for i in engine.list_images(environment, include_intermediate=True)}

    assert everything[image_id].parent_id in everything
    assert everything[image_id].parent_id not in {i.id for i in engine.list_images(environment)}
