"""What the image pages show, assembled from a constant number of engine calls (or none, from the inventory).

Why one module over ~350 lines: the list's rows, filters, sort, totals and the image page share the
row type and its rules; the inventory (selectors/inventory.py), last use (selectors/usage.py) and
update state (selectors/updates.py) already live beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.utils import timezone

from images_app import engine
from images_app.engine import ContainerInfo, DiskUsage, HistoryEntry, ImageDetail, ImageInfo
from images_app.errors import EngineError, EngineUnavailable, ImageNotFound
from images_app.models import Environment
from images_app.references import (
    ImageStatus,
    id_hex,
    id_starts_with,
    image_status,
    is_image_id_like,
    repository_of,
    split_repo_tag,
)
from images_app.selectors.inventory import InventoryRead, KeptInventory, inventory_current
from images_app.selectors.stamps import records_stamp
from images_app.selectors.updates import OUTDATED, outdated_rows
from images_app.selectors.usage import (
    LastUse,
    UsageValues,
    WatchInfo,
    last_use_of,
    parse_duration,
    usage_values,
    watch_info,
)

IN_USE, UNUSED, DANGLING = ImageStatus.IN_USE, ImageStatus.UNUSED, ImageStatus.DANGLING
STATUS_CHOICES = [*ImageStatus.choices(), (OUTDATED, "Update available")]
SORT_COLUMNS = ("repository", "tag", "id", "created", "size", "last_used", "status")


OTHER_TAGS_SHOWN = 8


@dataclass(frozen=True)
class ImageRow:
    """One line of `docker image ls`: an image under one of its tags (or `<none>`)."""

    image: ImageInfo
    repository: str
    tag: str
    running_containers: int
    stopped_containers: int
    tag_index: int = 1  # this row is tag `tag_index` of `tag_count`
    last_use: LastUse | None = None  # what the watcher knows (None: not asked for)

    @property
    def reference(self) -> str:
        """What removing or pulling this row names: the tag, or the image ID when untagged."""
        return f"{self.repository}:{self.tag}" if self.tag != "<none>" else self.image.id

    @property
    def tagged(self) -> bool:
        return self.tag != "<none>"

    @property
    def containers(self) -> int:
        return self.running_containers + self.stopped_containers

    @property
    def in_use(self) -> bool:
        return self.containers > 0

    @property
    def tag_count(self) -> int:
        return len(self.image.repo_tags)

    @property
    def status(self) -> ImageStatus:
        return image_status(tagged=not self.image.dangling, containers=self.containers)

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ")

    @property
    def other_tags_text(self) -> str:
        """A tooltip naming the image's other tags, capped: a host may tag one image hundreds of times."""
        reference = self.reference
        others = [t for t in self.image.repo_tags if t != reference]
        shown = ", ".join(others[:OTHER_TAGS_SHOWN])
        hidden = len(others) - OTHER_TAGS_SHOWN
        return f"{shown} and {hidden} more" if hidden > 0 else shown


def image_rows(
    images: list[ImageInfo],
    containers: list[ContainerInfo],
    *,
    usage: dict[str, UsageValues] | None = None,
    horizon: datetime | None = None,
) -> list[ImageRow]:
    """One row per tag; with `usage` (the watcher's rows), each row knows its last use."""
    running = Counter(c.image_id for c in containers if c.running)
    stopped = Counter(c.image_id for c in containers if not c.running)
    rows = []
    for image in images:
        last_use = None
        if usage is not None:
            last_use = last_use_of(usage.get(image.id), horizon=horizon, created=image.created)
            # The container list just read is fresher than the watcher's count: it decides "in use now".
            last_use = replace(last_use, running=running[image.id])
        # Like the CLI: an untagged image that still has a digest shows its repository.
        names = (
            [split_repo_tag(t) for t in image.repo_tags]
            or [(repository_of(d), "<none>") for d in image.repo_digests[:1]]
            or [("<none>", "<none>")]
        )
        for index, (repository, tag) in enumerate(names, start=1):
            rows.append(ImageRow(image, repository, tag, running[image.id], stopped[image.id], index, last_use))
    return rows


# --- the list: filters, sort, totals ------------------------------------------


@dataclass(frozen=True)
class ImageListQuery:
    """What the list shows: the validated filter and sort form, as plain data."""

    text: str = ""
    status: str = ""  # "", in_use, unused, dangling
    reference: str = ""  # engine filters, passed as given (validated by the form)
    before: str = ""
    since: str = ""
    label: str = ""
    unused_for: str = ""  # "30d": known unused at least that long (validated by the form)
    sort: str = "created"
    order: str = "desc"

    def engine_filters(self) -> dict[str, list[str]]:
        """The CLI's own filters, for the engine's `GET /images/json?filters=`."""
        filters = {}
        for name in ("reference", "before", "since", "label"):
            value = getattr(self, name)
            if value:
                filters[name] = [value]
        return filters

    @property
    def descending(self) -> bool:
        return self.order == "desc"

    @property
    def unused_for_delta(self) -> timedelta | None:
        return parse_duration(self.unused_for) if self.unused_for else None


