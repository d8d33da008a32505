"""Stamps of what Berth stores that pages show (kept_pages): each moves whenever that changes.

Read in one constant statement of six index or small-table aggregates: as three ORM queries, compiling
them cost more than the database spent answering, and under load every query a page makes is a
wait for its process's GIL (bench.load). The values are compared, never shown: their types may
differ between databases (SQLite gives the times as text).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.db import connection

from images_app.models import AuditEvent, UpdateCheck, UpdateRun
from images_app.selectors.prepared import quoted_column, quoted_table


@dataclass(frozen=True)
class RecordsStamp:
    # The stored update answers: how many, the newest answer, the newest run's end. A run stores its
    # answers under its start time, then finishes, in one transaction: two runs of different
    # environments may finish in either order, so the newest answer alone could miss the later one.
    update_answers: tuple[object, object, object]
    # The history: its newest event, its oldest (retention drops the oldest), the newest time (a
    # database rebuilt from scratch numbers its events from 1 again). Events are never changed.
    history: tuple[object, object, object]


@lru_cache(maxsize=1)
def _statement() -> str:
    checks, runs, events = (quoted_table(model, connection) for model in (UpdateCheck, UpdateRun, AuditEvent))
    # Only the models' own table and column names, quoted: nothing from a request reaches this text.
    aggregates = [
        ("COUNT(*)", checks),
        (f"MAX({quoted_column(UpdateCheck, 'checked_at', connection)})", checks),
        (f"MAX({quoted_column(UpdateRun, 'finished_at', connection)})", runs),
        (f"MAX({quoted_column(AuditEvent, 'id', connection)})", events),
        (f"MIN({quoted_column(AuditEvent, 'id', connection)})", events),
        (f"MAX({quoted_column(AuditEvent, 'created_at', connection)})", events),
    ]
    parts = ["(SELECT " + aggregate + " FROM " + name + ")" for aggregate, name in aggregates]  # noqa: S608
    return "SELECT " + ", ".join(parts)


def records_stamp() -> RecordsStamp:
    with connection.cursor() as cursor:
        cursor.execute(_statement())
        row = cursor.fetchone()
    return RecordsStamp(update_answers=(row[0], row[1], row[2]), history=(row[3], row[4], row[5]))
