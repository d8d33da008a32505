"""The one place that talks HTTP to registries (the Docker Registry v2 API).

Anonymous first; on 401 it answers the registry's challenge: Basic with the
stored credentials, or the Bearer token flow (`WWW-Authenticate: Bearer
realm=...,service=...,scope=...`) that Docker Hub, GHCR, Harbor and GitLab use.
Every failure becomes a RegistryError whose message a person understands.

Why one module over ~350 lines: it is the whole HTTP conversation with a registry (paging, the two
auth flows, size limits, error texts), kept in one place so nothing else talks HTTP to a registry.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings

from images_app.errors import RegistryError

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "CatalogPage",
    "ManifestHead",
    "RegistrySession",
    "RegistryTarget",
    "check_registry",
    "image_created",
    "list_repositories",
    "list_tags",
    "manifest_head",
    "parse_registry_url",
    "registry_host_of",
]

# What `docker pull` accepts, indexes first: the registry then answers with the digest the engine
# records in RepoDigests (the index's for a multi-architecture image, not a platform manifest's).
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, OCI_MANIFEST)
_INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

# A registry is untrusted: bound how much of an answer we read and how many pages we follow.
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_TAG_PAGES = 20
TAG_PAGE_SIZE = 1000
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


@dataclass(frozen=True)
class RegistryTarget:
    """Where a registry is and who we are there; the password never prints."""

    base_url: str  # "http://localhost:5000", "https://registry.example.com"
    host: str  # "localhost:5000", as image references name the registry
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class CatalogPage:
    repositories: list[str]
    next_last: str | None  # pass back as `last` for the next page; None at the end


def _is_loopback(hostname: str) -> bool:
    if hostname in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def parse_registry_url(text: str) -> tuple[str, str]:
    """("http(s)://host[:port]", "host[:port]") from what an admin typed, or ValueError saying why.

    Without a scheme: plain HTTP for loopback (as the engine trusts it), HTTPS otherwise.
    """
    text = (text or "").strip()
    if not text:
        raise ValueError("Enter the registry's address, e.g. registry.example.com or localhost:5000")
    if "://" not in text:
        text = "//" + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname or ""
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError("This is not a valid registry address (check the host and port)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("", "http", "https"):
        raise ValueError(f"Use http:// or https://, not {parts.scheme}://")
    if parts.username or parts.password or "@" in parts.netloc:
        raise ValueError("Put the username and password in their own fields, not in the address")
    if not hostname:
        raise ValueError("The address has no host name")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("Give the registry's root address only (the v2 API lives at /v2/ below it)")
    if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", parts.netloc):
        raise ValueError("The host name contains characters a registry address cannot have")
    if not scheme:
        scheme = "http" if _is_loopback(hostname) else "https"
    host = parts.netloc.lower()
    default_port = {"http": 80, "https": 443}[scheme]
    if port == default_port:
        host = host.rsplit(":", 1)[0]
    return f"{scheme}://{host}", host


def registry_host_of(text: str) -> str | None:
    """The normalised "host[:port]" of a registry address (default port dropped), or None when it does not parse.

    The one rule for a registry's host: Registry.host is stored with it, and references are matched with it.
    """
    try:
        return parse_registry_url(text)[1]
    except ValueError:
        return None


@dataclass(frozen=True)
class ManifestHead:
    """What `HEAD /v2/<name>/manifests/<tag>` tells: the manifest's digest and media type."""

    digest: str
    media_type: str

    @property
    def is_index(self) -> bool:
        return self.media_type in _INDEX_TYPES


def manifest_head(session: RegistrySession, repository: str, reference: str) -> ManifestHead:
    """The current digest of `repository:reference` without downloading anything (a HEAD).

    A registry that leaves out Docker-Content-Digest is asked with a GET, and the digest is
    the SHA-256 of the manifest's bytes (what the engine records).
    """
    path = f"/v2/{repository}/manifests/{reference}"
    headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
    response = session.request("HEAD", path, headers=headers)
    digest = response.headers.get("Docker-Content-Digest", "").strip().lower()
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if not _DIGEST.fullmatch(digest):
        response = session.request("GET", path, headers=headers)
        digest = "sha256:" + hashlib.sha256(response.content).hexdigest()
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    return ManifestHead(digest=digest, media_type=media_type)


