"""Docker image references ("ubuntu:22.04", "localhost:5000/app@sha256:...").

The grammar is the one of github.com/distribution/reference (what the Docker
Engine and CLI use), re-implemented piece by piece instead of as one big regular
expression, so that a refusal can say which part is wrong and why.

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [ registry "/" ] path
    registry         := host [ ":" port ]          host: domain name or [IPv6]
    path             := path-component [ "/" path-component ]*
    path-component   := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest           := algorithm ":" hex

Also every other naming rule about references (Docker Hub's hosts, "looks like a registry",
repo:tag splitting, short IDs, image status): one home for each, see the second half.

Why one module over ~350 lines: the grammar's validators and the naming rules are one subject that
readers check against each other (a second copy of any rule has disagreed before); each part is
short and sectioned. Stdlib only: the engine gateway, forms and Celery tasks all import this, and it
must stay importable without Django settings or the Docker SDK.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TAG",
    "MAX_NAME_LENGTH",
    "MAX_TAG_LENGTH",
    "BadReference",
    "ImageReference",
    "is_image_id_like",
    "parse_reference",
]

DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255
MAX_TAG_LENGTH = 128

# Docker Hub: the registry a reference without a host pulls from, as the engine names it.
DOCKER_HUB = "docker.io"
# Every host that is Docker Hub: a registered registry at any of these holds Docker Hub credentials,
# a search term starting with one searches Docker Hub.
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
# The ones the reference grammar normalises away (docker/distribution's reference package):
# familiar() drops them the way `docker images` does; "registry-1.docker.io/x" stays as written.
_DOCKER_HUB_REGISTRIES = frozenset({"docker.io", "index.docker.io"})
_OFFICIAL_PREFIX = "library/"

# re.ASCII everywhere: Go's \w and character classes are ASCII-only, while
# Python's match any Unicode letter or digit (e.g. "é" or "٣") by default.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", re.ASCII)
_DOMAIN_LABEL = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?", re.ASCII)
_PORT = re.compile(r"[0-9]+", re.ASCII)
_IPV6_CHARS = re.compile(r"[0-9a-fA-F:]+", re.ASCII)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)
_TAG_CHAR = re.compile(r"[A-Za-z0-9_.-]", re.ASCII)
_DIGEST_ALGORITHM = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*", re.ASCII)
_DIGEST_HEX = re.compile(r"[0-9a-fA-F]{32,}", re.ASCII)
_LOWER_HEX = re.compile(r"[a-f0-9]+", re.ASCII)
_IDENTIFIER = re.compile(r"[a-f0-9]{64}", re.ASCII)
_IMAGE_ID_LIKE = re.compile(r"(?:sha256:)?[a-f0-9]{12,64}", re.ASCII)
_SEPARATOR_RUN = re.compile(r"[._-]+", re.ASCII)
_VALID_SEPARATOR = re.compile(r"[._]|__|-+", re.ASCII)

# The grammar accepts any algorithm, but the engine (go-digest) only knows these
# and checks their exact length, always in lowercase hex.
_KNOWN_DIGESTS = {"sha256": 64, "sha384": 96, "sha512": 128}

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class BadReference(ValueError):
    """An image reference that Docker would refuse.

    The message is meant for a person: it says what is wrong and quotes the part.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _q(part: str, limit: int = 80) -> str:
    """Quote a piece of user input for a message, readable even when it is odd."""
    if len(part) > limit:
        part = part[: limit - 3] + "..."
    # Escape invisible characters, otherwise 'Invalid character ""' says nothing.
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in part)
    return f'"{shown}"'


def _has_ascii_upper(text: str) -> bool:
    return any("A" <= ch <= "Z" for ch in text)


def looks_like_registry(component: str) -> bool:
    """Whether the first component of a name is a registry host (docker's splitDockerDomain rule).

    A dot, a port or "localhost": without this rule "myuser/app" would be a host.
    """
    return "." in component or ":" in component or component == "localhost"


# --- validators: each raises BadReference with a specific message ---------------


