"""What every page pays before its own work: the role and permission lookups, the middleware chain."""

from __future__ import annotations

import asyncio
import gc
import threading

from asgiref.sync import AsyncToSync, SyncToAsync
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started
from django.db import connection, connections
from django.http import StreamingHttpResponse
from django.template import engines
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from config.asgi import ReusedThreadsASGIHandler
from images_app.roles import OPERATOR, VIEWER, assign_role, request_role
from tests.integration.support.event_loops import run_on_own_loop


def _auth_queries(queries: list[dict]) -> list[str]:
    return [q["sql"] for q in queries if "auth_group" in q["sql"] or "auth_permission" in q["sql"]]


def test_a_page_reads_the_role_and_every_permission_in_one_query(admin_client):
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/env/local/images/")
    assert response.status_code == 200
    # The admin's page checks several permissions (approvals badge, remove, pull) and shows the role.
    assert b"admin" in response.content
    assert len(_auth_queries(captured.captured_queries)) == 1


def test_a_role_change_applies_from_the_next_request(viewer, viewer_client):
    assert viewer_client.get("/env/local/pulls/new/").status_code == 403
    assign_role(viewer, OPERATOR)
    assert viewer_client.get("/env/local/pulls/new/").status_code == 200
    assign_role(viewer, VIEWER)
    assert viewer_client.get("/env/local/pulls/new/").status_code == 403


def test_permissions_granted_to_a_user_directly_are_not_honoured(viewer, viewer_client):
    # Berth grants through roles only; a stray direct grant (say, from a shell) changes nothing.
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="pull_image"))
    assert viewer_client.get("/env/local/pulls/new/").status_code == 403


def test_request_role_is_the_highest_role(viewer, admin_user, django_user_model):
    assert request_role(viewer) == VIEWER
    assert request_role(admin_user) == "admin"
    nobody = django_user_model.objects.create_user("no-role", password="x-unused-password-1")
    assert request_role(nobody) is None


def test_under_asgi_a_page_hops_into_threads_a_few_times_not_once_per_middleware_hook(
    transactional_db, django_user_model, monkeypatch
):
    # Were the chain async, every sync hook of every middleware (session, CSRF, auth,
    # messages...) would hop from the event loop into a thread and back on its own: 18 hops,
    # a third of a list page's time. A sync-only last middleware keeps the chain in one thread.
    hops = []
    original = SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    # Committed (transactional_db): the request's ORM work runs on another thread.
    viewer = django_user_model.objects.create_user("hop-counter", password="x-unused-password-1")
    assign_role(viewer, VIEWER)
    client = AsyncClient()
    client.force_login(viewer)
    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    response = run_on_own_loop(lambda: client.get("/env/local/images/"))
    assert response.status_code == 200
    assert len(hops) <= 8, hops


def _get_through_asgi(application, path: str) -> int:
    """One GET through an ASGI application, as uvicorn would send it; the response status."""

    async def exchange() -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(10)
        while (await communicator.receive_output(10)).get("more_body"):
            pass
        await communicator.wait(10)
        return start["status"]

    return run_on_own_loop(exchange)


def test_berths_asgi_handler_runs_a_page_in_its_thread_in_one_hop(transactional_db, monkeypatch):
    # Django's ASGI chain ends in an async step, so even an all-sync chain went into a thread,
    # back to the event loop (AsyncToSync) and into the thread again for each view hook and the
    # view: 8 hops for this page; Django's handler adds one for the request-started signal and
    # one to close the response. Each one waits for the GIL when the process is busy.
    handler = ReusedThreadsASGIHandler()
    assert _get_through_asgi(handler, "/login/") == 200
    into, back = [], []
    original_into, original_back = SyncToAsync.__call__, AsyncToSync.__call__

    async def counting_into(self, *args, **kwargs):
        into.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original_into(self, *args, **kwargs)

    def counting_back(self, *args, **kwargs):
        back.append(getattr(self.awaitable, "__qualname__", repr(self.awaitable)))
        return original_back(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting_into)
    monkeypatch.setattr(AsyncToSync, "__call__", counting_back)
    try:
        assert _get_through_asgi(handler, "/login/") == 200
    finally:
        monkeypatch.undo()
        for executor in handler._idle:
            executor.submit(connections.close_all).result(10)
            executor.shutdown()
    # The request-started signal, the whole chain (middleware and view) and closing the response: one hop.
    assert back == [], back
    assert into == ["ReusedThreadsASGIHandler._respond"], into


