"""Archive then drop audit events older than the retention period (BERTH_AUDIT_RETENTION_DAYS).

python manage.py audit_retention [--days N] [--archive-dir DIR]
The archive is gzip JSON Lines with every column, hashes included; the chain
restarts from an anchor so `verify_audit` keeps passing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from images_app.services.audit_chain import RetentionRefused, audit_retention_apply


class Command(BaseCommand):
    help = "Archive (gzip JSON Lines) then drop audit events older than N days, anchoring the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Default: BERTH_AUDIT_RETENTION_DAYS")
        parser.add_argument(
            "--archive-dir", default=None, help="Where the archive goes (default: BERTH_AUDIT_ARCHIVE_DIR)"
        )

    def handle(self, *args: Any, days: int | None, archive_dir: str | None, **options: Any) -> None:
        days = settings.BERTH_AUDIT_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1")
        directory = Path(archive_dir or settings.BERTH_AUDIT_ARCHIVE_DIR)
        try:
            result = audit_retention_apply(days=days, archive_dir=directory)
        except RetentionRefused as exc:
            raise CommandError(str(exc)) from None
        if not result.dropped:
            self.stdout.write(f"Nothing older than {days} days (before {result.cutoff:%Y-%m-%d %H:%M}).")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Archived {result.dropped} events to {result.archive_path} (sha256 {result.archive_sha256}) "
                "and dropped them."
            )
        )
