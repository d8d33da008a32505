"""Reads of the audit history: filtered, keyset-paginated, and per object.

The history is ordered newest first by (created_at, id). Every filter is an
equality or a range on an indexed column, so a page is an index walk that stops
after `size` rows, whatever the table's size: no OFFSET, no exact COUNT(*).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from images_app.models import AuditEvent, PullJob
from images_app.references import DOCKER_HUB, BadReference, id_hex, parse_reference

# Counting stops here: "10,000+ events" is as useful as an exact number and costs
# a bounded index walk instead of a full COUNT(*) over a million rows.
COUNT_CAP = 10_000
# Upper bound for prefix ranges: sorts after any character a reference can hold.
_RANGE_END = "\U0010ffff"
_HEX = re.compile(r"^(sha256:)?[0-9a-f]{4,64}$")


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    outcome: str = ""
    environment: str = ""
    target: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    pull_job: int | None = None
    cleanup_request: int | None = None
    removal_job: int | None = None

    def as_parameters(self) -> dict[str, Any]:
        """The active filters, as recorded in an export's audit event."""
        return {key: str(value) for key, value in self.__dict__.items() if value not in ("", None)}


@dataclass
class AuditPage:
    events: list[AuditEvent]
    older: int | None = None  # `before` cursor for the next (older) page
    newer: int | None = None  # `after` cursor for the previous (newer) page


def _prefix(column: str, text: str) -> Q:
    # A range, not `startswith`: SQLite's LIKE is case-insensitive and cannot use
    # the column's index; a range on the raw value can.
    return Q(**{f"{column}__gte": text, f"{column}__lt": text + _RANGE_END})