def _check_registry(registry: str) -> None:
    if not registry:
        raise BadReference("Registry host is empty")
    if not looks_like_registry(registry):
        # Would be read back as the first path component, not as a registry.
        raise BadReference(
            f"Not a registry host: {_q(registry)} (a registry contains a dot or a port, or is localhost)"
        )

    if registry.startswith("["):
        end = registry.find("]")
        if end == -1:
            raise BadReference(f'Missing "]" after the IPv6 address in registry {_q(registry)}')
        address, rest = registry[1:end], registry[end + 1 :]
        # The grammar's own IPv6 pattern is only "[hex and colons]"; ipaddress
        # additionally refuses nonsense such as "[:]" or "[1:2:3]".
        if not _IPV6_CHARS.fullmatch(address):
            raise BadReference(f"Invalid IPv6 address {_q(address)} in registry {_q(registry)}")
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise BadReference(f"Invalid IPv6 address {_q(address)} in registry {_q(registry)}") from None
        if rest and not rest.startswith(":"):
            raise BadReference(f'Expected ":port" after "]" in registry {_q(registry)}, got {_q(rest)}')
        port = rest[1:] if rest else None
    else:
        host, colon, port_text = registry.partition(":")
        port = port_text if colon else None
        if port is not None and ":" in port:
            raise BadReference(
                f'IPv6 registry addresses must be written in brackets, e.g. "[::1]:5000": {_q(registry)}'
            )
        _check_domain_name(host, registry)

    if port is not None:
        if not port:
            raise BadReference(f'Missing port number after ":" in registry {_q(registry)}')
        if not _PORT.fullmatch(port):
            raise BadReference(f"Registry port must be digits only: {_q(port)} in {_q(registry)}")


def _check_domain_name(host: str, registry: str) -> None:
    if not host:
        raise BadReference(f"Registry host is empty in {_q(registry)}")
    for label in host.split("."):
        if not label:
            raise BadReference(f"Registry host {_q(host)} has an empty part (a leading, trailing or double dot)")
        if _DOMAIN_LABEL.fullmatch(label):
            continue
        bad = next((ch for ch in label if not (ch.isascii() and (ch.isalnum() or ch == "-"))), None)
        if bad is not None:
            raise BadReference(f"Invalid character {_q(bad)} in registry host {_q(host)}")
        raise BadReference(f'Registry host parts must not start or end with "-": {_q(label)} in {_q(host)}')


def _check_path(path: str, registry: str | None) -> None:
    if not path:
        if registry is not None:
            raise BadReference(f"Missing repository name after registry {_q(registry)}")
        raise BadReference("Empty repository name")
    components = path.split("/")
    for index, component in enumerate(components):
        if component:
            continue
        if index == 0 and registry is None:
            raise BadReference(f'Repository name must not start with "/": {_q(path)}')
        if index == len(components) - 1:
            raise BadReference(f'Repository name must not end with "/": {_q(path)}')
        raise BadReference(f'Repository name contains an empty part ("//"): {_q(path)}')

    for component in components:
        _check_path_component(component, path)

    # Checked last, after the structure, so that "Ubuntu!" first gets told about
    # the "!", and a lowercase message always means lowercasing is the whole fix.
    if _has_ascii_upper(path):
        raise BadReference(f"Repository names must be lowercase: {_q(path)}")

    if registry is None and len(components) > 1 and looks_like_registry(components[0]):
        # Only reachable by building an ImageReference by hand: parse_reference
        # would have read this first component as the registry.
        raise BadReference(
            f"First part {_q(components[0])} of {_q(path)} would be read as a registry host; pass it as the registry"
        )


def _check_path_component(component: str, path: str) -> None:
    # Uppercase is judged by _check_path afterwards, on the whole name.
    lowered = component.translate(_ASCII_LOWER)
    if _PATH_COMPONENT.fullmatch(lowered):
        return
    for ch in lowered:
        if not (("a" <= ch <= "z") or ("0" <= ch <= "9") or ch in "._-"):
            raise BadReference(f"Invalid character {_q(ch)} in repository name {_q(path)}")
    if lowered[0] in "._-":
        raise BadReference(
            f"Each part of a repository name must start with a lowercase letter or digit: {_q(component)}"
        )
    if lowered[-1] in "._-":
        raise BadReference(f"Each part of a repository name must end with a lowercase letter or digit: {_q(component)}")
    for run in _SEPARATOR_RUN.findall(lowered):
        if not _VALID_SEPARATOR.fullmatch(run):
            raise BadReference(
                f"Invalid separator {_q(run)} in {_q(component)}: "
                'use one ".", one or two "_", or any number of "-" between letters and digits'
            )
    raise BadReference(f"Invalid repository name {_q(path)}")  # pragma: no cover - all cases above


def _check_tag(tag: str) -> None:
    if not tag:
        raise BadReference("Empty tag")
    if len(tag) > MAX_TAG_LENGTH:
        raise BadReference(f"Tag is longer than {MAX_TAG_LENGTH} characters ({len(tag)}): {_q(tag, 40)}")
    if _TAG.fullmatch(tag):
        return
    bad = next((ch for ch in tag if not _TAG_CHAR.fullmatch(ch)), None)
    if bad is not None:
        raise BadReference(f'Invalid character {_q(bad)} in tag {_q(tag)} (allowed: letters, digits, "_", ".", "-")')
    raise BadReference(f'Tag must start with a letter, digit or "_": {_q(tag)}')