def image_created(session: RegistrySession, repository: str, digest: str) -> datetime | None:
    """The `created` time of the image a manifest digest names, or None when the registry does not say.

    Two or three small GETs (index -> first linux/amd64 or first manifest -> config blob):
    only worth it when a digest changed, never for every check.
    """
    headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
    manifest = _json(session.request("GET", f"/v2/{repository}/manifests/{digest}", headers=headers), session.target)
    if not isinstance(manifest, dict):
        return None
    if isinstance(manifest.get("manifests"), list) and manifest["manifests"]:
        entries = [m for m in manifest["manifests"] if isinstance(m, dict)]
        chosen = next(
            (m for m in entries if (m.get("platform") or {}).get("architecture") == "amd64"),
            entries[0] if entries else None,
        )
        child = str((chosen or {}).get("digest") or "")
        if not _DIGEST.fullmatch(child):
            return None
        manifest = _json(session.request("GET", f"/v2/{repository}/manifests/{child}", headers=headers), session.target)
        if not isinstance(manifest, dict):
            return None
    config_digest = str((manifest.get("config") or {}).get("digest") or "")
    if not _DIGEST.fullmatch(config_digest):
        return None
    config = _json(session.request("GET", f"/v2/{repository}/blobs/{config_digest}"), session.target)
    created = config.get("created") if isinstance(config, dict) else None
    return _parse_created(created) if isinstance(created, str) else None


def _parse_created(value: str) -> datetime | None:
    # RFC 3339 with up to nanoseconds; Python's fromisoformat takes microseconds.
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", value.strip())
    if not match:
        return None
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    try:
        return datetime.fromisoformat(f"{base}{(fraction or '.0')[:7]}{zone}")
    except ValueError:
        return None


def check_registry(target: RegistryTarget) -> None:
    """GET /v2/: the registry answers and accepts our credentials, or RegistryError."""
    _Session(target).get("/v2/")


def list_repositories(target: RegistryTarget, *, page_size: int = 100, last: str | None = None) -> CatalogPage:
    """One page of `GET /v2/_catalog?n=..&last=..`."""
    session = _Session(target)
    params: dict[str, object] = {"n": page_size}
    if last:
        params["last"] = last
    try:
        response = session.get("/v2/_catalog", params=params)
    except RegistryError as exc:
        if exc.kind == RegistryError.NOT_FOUND:
            raise _catalog_disabled(target, "404") from None
        if exc.kind in (RegistryError.UNAUTHORIZED, RegistryError.DENIED) and session.authenticated_ok():
            # Our credentials open /v2/ but not the catalog: it is switched off or limited
            # to other accounts (Docker Hub answers so for everyone).
            raise _catalog_disabled(target, "401/403") from None
        raise
    body = _json(response, target)
    repositories = body.get("repositories") if isinstance(body, dict) else None
    if not isinstance(repositories, list):
        raise RegistryError(
            f"{target.host} answered /v2/_catalog without a repository list", kind=RegistryError.PROTOCOL
        )
    names = [str(name) for name in repositories]
    return CatalogPage(repositories=names, next_last=_next_last(response, names, page_size))


def list_tags(target: RegistryTarget, repository: str) -> list[str]:
    """All tags of a repository (`GET /v2/<name>/tags/list`, following Link pages, bounded)."""
    session = _Session(target)
    tags: list[str] = []
    last: str | None = None
    for _page in range(MAX_TAG_PAGES):
        params: dict[str, object] = {"n": TAG_PAGE_SIZE}
        if last:
            params["last"] = last
        try:
            response = session.get(f"/v2/{repository}/tags/list", params=params)
        except RegistryError as exc:
            if exc.kind == RegistryError.NOT_FOUND:
                raise RegistryError(
                    f"The registry {target.host} has no repository named {repository}", kind=RegistryError.NOT_FOUND
                ) from None
            raise
        body = _json(response, target)
        page = body.get("tags") if isinstance(body, dict) else None
        # A repository whose tags were all deleted answers "tags": null.
        page_tags = [str(tag) for tag in page or []]
        tags.extend(page_tags)
        if "next" not in response.links:
            break
        last = _next_last(response, page_tags, TAG_PAGE_SIZE)
        if not last:
            break
    return tags


