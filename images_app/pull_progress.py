"""Turning the engine's pull events into per-layer and overall progress.

Pure (no I/O): the worker feeds it every event, pages and streams read its
snapshot. Progress is computed from `progressDetail` only: the `progress` text
is deprecated since API 1.48 and gone in Engine 29. Both image stores are
understood: the classic one (Verifying Checksum, byte counts while extracting)
and containerd's (`hidecounts`, Extracting in seconds without a total).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from images_app.pull_snapshot import LayerSnapshot, Overall, ProgressSnapshot
from images_app.sizes_and_ages import human_size

WAITING = "waiting"
DOWNLOADING = "downloading"
RETRYING = "retrying"
VERIFYING = "verifying"
DOWNLOADED = "downloaded"
EXTRACTING = "extracting"
COMPLETE = "complete"
EXISTS = "exists"
# A layer in one of these has all its bytes: it counts as fully downloaded.
_HAVE_BYTES = {VERIFYING, DOWNLOADED, EXTRACTING, COMPLETE}
_DONE = {COMPLETE, EXISTS}

_STATUS_BY_TEXT = {
    "Pulling fs layer": WAITING,
    "Waiting": WAITING,
    "Downloading": DOWNLOADING,
    "Verifying Checksum": VERIFYING,
    "Download complete": DOWNLOADED,
    "Extracting": EXTRACTING,
    "Pull complete": COMPLETE,
    "Already exists": EXISTS,
}
_RETRYING = re.compile(r"^Retrying in (\d+) seconds?$")
_DIGEST = re.compile(r"^Digest: (\S+)$")
_FINAL = re.compile(r"^Status: (.+)$")


@dataclass
class LayerProgress:
    id: str
    state: str = WAITING
    downloaded: int = 0
    size: int | None = None  # unknown until the first Downloading event carries a total
    extracted: int = 0
    extract_total: int | None = None
    extract_seconds: int | None = None  # containerd: elapsed seconds, no total

    def download_fraction(self) -> float:
        if self.state in _HAVE_BYTES or self.state == EXISTS:
            return 1.0
        if self.size:
            return min(1.0, self.downloaded / self.size)
        return 0.0

    def extract_fraction(self) -> float:
        if self.state in _DONE:
            return 1.0
        if self.state == EXTRACTING and self.extract_total:
            return min(1.0, self.extracted / self.extract_total)
        return 0.0

    def percent(self) -> int:
        """What the layer's bar shows: the download, then the extraction, like the CLI's bar."""
        if self.state in _DONE:
            return 100
        if self.state == EXTRACTING:
            # Seconds without a total (containerd) cannot be a fraction: show the download as done.
            return round(100 * self.extract_fraction()) if self.extract_total else 100
        return round(100 * self.download_fraction())

    def text(self) -> str:
        if self.state == DOWNLOADING:
            if self.size:
                return f"Downloading {human_size(self.downloaded)} of {human_size(self.size)}"
            return f"Downloading {human_size(self.downloaded)}"
        if self.state == EXTRACTING:
            if self.extract_total:
                return f"Extracting {human_size(self.extracted)} of {human_size(self.extract_total)}"
            if self.extract_seconds is not None:
                return f"Extracting ({self.extract_seconds} s)"
            return "Extracting"
        return {
            WAITING: "Waiting",
            RETRYING: "Retrying",
            VERIFYING: "Verifying checksum",
            DOWNLOADED: "Download complete",
            COMPLETE: "Pull complete",
            EXISTS: "Already exists",
        }.get(self.state, self.state)

    def snapshot(self) -> LayerSnapshot:
        return LayerSnapshot(
            id=self.id,
            state=self.state,
            current=self.size if self.state in _HAVE_BYTES and self.size else self.downloaded,
            total=self.size or 0,
            percent=self.percent(),
            text=self.text(),
        )


class PullProgress:
    """The state of one pull, event by event."""

    def __init__(self) -> None:
        self.layers: dict[str, LayerProgress] = {}
        self.digest = ""
        self.status_line = ""
        self.message = ""  # the last status that is not about a layer ("Pulling from app")

    def apply(self, event: dict[str, Any]) -> LayerProgress | None:
        """Fold one event in; returns the layer it changed, if any."""
        status = str(event.get("status") or "")
        layer_id = event.get("id")
        detail = event.get("progressDetail") or {}
        if not isinstance(detail, dict):
            detail = {}

        if match := _DIGEST.match(status):
            self.digest = match.group(1)
            return None
        if match := _FINAL.match(status):
            self.status_line = match.group(1)
            return None
        state = _STATUS_BY_TEXT.get(status)
        if state is None and _RETRYING.match(status):
            state = RETRYING
        if state is None or not layer_id:
            # "Pulling from repo" (its id is the tag, not a layer) and anything new we do not know.
            if status:
                self.message = status
            return None

        layer = self.layers.get(layer_id)
        if layer is None:
            layer = self.layers[layer_id] = LayerProgress(id=str(layer_id))
        self._update(layer, state, detail)
        return layer

    @staticmethod
    def _update(layer: LayerProgress, state: str, detail: dict[str, Any]) -> None:
        current = _int(detail.get("current"))
        total = _int(detail.get("total"))
        if state == DOWNLOADING:
            if total:
                layer.size = total
            if current is not None:
                layer.downloaded = current
        elif state == EXTRACTING:
            if detail.get("units") == "s":
                # containerd store: seconds elapsed, never bytes.
                layer.extract_seconds = current
            else:
                if total:
                    layer.extract_total = total
                    # Extracting counts the layer's (compressed) bytes: a size we may not have had.
                    layer.size = layer.size or total
                if current is not None:
                    layer.extracted = current
        elif state in (DOWNLOADED, VERIFYING) and layer.size:
            # `hidecounts` (containerd) carries no numbers: the download is simply whole.
            layer.downloaded = layer.size
        layer.state = state

    @property
    def finished(self) -> bool:
        return bool(self.status_line)

    def bytes_total(self) -> int:
        """Sum of the sizes we know; layers that already exist are not downloaded."""
        return sum(layer.size or 0 for layer in self.layers.values() if layer.state != EXISTS)

    def bytes_done(self) -> int:
        return sum(
            round((layer.size or 0) * layer.download_fraction())
            for layer in self.layers.values()
            if layer.state != EXISTS
        )

    def percent(self) -> int:
        """Downloads and extractions weigh half each, by layer size: the bar reaches 100 only when done."""
        if self.finished:
            return 100
        layers = [layer for layer in self.layers.values() if layer.state != EXISTS]
        total = sum(layer.size or 0 for layer in layers)
        if not total:
            return 0
        done = sum((layer.size or 0) * (layer.download_fraction() + layer.extract_fraction()) / 2 for layer in layers)
        return min(99, int(100 * done / total))

    def overall(self) -> Overall:
        total = self.bytes_total()
        done = total if self.finished else self.bytes_done()
        return Overall(bytes_done=done, bytes_total=total, percent=self.percent())

    def snapshot(self) -> ProgressSnapshot:
        """Everything a page needs to draw the pull as it is now."""
        return ProgressSnapshot(
            layers=tuple(layer.snapshot() for layer in self.layers.values()),
            overall=self.overall(),
            digest=self.digest,
            status_line=self.status_line,
            message=self.message,
        )

    def work_done(self) -> tuple[int, int, int]:
        """What has moved so far (bytes downloaded, bytes extracted, layers done): unchanged means stalled."""
        layers = self.layers.values()
        return (
            sum(layer.downloaded for layer in layers),
            sum(layer.extracted for layer in layers),
            sum(1 for layer in layers if layer.state in _DONE),
        )

    @property
    def retrying(self) -> bool:
        return any(layer.state == RETRYING for layer in self.layers.values())


class StallWatch:
    """Notices a pull that only waits on the engine's retries (its registry went away mid-pull).

    The engine retries a broken layer download five times, 5 to 20 s apart (over a
    minute in all) and keeps sending countdown events meanwhile, so the stream
    never goes quiet: the limit is on time spent retrying with no work done.
    """

    def __init__(self, limit_seconds: float) -> None:
        self.limit = limit_seconds
        self.since: float | None = None
        self.marker: tuple[int, int, int] | None = None

    def stalled_for(self, progress: PullProgress, now: float) -> float | None:
        """Seconds spent retrying without progress once past the limit, else None."""
        marker = progress.work_done()
        if not progress.retrying or marker != self.marker:
            self.since = now if progress.retrying else None
            self.marker = marker
            return None
        if self.since is None:
            self.since = now
        waited = now - self.since
        return waited if waited >= self.limit else None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    return None