@dataclass
class SpaceSummary:
    """Images and bytes by category. Sizes count each image once (shared layers per image, as the CLI)."""

    images: int = 0
    tags: int = 0
    size: int = 0
    in_use: int = 0
    in_use_size: int = 0
    unused: int = 0
    unused_size: int = 0
    dangling: int = 0
    dangling_size: int = 0

    @property
    def reclaimable(self) -> int:
        """At most this many bytes go if every image no container uses is removed.

        An upper bound: a layer such an image shares with a kept image stays on disk.
        The exact unique size needs the engine's slow disk-usage walk (image page only).
        """
        return self.unused_size + self.dangling_size

    @property
    def reclaimable_images(self) -> int:
        return self.unused + self.dangling


def space_summary(images: Iterable[ImageInfo], containers_by_image: dict[str, int]) -> SpaceSummary:
    """Counts and bytes per category over distinct images (pure; the list and the dashboard share it)."""
    summary = SpaceSummary()
    seen: set[str] = set()
    for image in images:
        if image.id in seen:
            continue
        seen.add(image.id)
        summary.images += 1
        summary.tags += len(image.repo_tags)
        summary.size += image.size
        status = image_status(tagged=not image.dangling, containers=containers_by_image.get(image.id, 0))
        setattr(summary, status, getattr(summary, status) + 1)
        setattr(summary, f"{status}_size", getattr(summary, f"{status}_size") + image.size)
    return summary


def row_matches_text(row: ImageRow, text: str) -> bool:
    """The search box: part of repository or tag (or "repo:tag"), or the start of the image ID."""
    needle = text.strip().lower()
    if not needle:
        return True
    if needle in row.repository.lower() or needle in row.tag.lower():
        return True
    if row.tagged and needle in f"{row.repository}:{row.tag}".lower():
        return True
    return id_starts_with(row.image.id, needle)


def _status_rank(row: ImageRow) -> tuple[int, int, int]:
    # Ascending reads "most removable first": dangling, unused, then by container count.
    rank = {DANGLING: 0, UNUSED: 1, IN_USE: 2}[row.status]
    return rank, row.containers, row.running_containers


def _none_last(value: str) -> tuple[bool, str]:
    return value == "<none>", value.lower()


SORT_KEYS: dict[str, Callable[[ImageRow], Any]] = {
    "repository": lambda r: (_none_last(r.repository), _none_last(r.tag)),
    "tag": lambda r: (_none_last(r.tag), _none_last(r.repository)),
    "id": lambda r: r.image.id,
    "created": lambda r: r.image.created,
    "size": lambda r: r.image.size,
    "last_used": lambda r: r.last_use.sort_key() if r.last_use else float("-inf"),
    "status": _status_rank,
}


def sort_rows(rows: list[ImageRow], sort: str, descending: bool) -> list[ImageRow]:
    """Sorted by one column; ties keep the CLI's order (newest first, then by name)."""
    ordered = sorted(rows, key=lambda r: (r.repository, r.tag))
    ordered.sort(key=lambda r: r.image.created, reverse=True)
    ordered.sort(key=SORT_KEYS[sort], reverse=descending)
    return ordered


def _unused_long_enough(row: ImageRow, delta: timedelta, now: datetime) -> bool:
    # Only what the watcher saw: an image whose use before the horizon is unknown never qualifies early.
    unused = row.last_use.unused_for(now) if row.last_use else None
    return unused is not None and unused >= delta


def filter_rows(rows: Iterable[ImageRow], query: ImageListQuery) -> list[ImageRow]:
    """The filters the engine cannot apply: the search text, the in-use status, unused for.

    status=outdated is not a row status: `apply_filters` applies it from the stored update checks.
    """
    status = query.status if query.status != OUTDATED else ""
    delta = query.unused_for_delta
    now = timezone.now()
    return [
        row
        for row in rows
        if (not status or row.status == status)
        and (not query.text or row_matches_text(row, query.text))
        and (delta is None or _unused_long_enough(row, delta, now))
    ]


@dataclass
class ImageListing:
    rows: list[ImageRow]  # filtered and sorted, all of them (the view pages them)
    totals: SpaceSummary
    watch: WatchInfo | None = None  # the horizon the Last used column speaks from
    as_of: datetime | None = None  # from the inventory while its keeper lags: the engine as it was then
    engine_total: int = 0  # images the engine returned, before Berth's own filters
    filtered: bool = False
    engine_filtered: bool = False  # then engine_total is not the engine's whole count
    # The rows are the inventory's prepared objects (not a live read), the same for every page
    # until it changes.
    prepared: bool = False

    @property
    def of_total(self) -> int | None:
        """The engine's image count to show as "n of m", when this page knows it."""
        return self.engine_total if self.filtered and not self.engine_filtered else None


