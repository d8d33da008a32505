"""The watcher's event -> use logic, from literal engine events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from images_app.watcher.state import (
    RECONCILE_CREATED,
    RECONCILE_RUNNING,
    ContainerSnapshot,
    UsageState,
    apply_events,
    known_unused_since,
    reconcile,
)

IMG_A = "sha256:" + "a" * 64
IMG_B = "sha256:" + "b" * 64
SECOND = 1_000_000_000


@dataclass(frozen=True)
class Ev:
    type: str
    action: str
    actor_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    time_nano: int = 0


def container(action: str, cid: str, image: str, t: int, name: str = "web") -> Ev:
    return Ev("container", action, cid, {"image": image, "name": name}, t * SECOND)


def test_create_and_start_from_an_image_id_are_uses_of_that_image():
    state = UsageState()
    outcome = apply_events(state, [container("create", "c1", IMG_A, 10), container("start", "c1", IMG_A, 11)])
    assert [(u.image_id, u.action, u.time_nano) for u in outcome.uses] == [
        (IMG_A, "create", 10 * SECOND),
        (IMG_A, "start", 11 * SECOND),
    ]
    assert state.running_by_image() == {IMG_A: 1}
    assert outcome.last_time_nano == 11 * SECOND


def test_a_container_created_from_a_tag_uses_the_image_the_tag_named_then():
    state = UsageState(tags={"app:1": IMG_A})
    outcome = apply_events(state, [container("create", "c1", "app:1", 5)])
    assert outcome.uses[0].image_id == IMG_A
    # The tag moves to another image: the container still holds the first one.
    apply_events(state, [Ev("image", "tag", IMG_B, {"name": "app:1"}, 6 * SECOND)])
    later = apply_events(state, [container("start", "c1", "app:1", 7)])
    assert later.uses[0].image_id == IMG_A


def test_a_short_name_means_its_latest_tag():
    state = UsageState(tags={"busybox:latest": IMG_B})
    assert apply_events(state, [container("create", "c1", "busybox", 1)]).uses[0].image_id == IMG_B


def test_an_unknown_tag_is_reported_unresolved_and_resolved_on_a_second_fold():
    state = UsageState()
    events = [container("create", "c1", "pulled:2", 1), container("start", "c1", "pulled:2", 2)]
    first = apply_events(state, events)
    assert first.uses == []
    assert ("c1", "pulled:2") in first.unresolved
    second = apply_events(state, events, {"c1": IMG_B})
    assert [u.action for u in second.uses] == ["create", "start"]
    assert state.running_by_image() == {IMG_B: 1}


def test_die_ends_running_and_is_the_last_use_destroy_forgets_the_container():
    state = UsageState()
    apply_events(state, [container("create", "c1", IMG_A, 1), container("start", "c1", IMG_A, 2)])
    died = apply_events(state, [container("die", "c1", IMG_A, 30)])
    assert [u.action for u in died.uses] == ["die"]
    assert state.running_by_image() == {}
    gone = apply_events(state, [container("destroy", "c1", IMG_A, 31)])
    assert gone.uses == []
    assert "c1" not in state.containers
    assert IMG_A in gone.touched


def test_replaying_the_same_events_gives_the_same_uses_with_the_same_keys():
    events = [container("create", "c1", IMG_A, 1), container("start", "c1", IMG_A, 2), container("die", "c1", IMG_A, 3)]
    once = apply_events(UsageState(), events)
    state = UsageState()
    apply_events(state, events)
    twice = apply_events(state, events)
    assert {u.key for u in once.uses} == {u.key for u in twice.uses}
    assert state.running_by_image() == {}


def test_replay_after_a_reconcile_ends_at_the_truth_for_each_container():
    state = UsageState()
    # The list (taken after the events) says c1 exited; the replay then brings its old start and die.
    reconcile(state, [ContainerSnapshot("c1", "web", IMG_A, False, 1 * SECOND)], {}, 100 * SECOND)
    apply_events(state, [container("start", "c1", IMG_A, 2)])
    apply_events(state, [container("die", "c1", IMG_A, 3)])
    assert state.running_by_image() == {}


def test_reconcile_proves_creation_and_present_running_use():
    state = UsageState()
    uses = reconcile(
        state,
        [
            ContainerSnapshot("c1", "web", IMG_A, True, 10 * SECOND),
            ContainerSnapshot("c2", "old", IMG_B, False, 20 * SECOND),
        ],
        {"app:1": IMG_A},
        100 * SECOND,
    )
    assert sorted((u.container_id, u.action, u.time_nano, u.history) for u in uses) == [
        ("c1", RECONCILE_CREATED, 10 * SECOND, True),
        ("c1", RECONCILE_RUNNING, 100 * SECOND, False),
        ("c2", RECONCILE_CREATED, 20 * SECOND, True),
    ]
    assert state.running_by_image() == {IMG_A: 1}
    assert state.tags == {"app:1": IMG_A}


def test_image_untag_and_delete_forget_its_tags():
    state = UsageState(tags={"app:1": IMG_A, "app:2": IMG_A, "other:1": IMG_B})
    apply_events(state, [Ev("image", "untag", IMG_A, {"name": "app:1"}, 1)])
    assert "app:1" not in state.tags
    apply_events(state, [Ev("image", "delete", IMG_B, {}, 2)])
    assert "other:1" not in state.tags


def test_exec_and_health_events_are_not_uses():
    state = UsageState()
    apply_events(state, [container("create", "c1", IMG_A, 1)])
    outcome = apply_events(state, [container("exec_start", "c1", IMG_A, 2), container("health_status", "c1", IMG_A, 3)])
    assert outcome.uses == []


# --- what "unused" may say ---------------------------------------------------------------------

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_nothing_is_known_without_a_horizon():
    assert known_unused_since(horizon=None, created=NOW - timedelta(days=90), last_used=None) is None


def test_an_old_image_unused_since_the_watch_began_is_unused_only_since_the_horizon():
    horizon = NOW - timedelta(days=10)
    since = known_unused_since(horizon=horizon, created=NOW - timedelta(days=300), last_used=None)
    assert since == horizon


def test_an_image_created_after_the_horizon_is_unused_since_its_creation():
    horizon = NOW - timedelta(days=60)
    created = NOW - timedelta(days=40)
    assert known_unused_since(horizon=horizon, created=created, last_used=None) == created


def test_a_use_after_the_horizon_restarts_the_count():
    horizon = NOW - timedelta(days=60)
    used = NOW - timedelta(days=3)
    assert known_unused_since(horizon=horizon, created=NOW - timedelta(days=100), last_used=used) == used


def test_a_use_known_from_before_the_horizon_does_not_stretch_knowledge_back():
    horizon = NOW - timedelta(days=5)
    used = NOW - timedelta(days=50)  # a container's creation, learned by reconciliation
    assert known_unused_since(horizon=horizon, created=NOW - timedelta(days=100), last_used=used) == horizon
