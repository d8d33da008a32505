"""What crosses layers and is stored as JSON: the frozen item, one item's result, their vocabularies.

A frozen item is what the person confirmed (the confirmation page's hidden snapshot, a request's
items, a job's items); a result is what executing one did (a job's and a request's results).
Both live in JSON columns and forms, so each has one explicit to_json/from_json pair: readers
use attributes, and a damaged or forged document fails in from_json, not three layers later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models


class Action(models.TextChoices):
    """What the engine will do with a reference."""

    UNTAG = "untag"  # other references remain: only this tag goes
    DELETE = "delete"  # the image goes (with the tags listed)


class Outcome(models.TextChoices):
    """What executing one frozen item did."""

    REMOVED = "removed"  # the engine deleted the image
    UNTAGGED = "untagged"  # the engine removed the tag(s); the image stays
    SKIPPED = "skipped"  # not attempted: the engine changed since confirmation
    GONE = "gone"  # nothing to do: already removed
    FAILED = "failed"  # the engine refused or failed


OK_OUTCOMES = frozenset({Outcome.REMOVED, Outcome.UNTAGGED, Outcome.GONE})


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(value)


def _string(data: Mapping[str, Any], name: str, *, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


@dataclass(frozen=True)
class FrozenItem:
    """One confirmed removal, executed later exactly as shown (re-checked against the engine first)."""

    image_id: str
    reference: str  # what the engine gets: a tag, or the full image ID
    tags: tuple[str, ...] = ()
    force: bool = False
    action: str = ""  # an Action ("" only in documents older than the field)
    by_id: bool = False
    containers: tuple[str, ...] = ()  # IDs of the containers that used the image when confirmed
    unique_size: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "reference": self.reference,
            "tags": list(self.tags),
            "force": self.force,
            "action": self.action,
            "by_id": self.by_id,
            "containers": list(self.containers),
            "unique_size": self.unique_size,
        }

    @classmethod
    def from_json(cls, data: object) -> FrozenItem:
        """ValueError when `data` is not a frozen item (a damaged or forged form, a bad row)."""
        if not isinstance(data, Mapping):
            raise ValueError("an item must be an object")
        action = data.get("action") or ""
        if action not in ("", *Action.values):
            raise ValueError(f"unknown action {action!r}")
        size = data.get("unique_size") or 0
        if not isinstance(size, int) or isinstance(size, bool):
            raise ValueError("unique_size must be a whole number")
        return cls(
            image_id=_string(data, "image_id"),
            reference=_string(data, "reference"),
            tags=_strings(data.get("tags") or [], "tags"),
            force=bool(data.get("force")),
            action=action,
            by_id=bool(data.get("by_id")),
            containers=_strings(data.get("containers") or [], "containers"),
            unique_size=size,
        )


def items_from_json(data: object) -> list[FrozenItem]:
    if not isinstance(data, list):
        raise ValueError("the items must be a list")
    return [FrozenItem.from_json(item) for item in data]


def items_to_json(items: Iterable[FrozenItem]) -> list[dict[str, Any]]:
    return [item.to_json() for item in items]


@dataclass(frozen=True)
class ItemResult:
    """What executing one frozen item did, with what the engine said."""

    reference: str
    image_id: str
    outcome: Outcome
    message: str
    untagged: tuple[str, ...] = field(default=())
    deleted: tuple[str, ...] = field(default=())
    force: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES

    def report_text(self) -> str:
        """What the engine said (Untagged: ..., Deleted: sha256:...), or the message when it said nothing."""
        lines = [f"Untagged: {t}" for t in self.untagged] + [f"Deleted: {d}" for d in self.deleted]
        return "; ".join(lines) if lines else self.message

    def to_json(self) -> dict[str, Any]:
        # "ok" is stored too: pages read results straight from the JSON column.
        return {
            "reference": self.reference,
            "image_id": self.image_id,
            "outcome": str(self.outcome),
            "ok": self.ok,
            "message": self.message,
            "untagged": list(self.untagged),
            "deleted": list(self.deleted),
            "force": self.force,
        }

    @classmethod
    def from_json(cls, data: object) -> ItemResult:
        if not isinstance(data, Mapping):
            raise ValueError("a result must be an object")
        return cls(
            reference=_string(data, "reference"),
            image_id=_string(data, "image_id", default=""),
            outcome=Outcome(_string(data, "outcome")),
            message=_string(data, "message", default=""),
            untagged=_strings(data.get("untagged") or [], "untagged"),
            deleted=_strings(data.get("deleted") or [], "deleted"),
            force=bool(data.get("force")),
        )


def results_from_json(data: object) -> list[ItemResult]:
    if not isinstance(data, list):
        raise ValueError("the results must be a list")
    return [ItemResult.from_json(item) for item in data]


def results_summary(results: Iterable[ItemResult]) -> dict[str, int]:
    """How many items ended with each outcome (every outcome present, zero or not)."""
    summary = {str(outcome): 0 for outcome in Outcome}
    for result in results:
        summary[str(result.outcome)] += 1
    return summary
