"""Berth's own errors. The engine gateway raises these; nothing above it sees the SDK's.

Each carries a message a person understands and the HTTP status a page answers with.
"""

from __future__ import annotations

from dataclasses import dataclass


class BerthError(Exception):
    """Base of every error Berth shows to a person."""

    http_status = 500
    title = "Something went wrong"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EngineUnavailable(BerthError):
    """The Docker Engine did not answer (socket missing, refused, timed out)."""

    http_status = 503
    title = "The Docker Engine is not answering"

    def __init__(self, endpoint: str, detail: str) -> None:
        super().__init__(f"Could not reach the Docker Engine at {endpoint}: {detail}")
        self.endpoint = endpoint
        self.detail = detail


class EngineError(BerthError):
    """The engine answered with an error that has no more specific meaning."""

    http_status = 502
    title = "The Docker Engine refused the request"

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ImageNotFound(BerthError):
    http_status = 404
    title = "Image not found"

    def __init__(self, reference: str, message: str = "") -> None:
        super().__init__(message or f"No such image: {reference}")
        self.reference = reference


@dataclass(frozen=True)
class ConflictingContainer:
    id: str
    name: str
    state: str


class RemovalConflict(BerthError):
    """The engine refused a removal with 409.

    `reason` is one of the REASON_* values; `forcible` says whether retrying with
    force would succeed (stopped containers, several repositories) or not (running).
    """

    http_status = 409
    title = "The image cannot be removed as asked"

    REASON_STOPPED_CONTAINER = "stopped_container"
    REASON_RUNNING_CONTAINER = "running_container"
    REASON_MULTIPLE_REPOSITORIES = "multiple_repositories"
    REASON_DEPENDENT_CHILDREN = "dependent_children"
    REASON_OTHER = "other"

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        forcible: bool,
        containers: list[ConflictingContainer] | None = None,
        engine_message: str = "",
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.forcible = forcible
        self.containers = containers or []
        self.engine_message = engine_message


class PullFailed(BerthError):
    http_status = 502
    title = "The pull failed"


class SearchUnavailable(BerthError):
    http_status = 503
    title = "Search is not available"


class RegistryError(BerthError):
    """A registry's HTTP API failed; `kind` says how, so pages can explain and choose a status."""

    http_status = 502
    title = "The registry refused the request"

    UNREACHABLE = "unreachable"
    UNAUTHORIZED = "unauthorized"
    DENIED = "denied"
    CATALOG_DISABLED = "catalog_disabled"
    NOT_FOUND = "not_found"
    TLS = "tls"
    PROTOCOL = "protocol"
    SECRET_UNREADABLE = "secret_unreadable"
    MISMATCH = "mismatch"  # credentials asked for a reference on another host
    RATE_LIMITED = "rate_limited"  # HTTP 429 (Docker Hub's pull limits)

    _STATUS = {UNREACHABLE: 503, NOT_FOUND: 404, MISMATCH: 400, RATE_LIMITED: 429}
    _TITLES = {
        UNREACHABLE: "The registry is not answering",
        UNAUTHORIZED: "The registry wants other credentials",
        CATALOG_DISABLED: "The registry does not list its repositories",
        NOT_FOUND: "Not found in the registry",
        TLS: "No secure connection to the registry",
        SECRET_UNREADABLE: "The stored password cannot be read",
        RATE_LIMITED: "The registry limits how often it may be asked",
    }

    def __init__(self, message: str, *, kind: str = PROTOCOL) -> None:
        super().__init__(message)
        self.kind = kind
        self.http_status = self._STATUS.get(kind, 502)
        self.title = self._TITLES.get(kind, self.title)


class BrokerUnavailable(BerthError):
    """Redis (the Celery broker) did not accept the job."""

    http_status = 503
    title = "The job queue is not answering"


class ReadOnlyMode(BerthError):
    http_status = 403
    title = "Berth is read-only"

    def __init__(self) -> None:
        super().__init__(
            "This Berth runs in read-only mode (BERTH_READ_ONLY=1): it shows the engine but changes nothing."
        )


