"""Retention rules as pure functions: images and facts in, one verdict per image out.

No engine, no database: the service (services/retention.py) gathers the facts, this decides, and the
removal planner (services/removal.py) turns the chosen references into exactly what `docker rmi` does.
Exclusions are checked first and always win; then any rule may pick the image.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from images_app.sizes_and_ages import human_size

REMOVE = "remove"  # the whole image goes (by ID)
UNTAG = "untag"  # some of its tags go; the image stays for the others
KEEP = "keep"

# Patterns: what a reference may contain plus the wildcards * and ?; no brackets (fnmatch classes).
PATTERN = re.compile(r"[A-Za-z0-9._/:@*?-]{1,255}", re.ASCII)
LABEL_KEY = re.compile(r"[A-Za-z0-9._/-]{1,255}", re.ASCII)
LABEL_VALUE = re.compile(r"[^\x00-\x1f\x7f]{0,255}")


@dataclass(frozen=True)
class Rules:
    unused_days: int | None = None
    keep_newest: int | None = None
    dangling_hours: int | None = None
    disk_budget_bytes: int | None = None
    unknown_as_unused: bool = False
    exclude_references: tuple[str, ...] = ()
    exclude_labels: tuple[str, ...] = ()  # "key" or "key=value"
    allow_force: bool = False

    @property
    def any_rule(self) -> bool:
        return any(v is not None for v in (self.unused_days, self.keep_newest, self.dangling_hours,
                                            self.disk_budget_bytes))  # fmt: skip


@dataclass(frozen=True)
class ImageFacts:
    """One image as the rules see it."""

    id: str
    tags: tuple[str, ...]
    created: datetime
    labels: dict[str, str]
    unique_size: int
    running: int = 0
    stopped: int = 0
    last_used: datetime | None = None
    unused_since: datetime | None = None  # what the watcher knows (None: nothing)


@dataclass(frozen=True)
class Verdict:
    image_id: str
    decision: str  # REMOVE, UNTAG, KEEP
    reason: str
    refs: tuple[str, ...] = ()  # what the planner gets: (image ID,) or the tags that go
    excluded: bool = False  # kept by an exclusion (not merely not picked)


@dataclass
class _Pick:
    reasons: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)  # keep-newest: only these tags qualify
    whole: bool = False


def _repository(tag: str) -> str:
    repository, sep, name = tag.rpartition(":")
    return repository if sep and "/" not in name else tag


def reference_excluded(tags: tuple[str, ...], patterns: tuple[str, ...]) -> str:
    """The first pattern matching one of the tags ("" if none). A pattern without "/" or ":" also
    matches the tag part alone, so `prod-*` keeps `app:prod-1`."""
    for pattern in patterns:
        for tag in tags:
            if fnmatchcase(tag, pattern):
                return pattern
            if "/" not in pattern and ":" not in pattern and fnmatchcase(tag.rpartition(":")[2], pattern):
                return pattern
    return ""


def label_excluded(labels: dict[str, str], exclusions: tuple[str, ...]) -> str:
    for exclusion in exclusions:
        key, sep, value = exclusion.partition("=")
        if key in labels and (not sep or labels[key] == value):
            return exclusion
    return ""


def _exclusion(image: ImageFacts, rules: Rules) -> str:
    if image.running:
        return f"in use by {image.running} running container{'s' if image.running > 1 else ''} (never removed)"
    label = label_excluded(image.labels, rules.exclude_labels)
    if label:
        return f"excluded by label {label}"
    pattern = reference_excluded(image.tags, rules.exclude_references)
    if pattern:
        return f"excluded by pattern {pattern}"
    if image.stopped and not rules.allow_force:
        return f"used by {image.stopped} stopped container{'s' if image.stopped > 1 else ''} (force not allowed)"
    return ""


def _unused_since(image: ImageFacts, rules: Rules) -> tuple[datetime | None, str]:
    if image.unused_since is not None:
        return image.unused_since, ""
    if rules.unknown_as_unused:
        known = [d for d in (image.created, image.last_used) if d is not None]
        return max(known), " (unknown use treated as unused since created)"
    return None, ""


def evaluate(images: list[ImageFacts], rules: Rules, *, now: datetime, disk_total: int | None = None) -> list[Verdict]:
    """One verdict per image. `disk_total` is the engine's exact image disk use (for the budget rule)."""
    excluded = {image.id: _exclusion(image, rules) for image in images}
    picks: dict[str, _Pick] = defaultdict(_Pick)
    for image in images:
        if excluded[image.id]:
            continue
        if rules.dangling_hours is not None and not image.tags:
            if now - image.created >= timedelta(hours=rules.dangling_hours):
                picks[image.id].reasons.append(f"dangling for more than {rules.dangling_hours} h")
                picks[image.id].whole = True
        if rules.unused_days is not None:
            since, note = _unused_since(image, rules)
            if since is not None and now - since >= timedelta(days=rules.unused_days):
                picks[image.id].reasons.append(f"unused for more than {rules.unused_days} days{note}")
                picks[image.id].whole = True
    if rules.keep_newest is not None:
        _keep_newest(images, rules.keep_newest, excluded, picks)
    if rules.disk_budget_bytes is not None and disk_total is not None:
        _disk_budget(images, rules, excluded, picks, disk_total)
    return [_verdict(image, excluded[image.id], picks.get(image.id)) for image in images]