# --- internals -------------------------------------------------------------------


def _catalog_disabled(target: RegistryTarget, status: str) -> RegistryError:
    return RegistryError(
        f"The registry {target.host} does not list its repositories (its catalog answered {status}: it is "
        "disabled or not allowed for this account). Open a repository by name instead.",
        kind=RegistryError.CATALOG_DISABLED,
    )


def _next_last(response: requests.Response, names: list[str], page_size: int) -> str | None:
    link = response.links.get("next", {}).get("url")
    if link:
        values = parse_qs(urlsplit(link).query).get("last")
        return values[0] if values else (names[-1] if names else None)
    return None


def _json(response: requests.Response, target: RegistryTarget) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        raise RegistryError(
            f"{target.host} did not answer like a Docker registry (its answer is not JSON)", kind=RegistryError.PROTOCOL
        ) from None


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    """("bearer", {"realm": ..., "service": ..., "scope": ...}) from a WWW-Authenticate header."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _CHALLENGE_PARAM.finditer(rest)
    }
    return scheme.lower(), params


def _registry_message(response: requests.Response) -> str:
    """The registry's own error text (`{"errors": [{"code", "message"}]}`), if any."""
    try:
        body = json.loads(response.content[:65536])
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0].get("code") or "")[:200]
    except (ValueError, AttributeError):
        pass
    return ""


