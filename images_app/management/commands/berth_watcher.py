"""`manage.py berth_watcher [--environment NAME]`: follow the engines' events and record image use.

One thread per environment (an engine that stays down does not hold the others up). Safe to start
twice: each environment has one lease, and a second watcher waits to take over.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from images_app.environments import configured_environments, environment_get, environments_all
from images_app.watcher.runner import EnvironmentWatcher, holder_name

logger = logging.getLogger("berth.watcher")


class Command(BaseCommand):
    help = "Watch the engines' events and record when each image was last used (long-running)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--environment", help="Watch only this environment (default: all configured)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options.get("environment")
        if name:
            if name not in dict(configured_environments()):
                raise CommandError(f"No environment named {name!r} in BERTH_ENVIRONMENTS")
            environments = [environment_get(name)]
        else:
            environments = environments_all()
        stop = threading.Event()

        def stop_now(signum: int, frame: object) -> None:
            logger.info("watcher: signal %s, stopping", signum)
            stop.set()

        signal.signal(signal.SIGTERM, stop_now)
        signal.signal(signal.SIGINT, stop_now)
        holder = holder_name()
        threads = []
        for environment in environments:
            watcher = EnvironmentWatcher(environment, stop, holder=holder)
            thread = threading.Thread(target=self._run, args=(watcher,), name=f"watch-{environment.name}")
            thread.start()
            threads.append(thread)
        logger.info("watcher %s: watching %s", holder, ", ".join(e.name for e in environments))
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(timeout=0.5)

    @staticmethod
    def _run(watcher: EnvironmentWatcher) -> None:
        # Anything unexpected (the database busy or gone) must not end this environment's watch for good.
        while not watcher.stop.is_set():
            try:
                watcher.run()
            except Exception:
                logger.exception("watcher of %s failed; restarting in 5 s", watcher.environment.name)
                watcher.stop.wait(5)
            finally:
                close_old_connections()
