"""The planner's force rules for removal by image ID, from literal data (no engine).

The same table is checked against the real engine in tests/integration/test_removal_force_oracle.py.
moby's ImageDelete: by ID, an image's references are removed with it only when they are
a single reference (one repository, at most one tag); anything else needs force.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from images_app.engine import ContainerInfo, ImageInfo
from images_app.services.removal import DELETE, UNTAG, EngineState, id_removal_reference_conflict, plan_item

IMAGE_ID = "sha256:" + "a" * 64
DIGEST = "sha256:" + "d" * 64
OTHER_DIGEST = "sha256:" + "e" * 64
WHEN = datetime(2026, 1, 1, tzinfo=UTC)

# (case, tags, digests, force reason or "" when the engine removes it plainly)
CASES = [
    ("no reference (dangling)", [], [], ""),
    ("one tag", ["app:1"], [], ""),
    ("one tag and its repository's digest", ["app:1"], [f"app@{DIGEST}"], ""),
    ("several tags of one repository", ["app:1", "app:2"], [], "it has several tags (all of them go)"),
    (
        "tags of several repositories",
        ["app:1", "other:1"],
        [],
        "it is referenced in several repositories (all of those references go)",
    ),
    ("one digest only", [], [f"app@{DIGEST}"], ""),
    ("two digests of one repository", [], [f"app@{DIGEST}", f"app@{OTHER_DIGEST}"], ""),
    (
        "digests of two repositories",
        [],
        [f"app@{DIGEST}", f"other@{DIGEST}"],
        "it is referenced in several repositories (all of those references go)",
    ),
    (
        "a digest and a tag of different repositories",
        ["other:1"],
        [f"app@{DIGEST}"],
        "it is referenced in several repositories (all of those references go)",
    ),
    (
        "a registry with a port",
        ["localhost:5000/app:1"],
        [f"localhost:5000/app@{DIGEST}"],
        "",
    ),
]


def _state(tags: list[str], digests: list[str], containers: tuple[ContainerInfo, ...] = ()) -> EngineState:
    image = ImageInfo(
        id=IMAGE_ID,
        repo_tags=tuple(tags),
        repo_digests=tuple(digests),
        created=WHEN,
        size=100,
        labels={},
        parent_id="",
    )
    return EngineState([image], containers)


def _container(state: str) -> ContainerInfo:
    return ContainerInfo(id="c" * 64, name="c", image=IMAGE_ID, image_id=IMAGE_ID, state=state, status="", created=WHEN)


@pytest.mark.parametrize(("case", "tags", "digests", "reason"), CASES, ids=[c[0] for c in CASES])
def test_reference_conflict_follows_the_engine(case, tags, digests, reason):
    assert id_removal_reference_conflict(tags, digests) == reason


@pytest.mark.parametrize(("case", "tags", "digests", "reason"), CASES, ids=[c[0] for c in CASES])
def test_removal_by_id_asks_force_only_for_the_engine_reason(case, tags, digests, reason):
    item = plan_item(_state(tags, digests), IMAGE_ID)

    assert item.action == DELETE
    assert item.force_reasons == ((reason,) if reason else ())


def test_dangling_image_with_a_stopped_container_needs_force_only_for_the_container():
    item = plan_item(_state([], [], (_container("exited"),)), IMAGE_ID)

    assert item.force_reasons == ("stopped containers use it",)


def test_dangling_image_with_a_running_container_is_blocked_not_forced():
    item = plan_item(_state([], [], (_container("running"),)), IMAGE_ID)

    assert item.blocked and not item.force_reasons


def test_removing_one_of_several_tags_only_untags():
    item = plan_item(_state(["app:1", "app:2"], []), "app:1")

    assert item.action == UNTAG and item.remaining_tags == ("app:2",) and not item.force_reasons


def test_removing_a_tag_whose_repository_also_has_a_digest_deletes():
    item = plan_item(_state(["app:1"], [f"app@{DIGEST}"]), "app:1")

    assert item.action == DELETE and not item.force_reasons
