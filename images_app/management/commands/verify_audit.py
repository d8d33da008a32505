"""Walk the audit hash chain and report the first event altered, inserted or removed.

Exit status 0 when the chain holds, 1 (with the event named) when it does not.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from images_app.services.audit_chain import audit_archives_verify, audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit history's hash chain (constant memory; prints the chain head when intact)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--archives",
            action="store_true",
            help="Also check the retention archives (checksums, and that they chain into the kept events)",
        )

    def handle(self, *args: Any, archives: bool, **options: Any) -> None:
        if archives:
            problems = audit_archives_verify()
            if problems:
                raise CommandError("Audit archives broken: " + "; ".join(problems), returncode=1)
            self.stdout.write("Audit archives OK.")
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(f"Audit chain broken at event #{report.event_id}: {report.problem}", returncode=1)
        if report.head_id is None:
            self.stdout.write(self.style.SUCCESS("Audit chain OK: no events."))
            return
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain OK: {report.checked} events, head #{report.head_id} {report.head_hash}")
        )
