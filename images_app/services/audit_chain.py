"""Integrity of the audit history: verifying the hash chain, and retention (the one sanctioned deleter)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from images_app.audit_export import CHUNK_ROWS, EXPORT_FIELDS, event_record
from images_app.models import AuditAnchor, AuditEvent
from images_app.services.audit import DIGEST_FIELDS, GENESIS_HASH, audit_record, digest_of

# Rows deleted per statement: keeps each statement (and SQLite's journal) small.
_DELETE_BATCH = 20_000


@dataclass
class ChainReport:
    ok: bool
    checked: int
    problem: str = ""
    event_id: int | None = None
    head_id: int | None = None
    head_hash: str = ""


def _latest_anchor() -> AuditAnchor | None:
    return AuditAnchor.objects.order_by("-last_id", "-id").first()


def _link_problem(
    *,
    anchor: AuditAnchor | None,
    event_id: int,
    stored_hash: str,
    content: dict[str, Any],
    expected: str,
    before_previous: str | None,
    previous_id: int | None,
) -> tuple[str, int] | None:
    """What is wrong with this event or its link to the previous one, as (message, event id)."""
    if anchor is not None and event_id <= anchor.last_id:
        return (
            f"Event #{event_id} was inserted: retention dropped every event up to #{anchor.last_id}, "
            "yet this one is older",
            event_id,
        )
    if digest_of(content) != stored_hash:
        return f"Event #{event_id} was altered: its content no longer matches its hash", event_id
    if content["prev_hash"] == expected:
        return None
    if before_previous is not None and previous_id is not None and content["prev_hash"] == before_previous:
        return f"Event #{previous_id} was inserted: event #{event_id} follows the event before it", previous_id
    if previous_id is None:
        return f"Event #{event_id} does not start the chain: events before it were removed", event_id
    return (
        f"Event(s) were removed between #{previous_id} and #{event_id}: "
        f"event #{event_id} does not follow event #{previous_id}",
        event_id,
    )


def audit_chain_verify() -> ChainReport:
    """Walk every event in id order (constant memory) and report the first break in the chain."""
    anchor = _latest_anchor()
    expected = anchor.last_hash if anchor else GENESIS_HASH
    before_previous = None  # hash two events back: tells an inserted event from a removed one
    previous_id: int | None = anchor.last_id if anchor else None
    anchor_confirmed = anchor is None
    checked = 0
    columns = ("id", "hash", *DIGEST_FIELDS)
    rows = AuditEvent.objects.order_by("id").values_list(*columns).iterator(chunk_size=CHUNK_ROWS)
    for row in rows:
        event_id, stored_hash = row[0], row[1]
        content = dict(zip(DIGEST_FIELDS, row[2:], strict=True))
        checked += 1
        problem = _link_problem(
            anchor=anchor,
            event_id=event_id,
            stored_hash=stored_hash,
            content=content,
            expected=expected,
            before_previous=before_previous,
            previous_id=previous_id,
        )
        if problem is not None:
            return ChainReport(False, checked, problem[0], problem[1])
        if (
            anchor is not None
            and not anchor_confirmed
            and content["action"] == "audit_pruned"
            and isinstance(content["parameters"], dict)
            and content["parameters"].get("anchor_last_id") == anchor.last_id
            and content["parameters"].get("anchor_last_hash") == anchor.last_hash
        ):
            anchor_confirmed = True
        before_previous, expected, previous_id = expected, stored_hash, event_id
    if anchor is not None and not anchor_confirmed:
        return ChainReport(
            False,
            checked,
            f"Retention anchor after event #{anchor.last_id} is not confirmed by an audit_pruned event: "
            "events may have been dropped outside `audit_retention`",
            anchor.last_id,
        )
    head = previous_id if checked else None
    return ChainReport(True, checked, head_id=head, head_hash=expected if checked else "")


def audit_archive_verify(path: Path, *, start_hash: str, end_hash: str, sha256: str = "") -> str:
    """Check one retention archive: its checksum, and that its events chain from `start_hash` to `end_hash`.

    Returns "" when it holds, else what is wrong.
    """
    if not path.exists():
        return f"Archive {path} is missing"
    if sha256:
        with open(path, "rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != sha256:
                return f"Archive {path} does not match its recorded checksum"
    expected = start_hash
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                content = {name: record[name] for name in DIGEST_FIELDS}
                content["created_at"] = dt.datetime.fromisoformat(record["created_at"])
                if content["prev_hash"] != expected or digest_of(content) != record["hash"]:
                    return f"Archive {path}: event #{record['id']} does not verify"
                expected = record["hash"]
    except (OSError, EOFError, ValueError, KeyError) as exc:
        return f"Archive {path} cannot be read: {exc}"
    if expected != end_hash:
        return f"Archive {path} does not end where its anchor says"
    return ""


def audit_archives_verify() -> list[str]:
    """Check every retention archive named by an anchor, oldest first; the problems found."""
    problems = []
    start = GENESIS_HASH
    for anchor in AuditAnchor.objects.order_by("last_id", "id"):
        problem = audit_archive_verify(
            Path(anchor.archive_path), start_hash=start, end_hash=anchor.last_hash, sha256=anchor.archive_sha256
        )
        if problem:
            problems.append(problem)
        start = anchor.last_hash
    return problems


@dataclass
class RetentionResult:
    dropped: int
    cutoff: dt.datetime
    archive_path: str = ""
    archive_sha256: str = ""
    anchor: AuditAnchor | None = None


class RetentionRefused(Exception):
    """The events to drop do not verify: dropping them would hide tampering."""


def _archive(boundary: int, archive_dir: Path, expected_first_prev: str) -> tuple[Path, str, int, int, str]:
    """Write events with id < boundary to a gzip JSON Lines file, checking their chain on the way.

    Returns (path, sha256 of the file, count, last id, last hash).
    """
    archive_dir.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    final = archive_dir / f"berth-audit-before-{boundary}-{stamp}.jsonl.gz"
    partial = final.with_suffix(".partial")
    expected, count, last_id = expected_first_prev, 0, 0
    rows = AuditEvent.objects.filter(id__lt=boundary).order_by("id").values(*EXPORT_FIELDS)
    with gzip.open(partial, "wt", encoding="utf-8") as out:
        for values in rows.iterator(chunk_size=CHUNK_ROWS):
            content = {name: values[name] for name in DIGEST_FIELDS}
            if content["prev_hash"] != expected or digest_of(content) != values["hash"]:
                raise RetentionRefused(
                    f"Event #{values['id']} does not verify; run `manage.py verify_audit` before retention"
                )
            out.write(json.dumps(event_record(values), sort_keys=True, ensure_ascii=False) + "\n")
            expected, count, last_id = values["hash"], count + 1, values["id"]
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
        sha = hashlib.file_digest(handle, "sha256").hexdigest()
    partial.rename(final)
    return final, sha, count, last_id, expected


def audit_retention_apply(*, days: int, archive_dir: Path, now: dt.datetime | None = None) -> RetentionResult:
    """Archive then drop events older than `days`, anchor the chain, and record `audit_pruned`."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    # Drop a prefix in id order, so the kept events stay one unbroken chain:
    # everything before the first event created at or after the cutoff.
    first_kept = AuditEvent.objects.filter(created_at__gte=cutoff).order_by("id").values_list("id", flat=True)[:1]
    boundary = first_kept[0] if first_kept else None
    if boundary is None:
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
        boundary = (last or 0) + 1
    anchor = _latest_anchor()
    if not AuditEvent.objects.filter(id__lt=boundary).exists():
        audit_record(
            action="audit_pruned",
            outcome="info",
            parameters={"days": days, "cutoff": cutoff.isoformat(), "dropped": 0},
            message="Nothing older than the retention period",
        )
        return RetentionResult(0, cutoff)

    path, sha, count, last_id, last_hash = _archive(boundary, archive_dir, anchor.last_hash if anchor else GENESIS_HASH)
    with transaction.atomic():
        new_anchor = AuditAnchor(
            created_at=timezone.now(),
            last_id=last_id,
            last_hash=last_hash,
            dropped_count=count,
            cutoff=cutoff,
            archive_path=str(path),
            archive_sha256=sha,
        )
        new_anchor.save()
        # The sanctioned path around the queryset guard: a raw DELETE of the archived prefix.
        low = AuditEvent.objects.order_by("id").values_list("id", flat=True).first() or 0
        while low <= last_id:
            high = min(low + _DELETE_BATCH - 1, last_id)
            AuditEvent.objects.filter(id__gte=low, id__lte=high)._raw_delete(AuditEvent.objects.db)
            low = high + 1
        audit_record(
            action="audit_pruned",
            outcome="success",
            parameters={
                "days": days,
                "cutoff": cutoff.isoformat(),
                "dropped": count,
                "anchor_last_id": last_id,
                "anchor_last_hash": last_hash,
                "archive": path.name,
                "archive_sha256": sha,
            },
            message=f"Archived and dropped {count} events older than {days} days",
        )
    return RetentionResult(count, cutoff, str(path), sha, new_anchor)
