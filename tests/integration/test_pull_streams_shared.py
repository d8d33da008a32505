"""Pull streams share one Redis subscription per web process: real uvicorn, real Redis, no worker needed.

The job's events are published with the worker's own publishing function (pull_stream.publish), so
what each viewer receives is what a running pull would send it.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from django.conf import settings

from images_app import pull_stream
from images_app.models import PullJob
from tests.integration.conftest import login_session
from tests.integration.support.event_loops import run_on_own_loop
from tests.integration.support.pulls import sse_events, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

STREAM_CLIENT_NAME = "berth-pull-streams"


def queued_job(environment, operator, name: str) -> PullJob:
    """A queued pull no worker will take: its stream stays open until its viewers leave."""
    job = PullJob.objects.create(environment=environment, reference=f"localhost:5000/{name}:v1", requested_by=operator)
    pull_stream.forget(job.pk)  # test databases hand ids out again; Redis would remember them
    return job


def progress(job_id: int, step: int) -> int:
    """Publish one progress event as the worker does; returns its sequence number."""
    seq, _ = pull_stream.publish(job_id, {"type": "progress", "step": step}, {"status": "running", "step": step})
    return seq


def subscribers(client: redis.Redis, job_id: int) -> int:
    channel = pull_stream.channel_name(job_id)
    return dict(client.pubsub_numsub(channel))[channel.encode()]


def stream_connections(client: redis.Redis) -> list[dict]:
    """Redis connections the web server's pull streams hold for their subscriptions."""
    return [c for c in client.client_list() if c.get("name") == STREAM_CLIENT_NAME and int(c.get("sub", 0)) > 0]


def open_stream(session, live_url: str, job_id: int, **snapshot: object):
    """A viewer's stream, past its first event: the snapshot, holding `snapshot` (by default: still queued)."""
    expected = snapshot or {"status": "queued"}
    response = session.get(f"{live_url}/env/local/pulls/{job_id}/events/", stream=True, timeout=(5, 20))
    assert response.status_code == 200
    events = sse_events(response)
    name, data = next(events)
    assert name == "snapshot" and {key: data.get(key) for key in expected} == expected
    return response, events


def test_viewers_of_one_pull_share_one_subscription_and_each_gets_every_event(live_url, operator, viewer, environment):
    client = redis.Redis.from_url(settings.REDIS_URL)
    job = queued_job(environment, operator, "shared")
    first_response, first = open_stream(login_session(live_url, viewer.username), live_url, job.pk)
    second_response, second = open_stream(login_session(live_url, operator.username), live_url, job.pk)
    assert subscribers(client, job.pk) == 1

    seq = progress(job.pk, 1)
    for events in (first, second):
        name, data = next(events)
        assert (name, data["seq"], data["step"]) == ("progress", seq, 1)

    first_response.close()  # one tab closed: the other keeps its stream
    time.sleep(0.5)
    seq = progress(job.pk, 2)
    name, data = next(second)
    assert (name, data["seq"], data["step"]) == ("progress", seq, 2)
    assert subscribers(client, job.pk) == 1

    second_response.close()
    wait_until(lambda: subscribers(client, job.pk) == 0, 10, "subscription released by the last viewer")
    wait_until(lambda: not stream_connections(client), 10, "the process's stream connection closed")


def test_viewers_of_two_pulls_use_one_connection(live_url, operator, viewer, environment):
    client = redis.Redis.from_url(settings.REDIS_URL)
    jobs = [queued_job(environment, operator, "one"), queued_job(environment, operator, "two")]
    session = login_session(live_url, viewer.username)
    streams = [open_stream(session, live_url, job.pk) for job in jobs]
    assert [subscribers(client, job.pk) for job in jobs] == [1, 1]
    assert len(stream_connections(client)) == 1

    for job, (_, events) in zip(jobs, streams, strict=True):
        seq = progress(job.pk, 7)
        assert next(events)[1]["seq"] == seq

    for response, _ in streams:
        response.close()
    wait_until(lambda: not stream_connections(client), 10, "the process's stream connection closed")