class _Session:
    """One conversation with one registry: remembers the auth that worked.

    Keeps its connections open (keep-alive) for the next call: update checks make hundreds.
    One session per thread: requests' Session is not meant to be shared between threads.
    """

    def __init__(self, target: RegistryTarget) -> None:
        self.target = target
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "Berth"
        self.http.headers["Accept"] = "application/json"
        self.authorization: str | None = None  # the header value that the registry accepted
        timeout = settings.BERTH_REGISTRY_TIMEOUT
        self.timeout = (min(5, timeout), timeout)

    def authenticated_ok(self) -> bool:
        """Whether our credentials (if any) open /v2/ itself."""
        try:
            self.get("/v2/")
        except RegistryError:
            return False
        return True

    def get(self, path: str, params: dict[str, object] | None = None) -> requests.Response:
        return self.request("GET", path, params=params)

    def request(
        self, method: str, path: str, *, params: dict[str, object] | None = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """One call to the registry, answering its auth challenge once; RegistryError on any failure."""
        extra = dict(headers or {})
        if self.authorization:
            extra["Authorization"] = self.authorization
        response = self._send(method, path, params, extra)
        if response.status_code == 401:
            header = response.headers.get("WWW-Authenticate", "")
            authorization = self._answer_challenge(header)
            response = self._send(method, path, params, {**extra, "Authorization": authorization})
            if response.status_code == 401:
                raise self._unauthorized()
            self.authorization = authorization
        if response.status_code == 429:
            raise RegistryError(
                f"The registry {self.target.host} asks Berth to slow down (HTTP 429, rate limited)",
                kind=RegistryError.RATE_LIMITED,
            )
        if response.status_code == 403:
            detail = _registry_message(response)
            raise RegistryError(
                f"The registry {self.target.host} denied access{': ' + detail if detail else ''} (HTTP 403)",
                kind=RegistryError.DENIED,
            )
        if response.status_code == 404:
            raise RegistryError(f"{self.target.host} answered 404 for {path}", kind=RegistryError.NOT_FOUND)
        if response.status_code >= 400:
            detail = _registry_message(response)
            raise RegistryError(
                f"The registry {self.target.host} answered HTTP {response.status_code}"
                f"{': ' + detail if detail else ''}",
                kind=RegistryError.PROTOCOL,
            )
        return response

    def _send(
        self, method: str, path: str, params: dict[str, object] | None, headers: dict[str, str]
    ) -> requests.Response:
        return self._request(self.target.base_url + path, method=method, params=params, headers=headers)

    def _request(self, url: str, method: str = "GET", **kwargs: object) -> requests.Response:
        host = self.target.host
        try:
            response = self.http.request(method, url, timeout=self.timeout, stream=True, **kwargs)  # type: ignore[arg-type]
            # Read at most MAX_BODY_BYTES: a hostile or broken server must not fill memory.
            body = response.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
        except requests.exceptions.SSLError as exc:
            raise RegistryError(_tls_message(host, exc), kind=RegistryError.TLS) from None
        except requests.exceptions.Timeout:
            raise RegistryError(
                f"The registry {host} did not answer within {self.timeout[1]} s", kind=RegistryError.UNREACHABLE
            ) from None
        except (requests.exceptions.ConnectionError, OSError) as exc:
            raise RegistryError(_unreachable_message(host, exc), kind=RegistryError.UNREACHABLE) from None
        except requests.exceptions.RequestException as exc:
            raise RegistryError(
                f"Could not talk to the registry {host}: {type(exc).__name__}", kind=RegistryError.PROTOCOL
            ) from None
        response.close()
        if len(body) > MAX_BODY_BYTES:
            raise RegistryError(f"The registry {host} sent an answer larger than 8 MB", kind=RegistryError.PROTOCOL)
        response._content = body  # what .content/.json() read from now on
        return response

    def _answer_challenge(self, header: str) -> str:
        scheme, params = _challenge(header)
        if scheme == "basic":
            if not self.target.username:
                raise self._unauthorized()
            pair = f"{self.target.username}:{self.target.password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        if scheme == "bearer":
            return "Bearer " + self._fetch_token(params)
        raise RegistryError(
            f"The registry {self.target.host} asks for an authentication scheme Berth does not speak "
            f"({scheme or 'none given'})",
            kind=RegistryError.UNAUTHORIZED,
        )

    def _fetch_token(self, params: dict[str, str]) -> str:
        realm = params.get("realm", "")
        if urlsplit(realm).scheme not in ("http", "https"):
            raise RegistryError(
                f"The registry {self.target.host} named no usable token service (realm {realm[:100]!r})",
                kind=RegistryError.PROTOCOL,
            )
        query = {key: params[key] for key in ("service", "scope") if params.get(key)}
        auth = (self.target.username, self.target.password) if self.target.username else None
        response = self._request(realm, params=query, auth=auth)
        if response.status_code in (401, 403):
            raise self._unauthorized()
        if response.status_code >= 400:
            raise RegistryError(
                f"The token service of {self.target.host} answered HTTP {response.status_code}",
                kind=RegistryError.PROTOCOL,
            )
        body = _json(response, self.target)
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not token or not isinstance(token, str):
            raise RegistryError(f"The token service of {self.target.host} gave no token", kind=RegistryError.PROTOCOL)
        return token

    def _unauthorized(self) -> RegistryError:
        host = self.target.host
        if self.target.username:
            message = (
                f"The registry {host} refused the credentials of user {self.target.username} (HTTP 401): "
                "check the username and password or token."
            )
        else:
            message = f"The registry {host} requires credentials (HTTP 401): add a username and password or token."
        return RegistryError(message, kind=RegistryError.UNAUTHORIZED)


def _tls_message(host: str, exc: Exception) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        reason = "its certificate is not trusted (self-signed, expired or for another name)"
    elif "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        reason = "it does not speak HTTPS on that port (write http:// in the address if it is plain HTTP)"
    else:
        reason = "the TLS handshake failed"
    return f"Could not open a secure connection to the registry {host}: {reason}"


def _unreachable_message(host: str, exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text:
        reason = "connection refused (is it running on that port?)"
    elif "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        reason = "its name does not resolve (no network, or a typo in the address)"
    elif "timed out" in text.lower():
        reason = "the connection timed out"
    else:
        reason = "the network connection failed"
    return f"Could not reach the registry {host}: {reason}"


# The public name: update checks keep one session per registry and thread.
RegistrySession = _Session