def _keep_newest(images: list[ImageFacts], keep: int, excluded: dict[str, str], picks: dict[str, _Pick]) -> None:
    by_repository: dict[str, list[tuple[datetime, str, ImageFacts]]] = defaultdict(list)
    for image in images:
        for tag in image.tags:
            by_repository[_repository(tag)].append((image.created, tag, image))
    for repository, entries in by_repository.items():
        # Newest first; ties by tag name so the verdict is stable.
        entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
        for _, tag, image in entries[keep:]:
            if excluded[image.id]:
                continue
            pick = picks[image.id]
            pick.tags.add(tag)
            reason = f"older than the newest {keep} tags of {repository}"
            if reason not in pick.reasons:
                pick.reasons.append(reason)


def _disk_budget(
    images: list[ImageFacts], rules: Rules, excluded: dict[str, str], picks: dict[str, _Pick], disk_total: int
) -> None:
    budget = rules.disk_budget_bytes or 0
    by_id = {image.id: image for image in images}
    freed = sum(by_id[i].unique_size for i, p in picks.items() if _removes_image(by_id[i], p))
    if disk_total - freed <= budget:
        return

    def recency(image: ImageFacts) -> float:
        # Least recently used first: never-known use (or only known before the horizon) counts as oldest.
        moment = image.last_used or image.unused_since or image.created
        return moment.timestamp()

    candidates = [i for i in images if not excluded[i.id] and not _removes_image(i, picks.get(i.id))]
    for image in sorted(candidates, key=lambda i: (recency(i), i.id)):
        if disk_total - freed <= budget:
            break
        pick = picks[image.id]
        pick.whole = True
        pick.reasons.append(f"disk budget: least recently used while images take more than {human_size(budget)}")
        freed += image.unique_size


def _removes_image(image: ImageFacts, pick: _Pick | None) -> bool:
    return pick is not None and (pick.whole or (bool(pick.tags) and pick.tags >= set(image.tags)))


def _verdict(image: ImageFacts, exclusion: str, pick: _Pick | None) -> Verdict:
    if exclusion:
        return Verdict(image.id, KEEP, exclusion, excluded=True)
    if pick is None or not (pick.whole or pick.tags):
        return Verdict(image.id, KEEP, "no rule picks it")
    reason = "; ".join(pick.reasons)
    if _removes_image(image, pick):
        return Verdict(image.id, REMOVE, reason, (image.id,))
    return Verdict(image.id, UNTAG, reason, tuple(sorted(pick.tags)))