def _check_digest(digest: str) -> None:
    algorithm, colon, encoded = digest.partition(":")
    if not colon:
        raise BadReference(f"Invalid digest {_q(digest)}: expected sha256: followed by 64 hex characters")
    expected = _KNOWN_DIGESTS.get(algorithm)
    if expected is not None:
        if len(encoded) != expected:
            problem = f"got {len(encoded)}"
        elif not _LOWER_HEX.fullmatch(encoded):
            problem = f"found {_q(next(ch for ch in encoded if ch not in '0123456789abcdef'))}"
        else:
            return
        raise BadReference(
            f"Invalid digest {_q(digest, 40)}: expected {algorithm}: followed by "
            f"{expected} hex characters (0-9, a-f), {problem}"
        )
    if algorithm.lower() in _KNOWN_DIGESTS:
        raise BadReference(f"Digest algorithm must be lowercase: {_q(algorithm)} in {_q(digest, 40)}")
    if not _DIGEST_ALGORITHM.fullmatch(algorithm):
        raise BadReference(f"Invalid digest algorithm {_q(algorithm)} in {_q(digest, 40)}")
    if not _DIGEST_HEX.fullmatch(encoded):
        raise BadReference(
            f"Invalid digest {_q(digest, 40)}: the part after {_q(algorithm + ':')} must be at least 32 hex characters"
        )


# --- the reference ----------------------------------------------------------------


@dataclass(frozen=True)
class ImageReference:
    """A validated image reference, kept as the person wrote it.

    Construction validates (BadReference), so every instance prints back to a
    string that parse_reference reads as the same instance.
    """

    registry: str | None  # "localhost:5000", "ghcr.io"; None means Docker Hub
    path: str  # "ubuntu" stays "ubuntu": "library/" is not added, see familiar()
    tag: str | None
    digest: str | None

    def __post_init__(self) -> None:
        if self.registry is not None:
            _check_registry(self.registry)
        _check_path(self.path, self.registry)
        if len(self.repository) > MAX_NAME_LENGTH:
            raise BadReference(
                f"Repository name is longer than {MAX_NAME_LENGTH} characters "
                f"({len(self.repository)}): {_q(self.repository, 40)}"
            )
        if self.registry is None and _IDENTIFIER.fullmatch(self.path):
            # The CLI refuses it too: it would be indistinguishable from an image ID.
            raise BadReference(
                f"Repository name must not be 64 hex characters (that is an image ID): {_q(self.path, 20)}"
            )
        if self.tag is not None:
            _check_tag(self.tag)
        if self.digest is not None:
            _check_digest(self.digest)

    @property
    def repository(self) -> str:
        """What `docker pull` takes as the repository: "localhost:5000/app", "ubuntu"."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    def pull_args(self) -> tuple[str, str]:
        """(repository, tag or digest) for the engine's pull.

        The digest wins over a tag, as in `docker pull x:1@sha256:...`: the tag
        is then only informative and the engine pins by digest.
        """
        if self.digest is not None:
            return self.repository, self.digest
        return self.repository, self.tag or DEFAULT_TAG

    def familiar(self) -> ImageReference:
        """The short form `docker images` shows: "docker.io/library/ubuntu" -> "ubuntu"."""
        registry, path = self.registry, self.path
        if registry in _DOCKER_HUB_REGISTRIES:
            registry = None
        if registry is None and path.startswith(_OFFICIAL_PREFIX) and "/" not in path[len(_OFFICIAL_PREFIX) :]:
            # Only official images: "library/a/b" is a real nested path, kept whole.
            path = path[len(_OFFICIAL_PREFIX) :]
        if (registry, path) == (self.registry, self.path):
            return self
        try:
            return dataclasses.replace(self, registry=registry, path=path)
        except BadReference:
            # Some long forms have no short one: in "docker.io/a.b/c", dropping the
            # registry would make "a.b" the registry; "docker.io/library/<64 hex>"
            # would read as an image ID.
            return self

    def __str__(self) -> str:
        text = self.repository
        if self.tag is not None:
            text += f":{self.tag}"
        elif self.digest is None:
            text += f":{DEFAULT_TAG}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, *, default_tag: bool = True) -> ImageReference:
    """Parse and validate an image reference, or raise BadReference.

    With default_tag, a reference without tag and digest gets tag "latest"
    (as `docker pull` does); without it, `tag` stays None so callers can tell
    whether the person wrote a tag.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_reference() takes a str, not {type(text).__name__}")
    s = text.strip()
    if not s:
        raise BadReference("Empty reference")
    space = next((ch for ch in s if ch.isspace()), None)
    if space is not None:
        raise BadReference(f"Image reference must not contain spaces: {_q(s)}")

    name_tag, at, digest = s.partition("@")
    if at:
        if "@" in digest:
            raise BadReference(f'Image reference has more than one "@": {_q(s)}')
        if not digest:
            raise BadReference(f'Missing digest after "@": {_q(s)}')
        if not name_tag:
            raise BadReference(f'Missing repository name before "@": {_q(s)}')

    # The tag colon is the first one after the last "/": any earlier colon
    # belongs to the registry ("localhost:5000/app", "[::1]:5000/app").
    last_slash = name_tag.rfind("/")
    colon = name_tag.find(":", last_slash + 1)
    if colon == -1:
        name, tag = name_tag, None
    else:
        name, tag = name_tag[:colon], name_tag[colon + 1 :]
        if not tag:
            raise BadReference(f'Missing tag after ":": {_q(s)}')
    if not name:
        raise BadReference(f"Missing repository name before {_q(s[:1])}: {_q(s)}")
    if last_slash == -1 and name.startswith("["):
        raise BadReference(f'Registry {_q(name_tag)} must be followed by "/" and a repository name')

    first, slash, rest = name.partition("/")
    if slash and looks_like_registry(first):
        registry: str | None = first
        path = rest
    else:
        registry, path = None, name

    if default_tag and tag is None and not at:
        tag = DEFAULT_TAG
    return ImageReference(registry=registry, path=path, tag=tag, digest=digest if at else None)


