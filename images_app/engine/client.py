"""Building SDK clients and translating the SDK's errors into Berth's."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
import docker.tls
import requests
from django.conf import settings

from images_app.engine.types import Endpoint
from images_app.errors import EngineError, EngineUnavailable, ImageNotFound

_clients: dict[tuple[int, str], docker.APIClient] = {}
# Re-entrant: a failed client construction (under the lock) evicts through the same lock.
_clients_lock = threading.RLock()
_request_count = 0
_count_lock = threading.Lock()


def _count_response(response: requests.Response, *args: object, **kwargs: object) -> None:
    global _request_count
    with _count_lock:
        _request_count += 1


def api_request_count() -> int:
    """How many HTTP requests this process has sent to any engine (tests and benchmarks read it)."""
    return _request_count


def forget_clients() -> None:
    """Drop cached clients, e.g. after the engine restarted on a new socket."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


class _EngineClient(docker.APIClient):
    """The SDK's client, deaf to the process environment.

    requests would let REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace the engine's CA (DOCKER_CERT_PATH/ca.pem)
    and send engine calls through HTTP_PROXY. A property, because requests.Session.__init__ assigns
    trust_env and the SDK negotiates the API version inside its own __init__.
    """

    @property
    def trust_env(self) -> bool:  # type: ignore[override]
        return False

    @trust_env.setter
    def trust_env(self, value: bool) -> None:
        pass


def client_for(endpoint: Endpoint) -> docker.APIClient:
    # Keyed by PID: a client (its connection pool) must never cross a fork,
    # which is exactly what Celery's prefork pool does after import.
    key = (os.getpid(), endpoint.docker_host)
    client = _clients.get(key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            with translate_errors(endpoint):
                client = _EngineClient(
                    base_url=endpoint.docker_host,
                    version="auto",  # negotiate: users run engines from 20.10 to 29
                    timeout=settings.BERTH_ENGINE_TIMEOUT,
                    tls=tls_config(endpoint.docker_host),
                )
            client.hooks["response"].append(_count_response)
            _clients[key] = client
    return client


def new_stream_client(endpoint: Endpoint) -> docker.APIClient:
    """A client of its own for one long stream (events), never pooled: closing it ends only that stream."""
    client = _EngineClient(
        base_url=endpoint.docker_host,
        version="auto",
        timeout=settings.BERTH_ENGINE_TIMEOUT,
        tls=tls_config(endpoint.docker_host),
    )
    client.hooks["response"].append(_count_response)
    return client


def tls_config(docker_host: str) -> docker.tls.TLSConfig | bool:
    """TLS for tcp:// endpoints the way the docker CLI does it: DOCKER_CERT_PATH holds
    ca.pem, cert.pem and key.pem; DOCKER_TLS_VERIFY (any value) checks the engine's certificate."""
    if not docker_host.startswith(("tcp://", "https://")):
        return False
    cert_path = settings.DOCKER_CERT_PATH
    verify = settings.DOCKER_TLS_VERIFY
    if not cert_path and not verify and not docker_host.startswith("https://"):
        return False
    folder = Path(cert_path or Path.home() / ".docker")
    client_cert = (str(folder / "cert.pem"), str(folder / "key.pem"))
    ca_cert = folder / "ca.pem"
    return docker.tls.TLSConfig(
        client_cert=client_cert if all(Path(p).exists() for p in client_cert) else None,
        ca_cert=str(ca_cert) if verify and ca_cert.exists() else None,
        verify=verify,
    )


def endpoint_ping(endpoint: Endpoint) -> str:
    """The engine's version string; raises EngineUnavailable when it does not answer."""
    client = client_for(endpoint)
    with translate_errors(endpoint):
        return client.version().get("Version", "")


def explanation(exc: docker.errors.APIError) -> str:
    text = exc.explanation
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text or exc).strip()


@contextmanager
def translate_errors(endpoint: Endpoint, *, target: str = "") -> Iterator[None]:
    """Turn whatever the SDK or the transport raises into a Berth error."""
    try:
        yield
    except docker.errors.NotFound as exc:
        raise ImageNotFound(target, explanation(exc)) from exc
    except docker.errors.APIError as exc:
        raise EngineError(explanation(exc), exc.status_code) from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException, OSError) as exc:
        # Drop the pooled client: once the engine is back, the next call starts
        # clean (fresh connection, fresh API version negotiation) without a restart.
        _forget_client(endpoint)
        raise EngineUnavailable(endpoint.docker_host, _transport_detail(exc)) from exc


def _forget_client(endpoint: Endpoint) -> None:
    with _clients_lock:
        client = _clients.pop((os.getpid(), endpoint.docker_host), None)
    if client is not None:
        client.close()


def _transport_detail(exc: BaseException) -> str:
    text = str(exc)
    if "FileNotFoundError" in text or "No such file" in text:
        return "the socket does not exist (is the Docker daemon running?)"
    if "Permission denied" in text:
        return "permission denied on the socket (Berth's user needs access to it)"
    if "Connection refused" in text:
        return "connection refused (is the daemon listening there?)"
    if "timed out" in text.lower():
        return "the engine did not answer in time"
    if "HTTP request to an HTTPS server" in text:
        return "the engine speaks TLS: set DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and DOCKER_TLS_VERIFY=1"
    if "SSL" in text or "certificate" in text.lower():
        return "TLS failed (check DOCKER_CERT_PATH's ca.pem, cert.pem and key.pem, and DOCKER_TLS_VERIFY)"
    return text[:300]
