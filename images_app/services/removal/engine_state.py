"""The engine's images and containers as removal sees them, with moby's deletion rules simulated in memory.

Simulating effects keeps a batch plan honest: removing a:1 then a:2 of the same image means the
second removal deletes the image, not just a tag. The rules follow moby's ImageDelete
(daemon/images/image_delete.go); tests/unit/test_removal_force_rules.py checks them from literal
data and tests/integration/test_removal_force_oracle.py against the real engine.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from images_app import engine
from images_app.engine import ContainerInfo, ImageInfo
from images_app.models import Environment
from images_app.references import BadReference, id_starts_with, is_image_id_like, parse_reference, repository_of
from images_app.services.removal.contracts import Action

if TYPE_CHECKING:
    from images_app.services.removal.plan import PlanItem


@dataclass
class StateImage:
    id: str
    tags: list[str]
    digests: list[str]
    parent: str
    size: int


class EngineState:
    """Images (intermediate ones too) and containers, with the engine's deletion rules."""

    def __init__(self, images: Iterable[ImageInfo], containers: Iterable[ContainerInfo]) -> None:
        self.images: dict[str, StateImage] = {
            i.id: StateImage(i.id, list(i.repo_tags), list(i.repo_digests), i.parent_id, i.size) for i in images
        }
        self.containers = list(containers)
        self.loaded_at = time.monotonic()
        self._index()

    def _index(self) -> None:
        # Plans of thousands of items (retention policies) ask for children once per item: count them once.
        self.children = Counter(img.parent for img in self.images.values() if img.parent)

    @classmethod
    def load(cls, environment: Environment) -> EngineState:
        return cls(engine.list_images(environment, include_intermediate=True), engine.list_containers(environment))

    def copy(self) -> EngineState:
        clone = EngineState([], self.containers)
        clone.images = {
            k: StateImage(v.id, list(v.tags), list(v.digests), v.parent, v.size) for k, v in self.images.items()
        }
        clone.loaded_at = self.loaded_at
        clone._index()
        return clone

    def has_children(self, image_id: str) -> bool:
        return self.children[image_id] > 0

    def dependents(self, image_id: str) -> list[ContainerInfo]:
        return [c for c in self.containers if c.image_id == image_id]

    def top_level(self) -> list[StateImage]:
        """What `docker image ls` lists: tagged images, and untagged ones nothing is built on."""
        parents = {img.parent for img in self.images.values()}
        return [img for img in self.images.values() if img.tags or img.digests or img.id not in parents]

    def depth(self, image_id: str) -> int:
        """How many ancestors an image has (bounded: chains are short, cycles impossible but guarded)."""
        depth, current = 0, self.images.get(image_id)
        while current is not None and current.parent and depth < 1000:
            depth += 1
            current = self.images.get(current.parent)
        return depth

    def resolve(self, ref: str) -> tuple[StateImage, bool]:
        """The image a reference or ID names, and whether it was named by ID. LookupError if none."""
        text = ref.strip()
        if is_image_id_like(text):
            exact = self.images.get(f"sha256:{text.removeprefix('sha256:')}")
            if exact is not None:  # a full ID: no prefix scan (plans of thousands of IDs stay linear)
                return exact, True
            matches = [img for img in self.images.values() if id_starts_with(img.id, text)]
            if len(matches) == 1:
                return matches[0], True
            if len(matches) > 1:
                raise LookupError(f"{text} matches several images; give more of the ID.")
            # A 12-hex string is also a valid repository name: fall through as the CLI does.
        try:
            familiar = str(parse_reference(text).familiar())
        except BadReference as exc:
            raise LookupError(exc.message) from exc
        for candidate in (text, familiar):
            for img in self.images.values():
                if candidate in img.tags or candidate in img.digests:
                    return img, False
        raise LookupError(f"No image {text} on this engine (already removed?).")

    def apply(self, item: PlanItem) -> None:
        """What the engine has once `item` is done."""
        img = self.images.get(item.image_id)
        if img is None:
            return
        if item.action == Action.UNTAG:
            img.tags = [t for t in img.tags if t not in item.tags]
            repos = {repository_of(t) for t in item.tags}
            remaining_repos = {repository_of(t) for t in img.tags}
            # The engine drops digest references of a repository left without tags.
            img.digests = [d for d in img.digests if repository_of(d) not in repos - remaining_repos]
            return
        self._delete_with_untagged_parents(img.id)

    def _delete_with_untagged_parents(self, image_id: str) -> None:
        current = self._pop(image_id)
        while current is not None and current.parent:
            parent = self.images.get(current.parent)
            if parent is None or parent.tags or parent.digests or self.has_children(parent.id):
                return
            if self.dependents(parent.id):
                return
            current = self._pop(parent.id)

    def _pop(self, image_id: str) -> StateImage | None:
        img = self.images.pop(image_id, None)
        if img is not None and img.parent:
            self.children[img.parent] -= 1
        return img


def is_single_reference(tags: list[str], digests: list[str]) -> bool:
    """moby's isSingleReference: at least one reference, all in one repository, at most one tag."""
    if len(tags) + len(digests) <= 1:
        return len(tags) + len(digests) == 1
    if len(tags) > 1:
        return False
    return len({repository_of(r) for r in tags + digests}) == 1


def id_removal_reference_conflict(tags: list[str], digests: list[str]) -> str:
    """Why `docker rmi <image ID>` must be forced because of the image's references; "" if it need not.

    moby's ImageDelete by ID removes the references itself only when they are a single
    reference (one repository, at most one tag); any other reference left over is an
    "active reference" conflict that only force overrides. An image with no reference
    at all (dangling) has nothing to conflict with: the engine deletes it plainly.
    """
    if not tags and not digests:
        return ""
    if is_single_reference(tags, digests):
        return ""
    if len({repository_of(r) for r in tags + digests}) > 1:
        return "it is referenced in several repositories (all of those references go)"
    return "it has several tags (all of them go)"
