"""Keep each environment's inventory current from its engine's events (a long-running process)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from images_app.environments import sync_environments
from images_app.models import Environment
from images_app.services.inventory import InventoryKeeper, inventory_abandon, inventory_follow


class Command(BaseCommand):
    help = "Follow each environment's engine events and keep its inventory current for the pages."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--environment", action="append", help="only this environment (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        sync_environments()
        environments = list(Environment.objects.all())
        if options["environment"]:
            environments = [e for e in environments if e.name in options["environment"]]
            missing = set(options["environment"]) - {e.name for e in environments}
            if missing:
                raise CommandError(f"No such environment: {', '.join(sorted(missing))}")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        keepers, threads = [], []
        for environment in environments:
            keeper = InventoryKeeper(environment)
            keeper.start()
            thread = threading.Thread(
                target=inventory_follow,
                args=(environment, keeper, stop),
                name=f"events-{environment.name}",
                daemon=True,
            )
            thread.start()
            keepers.append(keeper)
            threads.append(thread)
        self.stdout.write(f"keeping the inventory of {', '.join(e.name for e in environments)}")
        while not stop.wait(1):  # a timed wait, so the signal handlers get to run
            pass
        for keeper, thread in zip(keepers, threads, strict=True):
            thread.join(timeout=5)
            keeper.stop()
            inventory_abandon(environment=keeper.environment)  # pages read live from now on
        self.stdout.write("stopped")
