"""An environment's home page: where the space goes and what happened lately."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from images_app import engine
from images_app.engine import ImageInfo
from images_app.errors import EngineError, EngineUnavailable
from images_app.models import AuditEvent, CleanupRequest, Environment, PullJob
from images_app.selectors.images import DANGLING, IN_USE, UNUSED, ImageRow, SpaceSummary, image_rows, space_summary
from images_app.selectors.inventory import inventory_current
from images_app.selectors.updates import outdated_tags

LARGEST_COUNT = 5
RECENT_PULLS = 5
RECENT_EVENTS = 8

_CATEGORY_LABELS = {IN_USE: "In use", UNUSED: "Unused", DANGLING: "Dangling"}


@dataclass(frozen=True)
class BarSegment:
    """One category's slice of the space bar, in percent of the total (SVG coordinates)."""

    category: str
    label: str
    size: int
    count: int
    x: float
    width: float


def space_bar(summary: SpaceSummary) -> list[BarSegment]:
    """In use / unused / dangling as consecutive segments of a 100-wide bar (pure)."""
    segments = []
    x = 0.0
    for category in (IN_USE, UNUSED, DANGLING):
        size = getattr(summary, f"{category}_size")
        count = getattr(summary, category)
        width = round(100.0 * size / summary.size, 2) if summary.size else 0.0
        width = min(width, round(100.0 - x, 2))
        segments.append(BarSegment(category, _CATEGORY_LABELS[category], size, count, round(x, 2), width))
        x += width
    return segments


@dataclass
class Dashboard:
    summary: SpaceSummary
    bar: list[BarSegment]
    largest: list[ImageRow]
    recent_pulls: list[PullJob]
    active_pulls: int
    pending_approvals: int
    recent_events: list[AuditEvent]
    containers: int
    running_containers: int
    # Only when asked for: the engine's disk report is slow on big hosts.
    reclaimable_at_least: int | None = None
    disk_error: str = ""
    as_of: datetime | None = None  # read from the inventory while its keeper lags
    updates_available: int = 0  # local tags whose registry serves a newer image (stored checks)


def unique_bytes_of_unused(images: list[ImageInfo], per_image: Counter[str], unique_sizes: dict[str, int]) -> int:
    """Sum of the unique bytes of images no container uses: a lower bound on what removing them frees.

    A layer shared only among these images counts as shared for each of them, so it is
    missed here although removing them all would free it (pure).
    """
    return sum(unique_sizes.get(image.id, 0) for image in {i.id: i for i in images}.values() if not per_image[image.id])


def dashboard_for(environment: Environment, *, measure_disk: bool = False) -> Dashboard:
    """Everything the home page shows: two engine calls plus a few small queries.

    `measure_disk` adds the engine's disk report (`/system/df`, slow on big hosts) for a
    lower bound on the reclaimable bytes.
    """
    read = inventory_current(environment)
    if read is not None:
        images, containers, as_of = read.kept.images, read.kept.containers, read.as_of
    else:
        images, containers, as_of = engine.list_images(environment), engine.list_containers(environment), None
    per_image = Counter(c.image_id for c in containers)
    summary = space_summary(images, per_image)
    at_least, disk_error = None, ""
    if measure_disk:
        try:
            usage = engine.disk_usage(environment)
        except (EngineUnavailable, EngineError) as error:
            # The slow report timing out must not take the whole dashboard down with it.
            disk_error = error.message
        else:
            at_least = unique_bytes_of_unused(images, per_image, {k: v.unique_size for k, v in usage.items()})
    first_rows: dict[str, ImageRow] = {}
    for row in image_rows(images, containers):
        first_rows.setdefault(row.image.id, row)
    largest = sorted(first_rows.values(), key=lambda r: r.image.size, reverse=True)[:LARGEST_COUNT]
    pulls = PullJob.objects.filter(environment=environment).select_related("requested_by")
    return Dashboard(
        summary=summary,
        bar=space_bar(summary),
        largest=largest,
        recent_pulls=list(pulls.order_by("-created_at")[:RECENT_PULLS]),
        active_pulls=pulls.filter(status__in=PullJob.ACTIVE).count(),
        pending_approvals=CleanupRequest.objects.filter(
            CleanupRequest.awaiting_decision(), environment=environment
        ).count(),
        recent_events=list(
            AuditEvent.objects.filter(environment=environment.name).order_by("-created_at")[:RECENT_EVENTS]
        ),
        containers=len(containers),
        running_containers=sum(1 for c in containers if c.running),
        reclaimable_at_least=at_least,
        disk_error=disk_error,
        as_of=as_of,
        updates_available=len(outdated_tags(images)),
    )
