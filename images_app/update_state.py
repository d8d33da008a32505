"""Is a local tag still what its registry serves? The rule, as pure functions.

A check asks the registry for the tag's current manifest digest (one HEAD, shared by every
environment holding the tag); whether a given local image is up to date is then decided here,
at read time, from that stored answer and the image's own RepoDigests. Deciding at read time
means a "Pull update" shows "up to date" as soon as the pull is done, without a new check.

No Django settings, no database, no network: unit-tested from literal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import TextChoices

from images_app.references import BadReference, parse_reference

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}


class UpdateState(TextChoices):
    UP_TO_DATE = "up_to_date", "up to date"
    UPDATE_AVAILABLE = "update_available", "update available"
    UNKNOWN = "unknown", "unknown"


class UnknownReason(TextChoices):
    """Why a tag's state is unknown: something about the local image, or the registry's answer."""

    BUILT_LOCALLY = "built_locally", "built locally"
    PULLED_BY_DIGEST = "pulled_by_digest", "pulled by digest"
    NO_DIGEST = "no_digest", "no digest recorded"
    NOT_CHECKED = "not_checked", "not checked yet"
    UNREACHABLE = "unreachable", "registry unreachable"
    CREDENTIALS_REFUSED = "credentials_refused", "credentials refused"
    RATE_LIMITED = "rate_limited", "rate limited"
    NOT_IN_REGISTRY = "not_in_registry", "tag not in the registry"
    REGISTRY_ERROR = "registry_error", "registry error"


@dataclass(frozen=True, order=True)
class CheckKey:
    """What one check asks about: a tag of a repository on a registry, in canonical spelling.

    `nginx:1.25` and `docker.io/library/nginx:1.25` are the same key, so every environment
    (and every spelling) shares one check.
    """

    registry: str  # "localhost:5000", "docker.io"
    repository: str  # "team/app", "library/nginx"
    tag: str

    @property
    def reference(self) -> str:
        """How `docker pull` is asked for it (Docker Hub in its short form)."""
        if self.registry == DOCKER_HUB:
            name = self.repository.removeprefix("library/")
            return f"{name}:{self.tag}"
        return f"{self.registry}/{self.repository}:{self.tag}"


def _canonical_repository(repository: str) -> tuple[str, str] | None:
    """("registry", "path") for a repository name as the engine writes it, or None if it does not parse."""
    try:
        ref = parse_reference(repository)
    except BadReference:
        return None
    registry = (ref.registry or DOCKER_HUB).lower()
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    path = ref.path
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return registry, path


def check_key(repo_tag: str) -> CheckKey | None:
    """The check a local tag ("nginx:1.25", "localhost:5000/app:v1") needs, or None when it names none."""
    try:
        ref = parse_reference(repo_tag)
    except BadReference:
        return None
    if ref.digest is not None or ref.tag is None:
        return None
    canonical = _canonical_repository(ref.repository)
    if canonical is None:
        return None
    return CheckKey(canonical[0], canonical[1], ref.tag)


def local_digests(key: CheckKey, repo_digests: Iterable[str]) -> frozenset[str]:
    """The digests the engine recorded for the key's repository ("repo@sha256:..." entries)."""
    found = set()
    for entry in repo_digests:
        repository, sep, digest = entry.partition("@")
        if sep and _canonical_repository(repository) == (key.registry, key.repository):
            found.add(digest.lower())
    return frozenset(found)


@dataclass(frozen=True)
class RemoteAnswer:
    """What the registry said about a key when it was last asked (stored by the check)."""

    digest: str  # "" when the registry did not tell (see reason)
    reason: str  # "" when it answered; else an UnknownReason value
    checked_at: datetime | None = None
    created: datetime | None = None  # the remote image's creation date, when cheaply known
    message: str = ""
    media_type: str = ""  # an index (multi-architecture) or a single manifest


@dataclass(frozen=True)
class Verdict:
    state: str  # an UpdateState value
    reason: str = ""  # an UnknownReason value when state is unknown
    remote_digest: str = ""
    checked_at: datetime | None = None
    remote_created: datetime | None = None
    key: CheckKey | None = None
    message: str = ""

    @property
    def outdated(self) -> bool:
        return self.state == UpdateState.UPDATE_AVAILABLE

    @property
    def label(self) -> str:
        if self.state == UpdateState.UNKNOWN:
            return f"unknown ({UnknownReason(self.reason).label})" if self.reason else "unknown"
        return UpdateState(self.state).label


def decide(
    *, key: CheckKey | None, tagged: bool, repo_digests: Iterable[str], remote: RemoteAnswer | None
) -> Verdict | None:
    """The update state of one local tag; None for an untagged image nobody can ask about.

    - untagged but with a digest: it was pulled by digest, there is no tag to follow;
    - no digest recorded for the tag's repository: built (or only tagged) locally, never
      pushed or pulled there, so the registry's tag cannot be compared with anything;
    - otherwise the registry's answer decides: its digest among the local ones is up to date.
    """
    repo_digests = tuple(repo_digests)
    if not tagged:
        return Verdict(UpdateState.UNKNOWN, UnknownReason.PULLED_BY_DIGEST) if repo_digests else None
    if key is None:
        return Verdict(UpdateState.UNKNOWN, UnknownReason.BUILT_LOCALLY)
    mine = local_digests(key, repo_digests)
    if not mine:
        reason = UnknownReason.NO_DIGEST if repo_digests else UnknownReason.BUILT_LOCALLY
        return Verdict(UpdateState.UNKNOWN, reason, key=key)
    if remote is None:
        return Verdict(UpdateState.UNKNOWN, UnknownReason.NOT_CHECKED, key=key)
    checked, message = remote.checked_at, remote.message
    if remote.reason or not remote.digest:
        failed = str(remote.reason or UnknownReason.REGISTRY_ERROR)
        return Verdict(UpdateState.UNKNOWN, failed, checked_at=checked, key=key, message=message)
    if remote.digest.lower() in mine:
        return Verdict(
            UpdateState.UP_TO_DATE, remote_digest=remote.digest, checked_at=checked, key=key, message=message
        )
    return Verdict(
        UpdateState.UPDATE_AVAILABLE,
        remote_digest=remote.digest,
        remote_created=remote.created,
        checked_at=checked,
        key=key,
        message=message,
    )


def reason_for_registry_error(kind: str) -> str:
    """The UnknownReason for a RegistryError kind (images_app.errors.RegistryError)."""
    return {
        "unreachable": UnknownReason.UNREACHABLE,
        "tls": UnknownReason.UNREACHABLE,
        "unauthorized": UnknownReason.CREDENTIALS_REFUSED,
        "denied": UnknownReason.CREDENTIALS_REFUSED,
        "secret_unreadable": UnknownReason.CREDENTIALS_REFUSED,
        "rate_limited": UnknownReason.RATE_LIMITED,
        "not_found": UnknownReason.NOT_IN_REGISTRY,
    }.get(kind, UnknownReason.REGISTRY_ERROR)
