"""`python -m config.web_server APP [uvicorn options]`: uvicorn's worker processes, each accepting on its own socket.

`uvicorn --workers N` binds one listening socket in its parent and every worker accepts from it.
Linux wakes the worker that went to wait last, so a busy worker keeps taking new connections
while others idle: in bench.load three workers served 705, 486 and 279 list pages, and the
busiest one's p95 was 1.4x the others'. Keep-alive connections stay where they landed, and a
reverse proxy's few long-lived upstream connections can all land on one worker.

Here every worker binds its own socket to the same address with SO_REUSEPORT, and the kernel
spreads new connections over them by a hash of their addresses. Everything else is uvicorn's:
its command-line options and its supervisor (restarts of a dead worker, SIGHUP rolling
restarts, SIGTTIN/SIGTTOU), which hands each worker process the sockets it should serve. It
is given a stand-in that binds a fresh socket in the worker process that receives it, so a
restarted worker binds its own too, and no socket is left open in the parent, where
connections the kernel sent to it would wait unanswered.

With one worker (or without SO_REUSEPORT) this is plain `uvicorn`.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

PROGRAM = "python -m config.web_server"
logger = logging.getLogger("uvicorn.error")


def bind_shared_port(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) in the port's SO_REUSEPORT group, as uvicorn binds its own.

    Exits as uvicorn does when a worker cannot start (its supervisor then stops instead of
    restarting it forever), e.g. when another program holds the port without SO_REUSEPORT.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        logger.error("Cannot listen on %s:%d: %s", host, port, exc)
        sys.exit(STARTUP_FAILURE)
    return sock


def _answers(host: str, port: int) -> bool:
    """Whether something accepts connections on (host, port); a wildcard address is asked on loopback."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    try:
        with socket.create_connection((target, port), timeout=1):
            return True
    except OSError:
        return False


class OwnListeningSocket:
    """What uvicorn's supervisor passes to a worker process; unpickled there, it is a socket of the worker's own."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def __reduce__(self) -> tuple[Callable[[str, int], socket.socket], tuple[str, int]]:
        return bind_shared_port, (self.host, self.port)


def parse(argv: Sequence[str]) -> dict[str, Any]:
    """uvicorn's own command line, parsed by uvicorn's own definition of it."""
    try:
        with uvicorn.main.make_context(PROGRAM, list(argv)) as context:
            return dict(context.params)
    except click.exceptions.Exit as done:  # --help, --version
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)


def main(argv: Sequence[str]) -> None:
    options = parse(argv)
    app, app_dir = options.pop("app"), options.pop("app_dir")
    for refused in ("reload", "uds", "fd"):
        if options.get(refused):
            sys.exit(f"{PROGRAM}: --{refused} is not supported here (each worker binds its own TCP socket)")
    config = uvicorn.Config(app, **options)
    if config.workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(app, app_dir=app_dir, **options)
        return
    if config.port == 0:
        sys.exit(f"{PROGRAM}: name a port: with port 0 each worker would listen on a different one")
    sys.path.insert(0, app_dir)  # as uvicorn.run does, for the workers' import of `app`
    # SO_REUSEPORT would let a second server (a second `make run`) share the port without a word.
    if _answers(config.host, config.port):
        logger.error("Cannot listen on %s:%d: another server already listens there", config.host, config.port)
        sys.exit(STARTUP_FAILURE)
    # Fail here, once and clearly, rather than in every worker, when the address cannot be bound.
    bind_shared_port(config.host, config.port).close()
    logger.info("Each of %d workers listens on %s:%d itself (SO_REUSEPORT)", config.workers, config.host, config.port)
    Multiprocess(config, sockets=[OwnListeningSocket(config.host, config.port)]).run()  # type: ignore[list-item]


if __name__ == "__main__":
    main(sys.argv[1:])