def test_a_page_starts_and_finishes_its_request_once_and_in_its_own_thread(transactional_db):
    handler = ReusedThreadsASGIHandler()
    seen: list[tuple[str, int]] = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident()))

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        assert _get_through_asgi(handler, "/login/") == 200
        assert _get_through_asgi(handler, "/static/no-such-file.css") == 404
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
        for executor in handler._idle:
            executor.submit(connections.close_all).result(10)
            executor.shutdown()
    assert [event for event, _ in seen] == ["started", "finished"] * 2
    assert seen[0][1] == seen[1][1] != threading.get_ident()  # where the page's connections live


def _streamed(chunks: list[bytes], *, forever: bool = False) -> tuple[StreamingHttpResponse, list[str]]:
    """A streamed response of `chunks` (then endless, if `forever`) and what happened to it."""
    happened: list[str] = []

    async def body():
        try:
            for chunk in chunks:
                yield chunk
            while forever:
                await asyncio.sleep(0.01)
                yield b": still here\n"
        finally:
            happened.append("body closed")

    response = StreamingHttpResponse(body())
    response._resource_closers.append(lambda: happened.append("response closed"))
    return response, happened


def test_a_streamed_body_is_sent_whole_then_closed(transactional_db):
    handler = ReusedThreadsASGIHandler()
    response, happened = _streamed([b"one\n", b"two\n"])
    sent: list[dict] = []

    async def receive():
        await asyncio.sleep(60)  # the client stays
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    run_on_own_loop(lambda: handler._send_streamed(response, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert b"".join(message.get("body", b"") for message in sent[1:]) == b"one\ntwo\n"
    assert sent[-1] == {"type": "http.response.body"}  # the end of the body
    assert happened == ["body closed", "response closed"]


def test_a_client_leaving_a_stream_ends_it_and_closes_it(transactional_db):
    handler = ReusedThreadsASGIHandler()
    response, happened = _streamed([b"data: 1\n\n"], forever=True)
    sent: list[dict] = []

    async def receive():
        while len(sent) < 5:
            await asyncio.sleep(0.01)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    run_on_own_loop(lambda: asyncio.wait_for(handler._send_streamed(response, receive, send), 10))
    assert len(sent) >= 5
    assert happened == ["body closed", "response closed"]


def test_pages_served_over_asgi_reuse_their_thread_and_its_database_connection(transactional_db):
    # Django gives each ASGI request a new thread, so a connection lived one request; Berth's
    # handler keeps threads between requests and CONN_MAX_AGE keeps their connections.
    handler = ReusedThreadsASGIHandler()

    def connection_of(executor) -> object:
        return executor.submit(lambda: connections["default"].connection).result(10)

    try:
        assert _get_through_asgi(handler, "/setup/") == 200  # the first-run page asks the database
        [thread] = handler._idle
        first = connection_of(thread)
        assert first is not None
        assert _get_through_asgi(handler, "/setup/") == 200
        assert handler._idle == [thread]
        assert connection_of(thread) is first
    finally:
        for executor in handler._idle:
            executor.submit(connections.close_all).result(10)
            executor.shutdown()


def test_berths_asgi_handler_warms_up_at_startup_and_sets_what_it_loaded_aside_from_full_collections():
    # Without it, the garbage collector's full passes walked every object of the process: under
    # load each stopped a web process for 140-190 ms of CPU, once or twice a minute (bench.load).
    async def start_and_stop() -> tuple[str, str]:
        communicator = ApplicationCommunicator(ReusedThreadsASGIHandler(), {"type": "lifespan"})
        await communicator.send_input({"type": "lifespan.startup"})
        started = await communicator.receive_output(60)
        await communicator.send_input({"type": "lifespan.shutdown"})
        stopped = await communicator.receive_output(10)
        await communicator.wait(10)
        return started["type"], stopped["type"]

    loader = engines["django"].engine.template_loaders[0]
    loader.reset()
    gc.unfreeze()
    try:
        assert run_on_own_loop(start_and_stop) == ("lifespan.startup.complete", "lifespan.shutdown.complete")
        assert gc.get_freeze_count() > 10_000
        assert "images/list.html" in loader.get_template_cache  # compiled before any page asked for it
    finally:
        gc.unfreeze()
