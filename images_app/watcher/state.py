"""Events in, uses out: the watcher's logic as pure functions over plain data.

Nothing here talks to the engine or the database, so unit tests feed it literal events and a
process on another host could run it for its own engine. Replaying the same events again changes
nothing: uses are keyed by (container, action, engine time) and "last used" only moves forward,
which is what makes "replay from the last stored event" safe after any crash.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

# Container actions that are a use of the image: created from it, started from it. A container
# that dies was in use until that moment, so its image's "last used" moves to the death too.
USE_ACTIONS = ("create", "start", "die")
# What makes a container hold its image "now" (a paused or restarting container still does).
_RUNNING_ON = ("start", "unpause", "restart")
_RUNNING_OFF = ("die", "kill_stopped", "destroy")
RECONCILE_RUNNING = "running"  # a use recorded by reconciliation: seen running at that moment
RECONCILE_CREATED = "created"  # a use recorded by reconciliation: the container's creation


class EventLike(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def actor_id(self) -> str: ...
    @property
    def attributes(self) -> dict[str, str]: ...
    @property
    def time_nano(self) -> int: ...


@dataclass(frozen=True)
class ContainerSnapshot:
    """A container as the engine's list shows it (the reconciliation's input)."""

    id: str
    name: str
    image_id: str
    running: bool
    created_nano: int


@dataclass(frozen=True)
class Use:
    """One use of an image by a container, at engine time."""

    image_id: str
    container_id: str
    container_name: str
    action: str
    time_nano: int
    history: bool = True  # False: counts for "last used" only, not a line of the use history

    @property
    def key(self) -> tuple[str, str, int]:
        """Two watchers, or a replay, seeing the same event produce the same key: stored once."""
        return (self.container_id, self.action, self.time_nano)


@dataclass
class _Container:
    image_id: str
    name: str
    running: bool


@dataclass
class UsageState:
    """What the watcher remembers between events: containers, their images and whether they run.

    Rebuilt from the container list on every (re)connection, so it is never persisted.
    """

    containers: dict[str, _Container] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # "repo:tag" -> image ID

    def running_by_image(self) -> Counter[str]:
        return Counter(c.image_id for c in self.containers.values() if c.running)


@dataclass
class Outcome:
    """What applying events produced: uses to record, images whose running count may have changed,
    and containers whose image the events could not name (the caller asks the engine)."""

    uses: list[Use] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    unresolved: list[tuple[str, str]] = field(default_factory=list)  # (container ID, image as written)
    last_time_nano: int = 0


def is_image_id(value: str) -> bool:
    hex_part = value.removeprefix("sha256:")
    return len(hex_part) == 64 and all(ch in "0123456789abcdef" for ch in hex_part)


def _canonical_id(value: str) -> str:
    return value if value.startswith("sha256:") else f"sha256:{value}"


def _with_latest(reference: str) -> str:
    # "busybox" and "busybox:latest" are one tag; a digest reference is left as is.
    last = reference.rsplit("/", 1)[-1]
    return reference if (":" in last or "@" in reference) else f"{reference}:latest"


def resolve_image(state: UsageState, container_id: str, written: str) -> str:
    """The image ID a container event is about, or "" when the events alone cannot say."""
    known = state.containers.get(container_id)
    if known is not None:
        return known.image_id
    if is_image_id(written):
        return _canonical_id(written)
    return state.tags.get(_with_latest(written), "")


def apply_events(state: UsageState, events: Sequence[EventLike], resolved: dict[str, str] | None = None) -> Outcome:
    """Fold events (in engine order) into `state`; `resolved` names images the caller looked up."""
    outcome = Outcome()
    for event in events:
        outcome.last_time_nano = max(outcome.last_time_nano, event.time_nano)
        if event.type == "container":
            _apply_container(state, event, resolved or {}, outcome)
        elif event.type == "image":
            _apply_image(state, event)
    return outcome


def _apply_container(state: UsageState, event: EventLike, resolved: dict[str, str], outcome: Outcome) -> None:
    cid = event.actor_id
    written = event.attributes.get("image", "")
    name = event.attributes.get("name", "") or cid[:12]
    image_id = resolve_image(state, cid, written) or resolved.get(cid, "")
    if not image_id:
        if event.action in USE_ACTIONS:
            outcome.unresolved.append((cid, written))
        return
    container = state.containers.get(cid)
    if container is None:
        container = state.containers[cid] = _Container(image_id=image_id, name=name, running=False)
    if event.action in _RUNNING_ON:
        container.running = True
    elif event.action in _RUNNING_OFF:
        container.running = False
    if event.action == "destroy":
        state.containers.pop(cid, None)
    outcome.touched.add(image_id)
    if event.action in USE_ACTIONS:
        outcome.uses.append(Use(image_id, cid, name, event.action, event.time_nano))


def _apply_image(state: UsageState, event: EventLike) -> None:
    name = event.attributes.get("name", "")
    if event.action == "tag" and name and is_image_id(event.actor_id):
        state.tags[_with_latest(name)] = _canonical_id(event.actor_id)
    elif event.action == "untag" and is_image_id(event.actor_id):
        image_id = _canonical_id(event.actor_id)
        for tag in [t for t, i in state.tags.items() if i == image_id]:
            del state.tags[tag]
    elif event.action == "delete" and is_image_id(event.actor_id):
        image_id = _canonical_id(event.actor_id)
        for tag in [t for t, i in state.tags.items() if i == image_id]:
            del state.tags[tag]


def reconcile(state: UsageState, containers: list[ContainerSnapshot], tags: dict[str, str], now_nano: int) -> list[Use]:
    """Replace the remembered containers with the engine's list; the uses that list proves.

    A running container is a use now; every existing container was created from its image
    (a use at its creation time, even if that is before the watch began: it is a fact).
    """
    state.containers = {c.id: _Container(c.image_id, c.name, c.running) for c in containers if c.image_id}
    state.tags = dict(tags)
    uses = []
    for c in containers:
        if not c.image_id:
            continue
        uses.append(Use(c.image_id, c.id, c.name, RECONCILE_CREATED, c.created_nano))
        if c.running:
            # Running now is "in use now", not an event worth a history line at every reconnection.
            uses.append(Use(c.image_id, c.id, c.name, RECONCILE_RUNNING, now_nano, history=False))
    return uses


# --- what "unused" may honestly mean -------------------------------------------------------------


def nano_to_datetime(nano: int) -> datetime:
    return datetime.fromtimestamp(nano / 1_000_000_000, tz=UTC)


def known_unused_since(
    *,
    horizon: datetime | None,
    created: datetime | None,
    last_used: datetime | None,
    first_seen: datetime | None = None,
) -> datetime | None:
    """Since when the image is known to have been unused; None when nothing can be said.

    Before the watch horizon nothing is known, so the answer is never earlier than the
    horizon, unless the image was created (or first seen) after it. The caller checks that
    no container runs it now (then it is in use, whatever this says).
    """
    if horizon is None:
        return None
    candidates = [horizon]
    candidates += [value for value in (created, last_used, first_seen) if value is not None]
    return max(candidates)