def is_image_id_like(text: str) -> bool:
    """True for what reads as an image ID: "sha256:" optional, then 12 to 64 lowercase hex.

    Short forms are ambiguous: "deadbeef0123" is also a valid repository name;
    callers decide which reading wins (the CLI tries local image IDs first).
    """
    return bool(_IMAGE_ID_LIKE.fullmatch(text.strip()))


def id_hex(image_id: str) -> str:
    """An image ID's hex digits, without the "sha256:" the engine writes in front."""
    return image_id.removeprefix("sha256:")


def id_starts_with(image_id: str, prefix: str) -> bool:
    """Whether a full image ID starts with a (short or full) ID, "sha256:" written or not, as the CLI matches."""
    return id_hex(image_id).startswith(id_hex(prefix))


def short_id(image_id: str) -> str:
    """The 12 hex digits `docker image ls` shows for an image (or container) ID, "sha256:" or not."""
    return id_hex(image_id)[:12]


def repository_of(reference: str) -> str:
    """The repository of a RepoTags ("repo:tag") or RepoDigests ("repo@sha256:...") entry, as the engine lists them.

    A RepoTags entry always has a tag, so its last ":" starts it (a registry's ":port" comes before a "/").
    """
    if "@" in reference:
        return reference.partition("@")[0]
    return reference.rpartition(":")[0]


def is_docker_hub(host: str) -> bool:
    """Whether a registry host ("docker.io", "index.docker.io", ...) is Docker Hub."""
    return host.lower() in DOCKER_HUB_HOSTS


def registry_of(reference: ImageReference) -> str:
    """The registry host a reference pulls from (Docker Hub when it names none), lowercased."""
    return (reference.registry or DOCKER_HUB).lower()


def same_registry(host: str, other: str) -> bool:
    """Whether two registry hosts are the same registry (every Docker Hub alias is Docker Hub)."""
    host, other = host.lower(), other.lower()
    return host == other or (is_docker_hub(host) and is_docker_hub(other))


def split_repo_tag(repo_tag: str) -> tuple[str, str]:
    """("localhost:5000/app", "v1") from "localhost:5000/app:v1", as `docker image ls` splits a RepoTags entry.

    The port's colon is not a tag's: a "tag" with a "/" in it is part of the host. No tag: "<none>".
    """
    repository, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, "<none>"
    return repository, tag


class ImageStatus(enum.StrEnum):
    """What the images list says of an image: a container holds it, nothing does, or untagged and unused.

    A StrEnum, not Django's TextChoices: this module stays importable without Django.
    """

    IN_USE = "in_use"
    UNUSED = "unused"
    DANGLING = "dangling"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(status.value, status.label) for status in cls]


def image_status(*, tagged: bool, containers: int) -> ImageStatus:
    """In use wins over dangling: an untagged image a container holds cannot be pruned."""
    if containers:
        return ImageStatus.IN_USE
    return ImageStatus.UNUSED if tagged else ImageStatus.DANGLING