@lru_cache(maxsize=4096)
def _repository_forms(text: str) -> tuple[tuple[str, ...], str]:
    """The spellings of the repository in `text` (as typed, familiar, docker.io long form) and its suffix.

    Kept per text: an image page spells each of its tags on every view (40 tags, 40 parses).
    """
    try:
        ref = parse_reference(text, default_tag=False)
    except BadReference:
        return (), ""
    short = ref.familiar()
    forms = {ref.repository, short.repository}
    if short.registry is None:
        path = short.path if "/" in short.path else "library/" + short.path
        forms.add(f"{DOCKER_HUB}/{path}")
    suffix = (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")
    return tuple(sorted(forms)), suffix


def _target_q(text: str) -> Q:
    """Events whose image ID or reference starts with `text`, in any spelling of the reference."""
    text = text.strip()
    q = _prefix("target_reference", text)
    lowered = text.lower()
    if _HEX.match(lowered):
        digits = id_hex(lowered)
        q |= _prefix("target_image_id", "sha256:" + digits) | _prefix("target_image_id", digits)
        if len(digits) == 64:
            # A pull's first events are recorded before the image ID is known: a full ID
            # (what an image page links with) brings in the pulls that produced the image.
            pulls = PullJob.objects.filter(image_id__in=["sha256:" + digits, digits]).values_list("pk", flat=True)
            if pull_ids := list(pulls[:50]):
                q |= Q(pull_job_id__in=pull_ids)
    forms, suffix = _repository_forms(text)
    for form in forms:
        if suffix:
            q |= _prefix("target_reference", form + suffix)
        else:
            # No tag typed: every tag and digest of that repository, not "nginx-proxy".
            q |= (
                Q(target_reference=form)
                | _prefix("target_reference", form + ":")
                | _prefix("target_reference", form + "@")
            )
    return q


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_events_filtered(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The events the filters select, newest first."""
    qs = AuditEvent.objects.all()
    if filters.actor:
        qs = qs.filter(actor_name=filters.actor)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    if filters.environment:
        qs = qs.filter(environment=filters.environment)
    if filters.target:
        qs = qs.filter(_target_q(filters.target))
    if filters.date_from:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        # Inclusive: the whole of the last day, in the site's time zone.
        qs = qs.filter(created_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    if filters.pull_job:
        qs = qs.filter(pull_job_id=filters.pull_job)
    if filters.cleanup_request:
        qs = qs.filter(cleanup_request_id=filters.cleanup_request)
    if filters.removal_job:
        qs = qs.filter(removal_job_id=filters.removal_job)
    return qs.order_by("-created_at", "-id")


def _cursor_position(event_id: int) -> tuple[dt.datetime, int] | None:
    created = AuditEvent.objects.filter(pk=event_id).values_list("created_at", flat=True).first()
    return (created, event_id) if created is not None else None


def audit_page(
    qs: QuerySet[AuditEvent], *, before: int | None = None, after: int | None = None, size: int = 50
) -> AuditPage:
    """One page of `qs` (ordered newest first): older than event `before`, or newer than event `after`."""
    cursor = before or after
    position = _cursor_position(cursor) if cursor else None
    if position and before:
        created, pk = position
        # (created_at, id) < (created, pk), written so the created_at index bounds the walk.
        window = qs.filter(created_at__lte=created).exclude(created_at=created, id__gte=pk)
        rows = list(window[: size + 1])
        events, has_more = rows[:size], len(rows) > size
        return AuditPage(events, older=events[-1].id if has_more else None, newer=events[0].id if events else None)
    if position and after:
        created, pk = position
        window = qs.filter(created_at__gte=created).exclude(created_at=created, id__lte=pk)
        rows = list(window.order_by("created_at", "id")[: size + 1])
        has_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        return AuditPage(
            events, older=events[-1].id if events else None, newer=events[0].id if has_newer and events else None
        )
    rows = list(qs[: size + 1])
    events = rows[:size]
    return AuditPage(events, older=events[-1].id if len(rows) > size else None)


def audit_count(qs: QuerySet[AuditEvent]) -> tuple[int, bool]:
    """(count, capped): exact up to COUNT_CAP, else COUNT_CAP and True."""
    count = qs.order_by()[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def audit_event_get(pk: int) -> AuditEvent:
    event: AuditEvent | None = (
        AuditEvent.objects.select_related(
            "actor", "pull_job__environment", "removal_job__environment", "cleanup_request"
        )
        .filter(pk=pk)
        .first()
    )
    if event is None:
        raise Http404("No such audit event")
    return event


def audit_events_for(
    *,
    image_id: str | None = None,
    reference: str | Iterable[str] | None = None,
    pull_job: Any = None,
    cleanup_request: Any = None,
    removal_job: Any = None,
    limit: int = 20,
) -> list[AuditEvent]:
    """The newest `limit` events about an image (by ID and/or its references) or a job/request.

    Criteria combine with OR: an image page passes its ID and all its tags.
    Jobs and requests may be passed as objects or ids.
    """
    q = Q()
    if image_id:
        q |= Q(target_image_id=image_id) if image_id.startswith("sha256:") else _prefix("target_image_id", image_id)
    references = [reference] if isinstance(reference, str) else list(reference or [])
    if references:
        q |= Q(target_reference__in=[r for r in references if r])
    for name, value in (("pull_job", pull_job), ("cleanup_request", cleanup_request), ("removal_job", removal_job)):
        if value is not None:
            q |= Q(**{f"{name}_id": getattr(value, "pk", value)})
    if not q:
        return []
    return list(AuditEvent.objects.filter(q).order_by("-created_at", "-id")[:limit])


def reference_spellings(tags: Iterable[str]) -> list[str]:
    """Each tag as the engine lists it and as events may record it (familiar and docker.io long form)."""
    spellings: set[str] = set()
    for tag in tags:
        spellings.add(tag)
        forms, suffix = _repository_forms(tag)
        spellings.update(form + suffix for form in forms)
    return sorted(spellings)


def image_history(*, image_id: str, tags: Iterable[str], limit: int = 20) -> list[AuditEvent]:
    """The newest events about one image: by its ID, or by any spelling of its tags."""
    return audit_events_for(image_id=image_id, reference=reference_spellings(tags), limit=limit)


def history_url(**filters: Any) -> str:
    """The audit history page filtered as given (e.g. `target=...`, `cleanup_request=7`)."""
    return reverse("audit_list") + "?" + urlencode({k: v for k, v in filters.items() if v not in (None, "")})
