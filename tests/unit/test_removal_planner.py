"""The removal planner from literal image and container data: untag vs delete, children first, force, drift.

The same rules run against the real engine in tests/integration/test_removal_*.py; here they are specified
from data a person can read, in milliseconds.
"""

from __future__ import annotations

import dataclasses

import pytest

from images_app.services.removal import (
    Action,
    EngineState,
    ForceRequired,
    FrozenItem,
    PlanChanged,
    RemovalPlan,
    item_drift,
    plan_item,
    removal_confirm,
)
from images_app.services.removal.plan import plan_cleanup, plan_refs
from tests.unit.conftest import container, image

BASE = image("b", ["base:1"])
CHILD = image("c", ["app:1", "app:2"], parent=BASE.id)
LONE = image("d", ["lone:1"])
DANGLING = image("e")


def state(*images, containers=()) -> EngineState:
    return EngineState(list(images), list(containers))


def test_the_last_tag_of_an_image_deletes_it():
    item = plan_item(state(LONE), "lone:1")

    assert item.action == Action.DELETE and item.deletes and item.tags == ("lone:1",)


def test_one_of_two_tags_only_untags_and_names_the_tag_that_stays():
    item = plan_item(state(BASE, CHILD), "app:1")

    assert item.action == Action.UNTAG and item.remaining_tags == ("app:2",)


def test_removing_both_tags_in_one_plan_untags_then_deletes():
    items = plan_refs(state(BASE, CHILD), ["app:1", "app:2"])

    assert [(i.reference, i.action) for i in items] == [("app:1", Action.UNTAG), ("app:2", Action.DELETE)]


def test_a_familiar_name_finds_the_tag_the_engine_lists():
    item = plan_item(state(image("f", ["ubuntu:latest"])), "docker.io/library/ubuntu")

    assert item.reference == "ubuntu:latest" and item.action == Action.DELETE


def test_children_go_before_their_parent_whatever_order_they_were_asked_in():
    items = plan_refs(state(BASE, CHILD), [BASE.id, CHILD.id])

    assert [i.image_id for i in items] == [CHILD.id, BASE.id]
    assert all(i.actionable for i in items)


def test_a_parent_alone_is_blocked_while_its_child_stays():
    item = plan_item(state(BASE, CHILD), BASE.id)

    assert item.blocked and "built on this image" in item.blocked and not item.actionable


def test_repeated_and_equivalent_references_are_planned_once():
    items = plan_refs(state(LONE), ["lone:1", "lone:1", "docker.io/library/lone:1"])

    assert [i.reference for i in items] == ["lone:1"]


def test_a_tag_of_an_image_also_removed_by_id_is_dropped():
    items = plan_refs(state(BASE, CHILD), ["app:1", CHILD.id])

    assert [i.reference for i in items] == [CHILD.id]


def test_a_stopped_container_makes_force_necessary_a_running_one_blocks():
    stopped = plan_item(state(LONE, containers=[container("s", LONE.id)]), "lone:1")
    running = plan_item(state(LONE, containers=[container("r", LONE.id, state="running")]), "lone:1")

    assert stopped.force_reasons == ("stopped containers use it",) and stopped.actionable
    assert running.blocked and not running.force_reasons


def test_an_unknown_or_ambiguous_name_is_missing_not_an_error():
    assert "No image" in plan_item(state(LONE), "nothing:here").missing
    twins = state(image("a", ["x:1"]), dataclasses.replace(image("a", ["y:1"]), id="sha256:" + "a" * 63 + "b"))
    assert "several images" in plan_item(twins, "a" * 12).missing


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("prune_dangling", {DANGLING.id}),
        ("remove_unused", {DANGLING.id, LONE.id}),
        ("remove_all", {DANGLING.id, LONE.id, CHILD.id, BASE.id}),
    ],
)
def test_cleanup_kinds_choose_exactly_their_images(kind, expected):
    used = container("u", CHILD.id)
    items, excluded = plan_cleanup(state(BASE, CHILD, LONE, DANGLING, containers=[used]), kind)

    assert {i.image_id for i in items} == expected
    if kind == "remove_unused":
        # The used child stays, and with it the base it is built on.
        assert {i.image_id for i in excluded} == {CHILD.id, BASE.id}


