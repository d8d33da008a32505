"""One pull's server-sent events, as the pull page and the API send them.

The database is the fallback when Redis has no live state, and is asked whether the job ended
between keepalives (a swept job may never publish again). Both doors build the stream here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async

from images_app import pull_stream
from images_app.models import PullJob
from images_app.selectors.pulls import pull_get_fresh, pull_is_active, pull_state


def pull_event_stream(job: PullJob) -> AsyncIterator[str]:
    """The job's events: its state at once, then live progress until it ends (at once if it has)."""
    pk = job.pk

    async def database_state() -> dict[str, Any]:
        return await sync_to_async(pull_state)(await pull_get_fresh(pk))

    async def finished() -> bool:
        # Read only: a pull whose worker died is failed by the scheduled sweep (tasks/scheduled.py).
        return not await pull_is_active(pk)

    if not job.is_active:
        # An ended job's state is its row (pull_state reads Redis only for active jobs): safe here
        # whether the caller runs in the event loop (the page's async view) or in a thread (the API).
        return pull_stream.sse_finished(pull_state(job))
    return pull_stream.sse_stream(pk, database_state, finished)
