"""A loopback stand-in for registry behaviours the real `docker-registry` here cannot show:
a disabled catalog, the Bearer token flow (Docker Hub, GHCR, Harbor), hostile names.

Answers only what Berth's registry client asks: /v2/, /v2/_catalog, /v2/<name>/tags/list, /token,
and HEAD /v2/<name>/manifests/<tag> (update checks: anonymous tokens, rate limits).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_TAGS_PATH = re.compile(r"^/v2/(?P<name>.+)/tags/list$")
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")


@dataclass
class FakeRegistry:
    repositories: dict[str, list[str]] = field(default_factory=dict)
    catalog_enabled: bool = True
    bearer: bool = False  # ask for the token flow instead of serving anonymously
    username: str = "robot"
    password: str = "s3cret-token"
    token_requests: list[dict[str, str]] = field(default_factory=list)
    manifests: dict[str, str] = field(default_factory=dict)  # "name:tag" -> digest, for HEAD
    anonymous_tokens: bool = False  # the token service hands out tokens without credentials (Docker Hub)
    rate_limited: bool = False  # manifests answer 429, as Docker Hub past its pull limit
    accept_headers: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None
    _tokens: set[str] = field(default_factory=set)

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeRegistry:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self, scope: str) -> bool:
                if not registry.bearer:
                    return True
                header = self.headers.get("Authorization", "")
                if header.startswith("Bearer ") and header[7:] in registry._tokens:
                    return True
                challenge = f'Bearer realm="http://{registry.host}/token",service="fake-registry"' + (
                    f',scope="{scope}"' if scope else ""
                )
                self._json(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                    {"WWW-Authenticate": challenge},
                )
                return False

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/token":
                    registry.token_requests.append(query)
                    expected = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
                    anonymous = registry.anonymous_tokens and "Authorization" not in self.headers
                    if not anonymous and self.headers.get("Authorization", "") != f"Basic {expected}":
                        self._json(401, {"details": "incorrect username or password"})
                        return
                    token = secrets.token_hex(16)
                    registry._tokens.add(token)
                    self._json(200, {"token": token, "access_token": token})
                    return
                if url.path == "/v2/":
                    if self._authorized(""):
                        self._json(200, {})
                    return
                if url.path == "/v2/_catalog":
                    if not self._authorized("registry:catalog:*"):
                        return
                    if not registry.catalog_enabled:
                        self._json(404, {"errors": [{"code": "NOT_FOUND", "message": "catalog disabled"}]})
                        return
                    self._json(200, {"repositories": sorted(registry.repositories)})
                    return
                match = _TAGS_PATH.match(url.path)
                if match:
                    name = match.group("name")
                    if not self._authorized(f"repository:{name}:pull"):
                        return
                    if name not in registry.repositories:
                        self._json(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]})
                        return
                    self._json(200, {"name": name, "tags": registry.repositories[name]})
                    return
                self._json(404, {"errors": [{"code": "NOT_FOUND", "message": "no such route"}]})

            def do_HEAD(self) -> None:
                match = _MANIFEST_PATH.match(urlsplit(self.path).path)
                if not match:
                    self._json(404, {})
                    return
                name, reference = match.group("name"), match.group("reference")
                if not self._authorized(f"repository:{name}:pull"):
                    return
                registry.accept_headers.append(self.headers.get("Accept", ""))
                if registry.rate_limited:
                    self._json(429, {"errors": [{"code": "TOOMANYREQUESTS", "message": "pull rate limit"}]})
                    return
                digest = registry.manifests.get(f"{name}:{reference}")
                if digest is None:
                    self._json(404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
                    return
                self.send_response(200)
                self.send_header("Docker-Content-Digest", digest)
                self.send_header("Content-Type", "application/vnd.oci.image.index.v1+json")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-registry", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(5)