def test_a_lost_subscription_ends_every_stream_and_a_new_one_starts_from_a_snapshot(
    live_url, operator, viewer, environment
):
    client = redis.Redis.from_url(settings.REDIS_URL)
    job = queued_job(environment, operator, "lost")
    session = login_session(live_url, viewer.username)
    streams = [open_stream(session, live_url, job.pk) for _ in range(2)]
    [connection] = stream_connections(client)

    client.client_kill_filter(_id=connection["id"])  # Redis restarted, a proxy dropped it, ...

    for response, events in streams:
        # The streams end (the browser reconnects on its own) instead of waiting on a dead subscription.
        assert list(events) == []
        response.close()
    progress(job.pk, 3)  # published while nobody is subscribed: the new stream's snapshot has it

    response, events = open_stream(session, live_url, job.pk, status="running", step=3)
    seq = progress(job.pk, 4)
    name, data = next(events)
    assert (name, data["seq"], data["step"]) == ("progress", seq, 4)
    response.close()


def test_a_viewer_that_stops_reading_is_dropped_and_the_others_keep_theirs(monkeypatch, operator, environment):
    monkeypatch.setattr(pull_stream, "VIEWER_BACKLOG_LIMIT", 3)
    client = redis.Redis.from_url(settings.REDIS_URL)
    job = queued_job(environment, operator, "backlog")
    channel = pull_stream.channel_name(job.pk)

    async def scenario() -> tuple[list[int], list[int], bool]:
        channels = pull_stream.pull_channels()
        stalled = await channels.join(channel)
        reading = await channels.join(channel)
        read = []
        for step in range(5):
            progress(job.pk, step)
            event = await reading.next(timeout=5)
            assert event is not None
            read.append(event.seq)
        held = []
        lost = False
        try:
            while (event := await stalled.next(timeout=5)) is not None:
                held.append(event.seq)
        except pull_stream.StreamLost:
            lost = True
        still_subscribed = subscribers(client, job.pk)
        await channels.leave(channel, stalled)  # its stream ended: it leaves as any viewer does
        assert subscribers(client, job.pk) == still_subscribed == 1
        await channels.leave(channel, reading)
        return read, held, lost

    read, held, lost = run_on_own_loop(scenario)
    assert read == [1, 2, 3, 4, 5]
    assert held == [1, 2, 3] and lost
    assert subscribers(client, job.pk) == 0


def test_a_lone_viewer_dropped_for_its_backlog_still_releases_the_subscription(monkeypatch, operator, environment):
    monkeypatch.setattr(pull_stream, "VIEWER_BACKLOG_LIMIT", 2)
    client = redis.Redis.from_url(settings.REDIS_URL)
    job = queued_job(environment, operator, "lonebacklog")
    channel = pull_stream.channel_name(job.pk)

    async def scenario() -> None:
        channels = pull_stream.pull_channels()
        stalled = await channels.join(channel)
        for step in range(3):
            progress(job.pk, step)
        with pytest.raises(pull_stream.StreamLost):
            for _ in range(3):
                await stalled.next(timeout=5)
        await channels.leave(channel, stalled)
        assert subscribers(client, job.pk) == 0

    run_on_own_loop(scenario)


def test_a_viewer_leaving_during_the_subscribe_leaves_nothing_half_done(operator, environment):
    # Seen in bench.load: a client closing its stream while its process sent the first SUBSCRIBE
    # left a subscription no reader would ever confirm, and the next viewers waited 5 s for nothing.
    client = redis.Redis.from_url(settings.REDIS_URL)
    job = queued_job(environment, operator, "leftduringsubscribe")
    channel = pull_stream.channel_name(job.pk)

    async def scenario() -> tuple[float, int]:
        channels = pull_stream.PullChannels(settings.REDIS_URL)
        real_connect = channels._connect
        gate = asyncio.Event()

        def connect_with_a_slow_subscribe():
            pubsub = real_connect()
            real_subscribe = pubsub.subscribe

            async def slow_subscribe(*names):
                await gate.wait()  # the network is slow: the client leaves meanwhile
                return await real_subscribe(*names)

            pubsub.subscribe = slow_subscribe
            return pubsub

        channels._connect = connect_with_a_slow_subscribe
        leaving = asyncio.create_task(channels.join(channel))
        await asyncio.sleep(0.05)
        leaving.cancel()  # as the ASGI server cancels a stream whose client went away
        with pytest.raises(asyncio.CancelledError):
            await leaving
        gate.set()
        channels._connect = real_connect
        began = time.monotonic()
        viewer = await channels.join(channel)
        waited = time.monotonic() - began
        seq = progress(job.pk, 1)
        event = await viewer.next(timeout=5)
        await channels.leave(channel, viewer)
        return waited, (event.seq if event else -1) - seq

    waited, off_by = run_on_own_loop(scenario)
    assert waited < 1 and off_by == 0
    wait_until(lambda: subscribers(client, job.pk) == 0, 10, "subscription released by the last viewer")
