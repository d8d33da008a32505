"""The audit history as CSV or JSON Lines, produced in chunks (constant memory at any size)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import QuerySet

from images_app.models import AuditEvent

# Every column of an event, hash chain included, so an archive can be verified on its own.
EXPORT_FIELDS = (
    "id",
    "created_at",
    "actor_id",
    "actor_name",
    "client_address",
    "environment",
    "action",
    "outcome",
    "target_reference",
    "target_image_id",
    "parameters",
    "message",
    "pull_job_id",
    "cleanup_request_id",
    "removal_job_id",
    "prev_hash",
    "hash",
)
# Rows fetched per database round trip, and rows per chunk sent to the client.
CHUNK_ROWS = 2000
# Spreadsheets run cells starting with these as formulas; the failed-login
# username is typed by strangers. A leading quote neutralises them (and a
# value already starting with a quote gets one more, so decoding is exact).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def event_record(values: dict[str, Any]) -> dict[str, Any]:
    """A row (from `.values(*EXPORT_FIELDS)`) as plain JSON types."""
    record = dict(values)
    record["created_at"] = values["created_at"].isoformat()
    return record


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_rows(qs: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    # values() + iterator(): no model instances, no result cache, one chunk in memory.
    for values in qs.values(*EXPORT_FIELDS).iterator(chunk_size=CHUNK_ROWS):
        yield event_record(values)


def jsonl_chunks(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    lines: list[str] = []
    for record in rows:
        lines.append(json.dumps(record, sort_keys=True, ensure_ascii=False))
        if len(lines) >= CHUNK_ROWS:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def csv_chunks(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    count = 0
    for record in rows:
        writer.writerow([csv_cell(record[name]) for name in EXPORT_FIELDS])
        count += 1
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """An export's chunks for an ASGI response, pulled one at a time.

    Under ASGI, Django would read a sync iterator to the end into memory before sending
    anything; pulling one chunk at a time keeps memory flat. thread_sensitive keeps every
    pull on the request's thread, where the database cursor lives.
    """
    pull = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)

    async def stream() -> AsyncIterator[bytes]:
        while (chunk := await pull()) is not None:
            yield chunk

    return stream()
