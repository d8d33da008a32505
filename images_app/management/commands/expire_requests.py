"""Mark pending cleanup requests past their expiry as expired (run it from cron or a timer)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from images_app.services.cleanup_requests import requests_expire


class Command(BaseCommand):
    help = "Expire pending cleanup requests older than BERTH_REQUEST_EXPIRY_HOURS (one audit event each)."

    def handle(self, *args: object, **options: object) -> None:
        count = requests_expire()
        self.stdout.write(f"{count} request(s) expired")