def test_a_running_container_keeps_its_image_out_of_remove_all():
    running = container("r", LONE.id, state="running")
    items, excluded = plan_cleanup(state(LONE, DANGLING, containers=[running]), "remove_all")

    assert [i.image_id for i in items] == [DANGLING.id]
    assert [i.image_id for i in excluded] == [LONE.id]


# --- confirmation and drift ------------------------------------------------------------


def _plan(environment, st: EngineState, refs: list[str]) -> RemovalPlan:
    return RemovalPlan(environment=environment, kind="remove", items=plan_refs(st, refs))


def test_an_unchanged_engine_confirms_the_shown_items(environment):
    shown = _plan(environment, state(BASE, CHILD), ["app:1"]).snapshot(force=False)

    assert removal_confirm(plan=_plan(environment, state(BASE, CHILD), ["app:1"]), snapshot=shown, force=False) == shown


def test_a_tag_moved_to_another_image_is_drift():
    shown = plan_item(state(LONE), "lone:1").frozen(force=False)
    moved = plan_item(state(image("9", ["lone:1"])), "lone:1")

    assert item_drift(shown, moved) == [f"lone:1 now points to another image ({'9' * 12}, was {'d' * 12})."]


def test_a_new_container_and_a_lost_sibling_tag_are_drift():
    shown = plan_item(state(BASE, CHILD), "app:1").frozen(force=False)
    now = plan_item(
        state(BASE, dataclasses.replace(CHILD, repo_tags=("app:1",)), containers=[container("n", CHILD.id)]), "app:1"
    )

    changes = item_drift(shown, now)

    assert any("a container was created since" in c for c in changes)
    assert any("removing it now deletes the image" in c for c in changes)


def test_new_tags_on_an_image_removed_by_id_are_drift():
    shown = plan_item(state(LONE), LONE.id).frozen(force=False)
    now = plan_item(state(dataclasses.replace(LONE, repo_tags=("lone:1", "lone:2"))), LONE.id)

    assert any("new tags since (lone:2)" in c for c in item_drift(shown, now))


def test_a_gone_image_is_reported_as_gone(environment):
    shown = _plan(environment, state(LONE), ["lone:1"]).snapshot(force=False)

    with pytest.raises(PlanChanged) as raised:
        removal_confirm(plan=_plan(environment, state(), ["lone:1"]), snapshot=shown, force=False)

    assert raised.value.changes == ["lone:1 is already gone."]


def test_an_item_not_shown_on_the_page_is_refused(environment):
    shown = _plan(environment, state(LONE, BASE), ["lone:1"]).snapshot(force=False)

    with pytest.raises(PlanChanged, match="base:1 was not on the page you confirmed"):
        removal_confirm(plan=_plan(environment, state(LONE, BASE), ["lone:1", "base:1"]), snapshot=shown, force=False)


def test_force_is_required_when_the_engine_would_refuse_without_it(environment):
    def fresh() -> RemovalPlan:  # planning simulates the removal: each plan gets its own state
        return _plan(environment, state(LONE, containers=[container("s", LONE.id)]), ["lone:1"])

    shown = fresh().snapshot(force=False)

    with pytest.raises(ForceRequired):
        removal_confirm(plan=fresh(), snapshot=shown, force=False)
    [confirmed] = removal_confirm(plan=fresh(), snapshot=shown, force=True)
    assert confirmed.force is True


def test_force_is_never_frozen_for_an_item_that_does_not_need_it():
    assert plan_item(state(LONE), "lone:1").frozen(force=True).force is False


def test_frozen_item_round_trips_through_json():
    item = plan_item(state(LONE, containers=[container("s", LONE.id)]), LONE.id).frozen(force=True)

    assert FrozenItem.from_json(item.to_json()) == item


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {"reference": "x"},
        {"reference": 1, "image_id": "x"},
        {"reference": "x", "image_id": "y", "tags": "x:1"},
        {"reference": "x", "image_id": "y", "action": "explode"},
        {"reference": "x", "image_id": "y", "unique_size": "big"},
    ],
)
def test_a_damaged_or_forged_frozen_item_is_refused(document):
    with pytest.raises(ValueError):
        FrozenItem.from_json(document)
