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
from images_app.selectors.pulls import pull_state
from images_app.services.pulls import pulls_sweep_stale


def pull_event_stream(job: PullJob) -> AsyncIterator[str]:
    """The job's events: its state at once, then live progress until it ends (at once if it has)."""
    pk = job.pk

    async def database_state() -> dict[str, Any]:
        fresh = await PullJob.objects.select_related("requested_by").aget(pk=pk)
        return await sync_to_async(pull_state)(fresh)

    async def finished() -> bool:
        await sync_to_async(pulls_sweep_stale)()
        return not await PullJob.objects.filter(pk=pk, status__in=PullJob.ACTIVE).aexists()

    if not job.is_active:
        # An ended job's state is its row (pull_state reads Redis only for active jobs): safe here
        # whether the caller runs in the event loop (the page's async view) or in a thread (the API).
        return pull_stream.sse_finished(pull_state(job))
    return pull_stream.sse_stream(pk, database_state, finished)