def image_listing(environment: Environment, query: ImageListQuery | None = None) -> ImageListing:
    """The list page's rows and totals, with what the watcher knows (last use of every image, the horizon).

    From the event-kept inventory when it is current: no engine call, and rows, sorted
    orders and totals prepared once per change. Otherwise, and for the filters only the
    engine applies (reference, before, since, label), two engine calls (images,
    containers) whatever the count. Raises ImageNotFound when `before=`/`since=` name an
    image the engine does not have.
    """
    query = query or ImageListQuery()
    watch = watch_info(environment)
    kept = None if query.engine_filters() else inventory_current(environment)
    if kept is not None:
        return _listing_from_inventory(environment, kept, watch, query)
    images = engine.list_images(environment, filters=query.engine_filters())
    containers = engine.list_containers(environment)
    rows = image_rows(images, containers, usage=usage_values(environment), horizon=watch.horizon)
    per_image = Counter(c.image_id for c in containers)
    return _listing(apply_filters(rows, query), per_image, query, engine_total=len(images), watch=watch)


def apply_filters(rows: list[ImageRow], query: ImageListQuery) -> list[ImageRow]:
    """Berth's own filters, then status=outdated from the stored update checks (one query)."""
    rows = filter_rows(rows, query)
    return outdated_rows(rows) if query.status == OUTDATED else rows


def _listing(
    rows: list[ImageRow],
    per_image: Counter[str],
    query: ImageListQuery,
    *,
    engine_total: int,
    watch: WatchInfo,
    presorted: bool = False,
) -> ImageListing:
    shown = {row.image.id: row.image for row in rows}
    totals = space_summary(shown.values(), per_image)
    # Tags over the filtered rows, not the images' whole tag lists: a text filter may show one tag of three.
    totals.tags = sum(1 for row in rows if row.tagged)
    filtered = bool(query.engine_filters() or query.status or query.text or query.unused_for)
    return ImageListing(
        rows=rows if presorted else sort_rows(rows, query.sort, query.descending),
        totals=totals,
        engine_total=engine_total,
        filtered=filtered,
        engine_filtered=bool(query.engine_filters()),
        watch=watch,
    )


def _listing_from_inventory(
    environment: Environment, read: InventoryRead, watch: WatchInfo, query: ImageListQuery
) -> ImageListing:
    """The same listing from prepared rows: built and sorted once per inventory version and use record."""
    kept = read.kept
    count = len(kept.images)
    # What the watcher recorded moves with its last event and reconciliation: rows carry it.
    usage_stamp = watch.usage_stamp

    def everything() -> ImageListing:
        rows = image_rows(kept.images, kept.containers, usage=usage_values(environment), horizon=watch.horizon)
        ordered = sort_rows(rows, query.sort, query.descending)
        return _listing(ordered, kept.containers_per_image, query, engine_total=count, watch=watch, presorted=True)

    listing = kept.memo_stamped(("listing", query.sort, query.descending), usage_stamp, everything)
    if query.status or query.text or query.unused_for:
        # A sorted list filtered keeps its order: the same rows, in the same order, as the live path gives.
        rows = apply_filters(listing.rows, query)
        listing = _listing(rows, kept.containers_per_image, query, engine_total=count, watch=watch, presorted=True)
    return replace(listing, as_of=read.as_of, watch=watch, prepared=True)


def listing_stamp(environment: Environment, query: ImageListQuery) -> tuple[Hashable, ...] | None:
    """What the list's rows, totals and update states are drawn from (kept_pages), or None.

    Only while they come from the current inventory: the inventory's lists in this process,
    the watcher's use records, and the stored update answers. None when the page reads the
    engine live (the engine's own filters, no current inventory, a lagging one): the engine
    says nothing about what changed.
    """
    if query.engine_filters():
        return None
    read = inventory_current(environment)
    if read is None or read.as_of is not None:
        return None
    # The serial names this environment's lists as loaded in this process: no need for the environment too.
    return (read.kept.serial, watch_info(environment).shown_stamp, records_stamp().update_answers)


# --- one image ------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerUse:
    """A container holding the image, and the name it was created from."""

    container: ContainerInfo
    created_from: str  # the tag as written at `docker create`, or the image ID

    @property
    def by_id(self) -> bool:
        # The engine reports the image ID here when the container was created by ID,
        # or when the tag it was created from has since moved to another image.
        return self.created_from.startswith("sha256:") or is_image_id_like(self.created_from)


