"""Query-planner hints for the audit table on SQLite.

Without statistics SQLite assumes every indexed equality is equally selective,
so with `outcome=denied&environment=prod` it may walk the environment index
(a third of a million rows) instead of the outcome one; pages then take
hundreds of milliseconds at a million events. SQLite documents writing
`sqlite_stat1` by hand to fix plans (sqlite.org/optoverview.html, "Manual
Control Of Query Plans Using SQLITE_STAT Tables"): these rows tell it how many
events share a value, in round figures that hold for any real history. A real
`ANALYZE` replaces them with measured numbers, which we then leave alone.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

# Marks our hint rows (a real ANALYZE would count the actual rows).
HINT_ROWS = 1_000_000
# Average events per distinct value of an index's first column, at HINT_ROWS events.
ROWS_PER_VALUE = {
    "id": 1,
    "hash": 1,
    "created_at": 1,
    "target_image_id": 5,
    "target_reference": 20,
    "pull_job_id": 5,
    "cleanup_request_id": 5,
    "removal_job_id": 5,
    "actor_id": 20_000,
    "actor_name": 20_000,
    "action": 30_000,
    "outcome": 250_000,
    "environment": 300_000,
}


def install_audit_planner_hints(connection: BaseDatabaseWrapper) -> int:
    """Write the hint rows for the audit table's indexes (SQLite only). Returns how many were written."""
    if connection.vendor != "sqlite":
        return 0
    from images_app.models import AuditEvent

    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return 0
        cursor.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 if missing, measures nothing big
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        existing = [row[0] for row in cursor.fetchall()]
        if any(not stat.startswith(f"{HINT_ROWS} ") for stat in existing):
            return 0  # measured by a real ANALYZE: better than ours
        rows = []
        # PRAGMA, not Django's introspection: it names SQLite's own autoindexes (the unique hash).
        cursor.execute(f"PRAGMA index_list({connection.ops.quote_name(table)})")
        for name in [row[1] for row in cursor.fetchall()]:
            cursor.execute(f"PRAGMA index_info({connection.ops.quote_name(name)})")
            columns = [row[2] for row in sorted(cursor.fetchall())]
            if not columns:
                continue
            per_value = ROWS_PER_VALUE.get(columns[0], 1000)
            stat = " ".join([str(HINT_ROWS), str(per_value)] + ["1"] * (len(columns) - 1))
            rows.append((table, name, stat))
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = %s", [table])
        cursor.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, %s, %s)", rows)
        cursor.execute("ANALYZE sqlite_schema")  # reload the statistics on this connection
    return len(rows)
