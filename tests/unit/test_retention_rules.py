"""Retention rules from literal images: exclusions win, rules combine, the budget takes the least recently used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from images_app.retention_rules import KEEP, REMOVE, UNTAG, ImageFacts, Rules, evaluate

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def img(n: int, *tags: str, days_old: int = 100, unused_days: int | None = None, **extra) -> ImageFacts:
    created = NOW - timedelta(days=days_old)
    unused_since = NOW - timedelta(days=unused_days) if unused_days is not None else None
    return ImageFacts(
        id=f"sha256:{n:064x}", tags=tuple(tags), created=created, labels=extra.pop("labels", {}),
        unique_size=extra.pop("size", 1000), unused_since=unused_since, **extra,
    )  # fmt: skip


def by_id(verdicts):
    return {v.image_id: v for v in verdicts}


def test_unused_for_more_than_n_days_is_removed_and_recent_use_is_kept():
    old, recent = img(1, "a:1", unused_days=40), img(2, "a:2", unused_days=3)
    result = by_id(evaluate([old, recent], Rules(unused_days=30), now=NOW))
    assert result[old.id].decision == REMOVE
    assert result[old.id].refs == (old.id,)
    assert result[recent.id].decision == KEEP


def test_unknown_use_is_kept_unless_the_policy_treats_it_as_unused_since_created():
    unknown = img(1, "a:1", days_old=400)  # the watcher knows nothing of it
    assert evaluate([unknown], Rules(unused_days=30), now=NOW)[0].decision == KEEP
    verdict = evaluate([unknown], Rules(unused_days=30, unknown_as_unused=True), now=NOW)[0]
    assert verdict.decision == REMOVE
    assert "treated as unused since created" in verdict.reason


def test_running_containers_labels_and_patterns_always_win():
    images = [
        img(1, "a:1", unused_days=90, running=1),
        img(2, "b:prod-7", unused_days=90),
        img(3, "reg/base:3", unused_days=90),
        img(4, "c:1", unused_days=90, labels={"berth.keep": "true"}),
        img(5, "d:1", unused_days=90),
    ]
    rules = Rules(unused_days=30, exclude_references=("prod-*", "*/base:*"), exclude_labels=("berth.keep=true",))
    result = by_id(evaluate(images, rules, now=NOW))
    assert [result[i.id].decision for i in images] == [KEEP, KEEP, KEEP, KEEP, REMOVE]
    assert "running" in result[images[0].id].reason
    assert result[images[1].id].reason == "excluded by pattern prod-*"
    assert result[images[2].id].reason == "excluded by pattern */base:*"
    assert result[images[3].id].reason == "excluded by label berth.keep=true"


def test_a_label_exclusion_with_another_value_does_not_apply():
    image = img(1, "a:1", unused_days=90, labels={"berth.keep": "false"})
    assert evaluate([image], Rules(unused_days=30, exclude_labels=("berth.keep=true",)), now=NOW)[0].decision == REMOVE


def test_stopped_containers_keep_their_image_unless_force_is_allowed():
    image = img(1, "a:1", unused_days=90, stopped=2)
    assert evaluate([image], Rules(unused_days=30), now=NOW)[0].decision == KEEP
    assert evaluate([image], Rules(unused_days=30, allow_force=True), now=NOW)[0].decision == REMOVE


def test_keep_newest_k_tags_per_repository_untags_or_removes_the_older_ones():
    newest = img(1, "app:3", days_old=1)
    middle = img(2, "app:2", "app:latest", days_old=5)
    oldest = img(3, "app:1", days_old=9)
    other = img(4, "other:1", days_old=50)
    result = by_id(evaluate([newest, middle, oldest, other], Rules(keep_newest=2), now=NOW))
    assert result[newest.id].decision == KEEP
    # app:latest and app:2 are one image: by tag name the second one kept is app:latest.
    assert result[middle.id].decision == UNTAG
    assert result[middle.id].refs == ("app:2",)
    assert result[oldest.id].decision == REMOVE
    assert result[other.id].decision == KEEP


def test_dangling_images_older_than_n_hours_go_younger_ones_stay():
    old, young = img(1, days_old=2), img(2, days_old=0)
    result = by_id(evaluate([old, young], Rules(dangling_hours=24), now=NOW))
    assert result[old.id].decision == REMOVE
    assert result[young.id].decision == KEEP


def test_the_disk_budget_removes_least_recently_used_until_under_it():
    lru = img(1, "a:1", unused_days=20, size=400)
    mid = img(2, "b:1", unused_days=10, size=400)
    mru = img(3, "c:1", unused_days=1, size=400)
    running = img(4, "d:1", running=1, size=400)
    result = by_id(evaluate([mru, lru, running, mid], Rules(disk_budget_bytes=900), now=NOW, disk_total=1600))
    assert [result[i.id].decision for i in (lru, mid, mru, running)] == [REMOVE, REMOVE, KEEP, KEEP]
    assert "disk budget" in result[lru.id].reason


def test_under_the_budget_nothing_goes_for_it():
    image = img(1, "a:1", unused_days=20)
    assert evaluate([image], Rules(disk_budget_bytes=10_000), now=NOW, disk_total=5_000)[0].decision == KEEP


def test_no_rule_keeps_everything():
    assert {v.decision for v in evaluate([img(1, "a:1", unused_days=999), img(2)], Rules(), now=NOW)} == {KEEP}
