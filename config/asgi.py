import asyncio
import gc
import os
import warnings
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import connections
from django.http import FileResponse, HttpResponseBase
from django.template import Engine
from django.urls import get_resolver, set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# WhiteNoise hands Django file iterators that are synchronous; under ASGI Django reads them in a
# thread and warns on every static file. Expected and harmless for our small files: keep the log clean.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")


Receive = Callable[[], Awaitable[Mapping[str, Any]]]  # the ASGI server's callables
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class ReusedThreadsASGIHandler(ASGIHandler):
    """Django's ASGI handler, running each request's sync code on a thread kept for later requests.

    Django starts a new thread for every request's sync code (middleware, views, the ORM), so a
    database connection lived one request: each page paid a new connection, and SQLite parsing
    the schema and preparing every statement again, about 1.8 ms of an 11 ms list page
    (bench.load). Threads here outlive requests (asgiref's ThreadSensitiveContext with an
    executor we own), so CONN_MAX_AGE keeps their connections. Concurrency is not capped: a
    request that finds no idle thread gets a new one; at most IDLE_THREADS stay around.
    """

    IDLE_THREADS = 8

    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async: bool = False) -> None:
        """The middleware chain built as for WSGI: `handle` runs it, and all else a page needs, in one thread hop.

        Django's ASGI chain ends in an async step even when every middleware and view is sync,
        so each request went into a thread, back to the event loop, and into a thread again for
        each view hook and the view (8 hops for a page). An async view (the pull stream) still
        runs on the event loop (Django calls it through async_to_sync), and its streamed body is
        still sent from the loop, holding no thread.
        """
        super().load_middleware(is_async=False)

    async def handle(
        self,
        scope: dict[str, Any],
        receive: Receive,
        send: Send,
    ) -> None:
        """Django's ASGIHandler.handle (5.2), with one thread hop for a page instead of three.

        Django goes into a thread for the request-started signal, comes back to the event loop,
        goes again for the middleware and view, and a third time to close the response. Each
        return to the loop waits for the GIL behind whatever page another thread is drawing:
        under load that was most of the gap between a page's median and its p95 (bench.load).
        Here the signal, the request, the view and, for a page whose body is already in memory,
        closing it (the request-finished signal) happen in one hop, as under WSGI. A streamed
        body (the pull stream, static files) is sent as Django sends it: watching for the client
        leaving, then closed.
        """
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file)
            if response.streaming:
                await self._send_streamed(response, receive, send)
            else:
                await self.send_response(response, send)
        finally:
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The response to the request in `scope`, in the request's thread; closed unless streamed."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django marks it
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size  # the ASGI server chunks the bytes itself
        assert response is not None
        if not response.streaming:
            response.close()  # the body is in memory: finish the request here (signals, connections)
        return response

    async def _send_streamed(
        self,
        response: HttpResponseBase,
        receive: Receive,
        send: Send,
    ) -> None:
        """Send a streamed body until it ends or the client leaves (Django's own watch), then close it."""
        sending = asyncio.create_task(self.send_response(response, send))
        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait([listening, sending], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (listening, sending):
                task.cancel()  # nothing for the one that ended
            ended = await asyncio.gather(listening, sending, return_exceptions=True)
            await sync_to_async(response.close, thread_sensitive=True)()
        for outcome in ended:
            # The client leaving, or the body ending first, is how a stream ends; anything else is a fault.
            if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError | RequestAborted):
                raise outcome

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Receive,
        send: Send,
    ) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._idle:
            executor = self._idle.pop()
        else:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="berth-request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await super().__call__(scope, receive, send)
        finally:
            if len(self._idle) < self.IDLE_THREADS:
                self._idle.append(executor)
            else:
                # Its connections belong to its thread: close them there before it ends.
                executor.submit(connections.close_all)
                executor.shutdown(wait=False)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """The server's start and stop (Django itself answers only HTTP): warm up before the first request."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await sync_to_async(warm_up, thread_sensitive=False)()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def warm_up() -> None:
    """Load what every page uses, then set it aside from the garbage collector's full passes.

    A full pass walks every object the process holds: under load it stopped a web process for
    140-190 ms of CPU, once or twice a minute, in the middle of whatever pages it was drawing
    (bench.load on a slow day). The URL patterns, views and compiled templates live as long as
    the process; frozen, a full pass walks only what came after: 25-35 ms.
    """
    get_resolver().url_patterns  # noqa: B018  (imports every view module)
    engine = Engine.get_default()
    for folder in map(Path, engine.dirs):
        for path in sorted(folder.rglob("*.html")):
            engine.get_template(str(path.relative_to(folder)))
    gc.collect()
    gc.freeze()


django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application() does
application = ReusedThreadsASGIHandler()
