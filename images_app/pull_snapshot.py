"""A pull's progress at one moment, as it crosses layers: worker -> Redis snapshot key, PullJob.progress,
the pull page and its event stream. Frozen dataclasses with explicit to_json/from_json, so readers use
attributes and a damaged document fails in from_json (pull_progress.PullProgress builds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def _json_int(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name) or 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number")
    return value


def _json_str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


@dataclass(frozen=True)
class LayerSnapshot:
    """One layer as the pull page draws it."""

    id: str
    state: str
    current: int
    total: int
    percent: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "current": self.current,
            "total": self.total,
            "percent": self.percent,
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: object) -> LayerSnapshot:
        if not isinstance(data, Mapping):
            raise ValueError("a layer must be an object")
        return cls(
            id=_json_str(data, "id"),
            state=_json_str(data, "state"),
            current=_json_int(data, "current"),
            total=_json_int(data, "total"),
            percent=_json_int(data, "percent"),
            text=_json_str(data, "text"),
        )


@dataclass(frozen=True)
class Overall:
    """The whole pull's bytes and percent."""

    bytes_done: int
    bytes_total: int
    percent: int

    def to_json(self) -> dict[str, Any]:
        return {"bytes_done": self.bytes_done, "bytes_total": self.bytes_total, "percent": self.percent}

    @classmethod
    def from_json(cls, data: object) -> Overall:
        if not isinstance(data, Mapping):
            raise ValueError("overall must be an object")
        return cls(_json_int(data, "bytes_done"), _json_int(data, "bytes_total"), _json_int(data, "percent"))


@dataclass(frozen=True)
class ProgressSnapshot:
    """A pull's progress at one moment (PullJob.progress, Redis's snapshot key, the pages' state)."""

    layers: tuple[LayerSnapshot, ...]
    overall: Overall
    digest: str
    status_line: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "layers": [layer.to_json() for layer in self.layers],
            "overall": self.overall.to_json(),
            "digest": self.digest,
            "status_line": self.status_line,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: object) -> ProgressSnapshot | None:
        """None for an empty document (a job that has not reported progress yet); ValueError when damaged."""
        if not data:
            return None
        if not isinstance(data, Mapping):
            raise ValueError("a progress snapshot must be an object")
        layers = data.get("layers") or []
        if not isinstance(layers, list):
            raise ValueError("layers must be a list")
        return cls(
            layers=tuple(LayerSnapshot.from_json(layer) for layer in layers),
            overall=Overall.from_json(data.get("overall") or {}),
            digest=_json_str(data, "digest"),
            status_line=_json_str(data, "status_line"),
            message=_json_str(data, "message"),
        )