@dataclass
class ImagePage:
    detail: ImageDetail
    history: list[HistoryEntry]
    containers: list[ContainerUse]
    disk: DiskUsage | None
    disk_error: str = ""
    tags: list[tuple[str, str]] = field(default_factory=list)
    # The inventory load its image reads and containers came from (kept_pages); None when read live.
    kept_serial: int | None = None

    @property
    def running_containers(self) -> int:
        return sum(1 for use in self.containers if use.container.running)

    @property
    def stopped_containers(self) -> int:
        return len(self.containers) - self.running_containers

    @property
    def empty_layers(self) -> int:
        return sum(1 for entry in self.history if entry.empty)

    @property
    def status(self) -> ImageStatus:
        return image_status(tagged=bool(self.detail.repo_tags), containers=len(self.containers))


def image_page(environment: Environment, image_id: str, *, live_containers: bool = False) -> ImagePage:
    """Inspect, history, containers using it and its unique/shared bytes (4 engine calls, or none).

    `image_id` is a full or short ID; anything else, or an ID the engine does not
    have, is ImageNotFound. Disk usage walks every image on the engine (`/system/df`):
    acceptable for one image's page, never for the list. While the event-kept inventory
    is current (and not lagging), the containers come from it (every container and image
    event re-reads them) and what only an image change can change (inspect, history, the
    disk report) is read once per inventory version: the engine's status text ("Up 3
    minutes") is then as old as that read, so the page does not show it (kept_serial set).
    `live_containers` reads them from the engine all the same (the API, which returns that text).
    """
    wanted = id_hex(image_id.strip().lower())
    if not is_image_id_like(wanted):
        raise ImageNotFound(image_id, "Not an image ID.")
    read = inventory_current(environment)
    kept = read.kept if read is not None and read.as_of is None else None
    if kept is None:
        detail, history = _image_reads(environment, wanted)
    else:
        reads = kept.memo("image_reads", lambda: _bounded_image_reads(environment))
        detail, history = reads(wanted)  # type: ignore[operator]
    # A 12-hex string is also a valid repository name: make sure the engine answered by ID.
    if not id_starts_with(detail.id, wanted):
        raise ImageNotFound(image_id, "No image with this ID.")
    if kept is None or live_containers:
        containers = engine.containers_for_image(environment, detail.id)
    else:
        containers = kept.containers_of(detail.id)
    disk, disk_error = None, ""
    try:
        report = engine.disk_usage(environment) if kept is None else _kept_disk_report(kept, environment)
        disk = report.get(detail.id)
    except (EngineUnavailable, EngineError) as error:
        # The slow report timing out must not hide everything else the page knows.
        disk_error = error.message
    uses = [ContainerUse(c, c.image) for c in sorted(containers, key=lambda c: c.created, reverse=True)]
    return ImagePage(
        detail=detail,
        history=history,
        containers=uses,
        disk=disk,
        disk_error=disk_error,
        tags=[split_repo_tag(t) for t in detail.repo_tags],
        kept_serial=kept.serial if kept is not None else None,
    )


def image_page_stamp(environment: Environment, page: ImagePage) -> tuple[Hashable, ...] | None:
    """What the image page is drawn from (kept_pages), or None when its image reads were live.

    The inventory load its inspect, history, disk report and containers came from; the
    watcher's records, the stored update answers and the history.
    """
    if page.kept_serial is None or page.disk_error:
        return None
    return (
        page.kept_serial,
        page.detail.id,
        watch_info(environment).shown_stamp,
        records_stamp(),
    )


IMAGE_READS_KEPT = 256  # image pages remembered per inventory version and web process


def _image_reads(environment: Environment, wanted: str) -> tuple[ImageDetail, list[HistoryEntry]]:
    detail = engine.inspect_image(environment, wanted)
    return detail, engine.image_history(environment, detail.id)


def _bounded_image_reads(environment: Environment) -> Callable[[str], tuple[ImageDetail, list[HistoryEntry]]]:
    # An engine error is raised, not remembered: the next page asks the engine again.
    return lru_cache(maxsize=IMAGE_READS_KEPT)(lambda wanted: _image_reads(environment, wanted))


def _kept_disk_report(kept: KeptInventory, environment: Environment) -> dict[str, DiskUsage]:
    return kept.memo("disk_usage", lambda: engine.disk_usage(environment))  # type: ignore[return-value]


def with_sort(query: ImageListQuery, column: str) -> ImageListQuery:
    """The query a column header links to: that column, flipping the order when already sorted by it."""
    if query.sort == column:
        return replace(query, order="asc" if query.descending else "desc")
    # Dates and sizes read best biggest/newest first; names A to Z.
    return replace(query, sort=column, order="desc" if column in ("created", "size", "last_used", "status") else "asc")
