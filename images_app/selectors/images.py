"""What the image pages show, assembled from a constant number of engine calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from images_app import engine
from images_app.engine import ContainerInfo, ImageInfo
from images_app.models import Environment


def split_repo_tag(repo_tag: str) -> tuple[str, str]:
    """("localhost:5000/app", "v1") from "localhost:5000/app:v1"; the port colon is not a tag."""
    repository, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, "<none>"
    return repository, tag


@dataclass(frozen=True)
class ImageRow:
    """One line of `docker image ls`: an image under one of its tags (or `<none>`)."""

    image: ImageInfo
    repository: str
    tag: str
    running_containers: int
    stopped_containers: int

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}" if self.tag != "<none>" else self.image.id

    @property
    def containers(self) -> int:
        return self.running_containers + self.stopped_containers

    @property
    def in_use(self) -> bool:
        return self.containers > 0

    @property
    def tag_count(self) -> int:
        return len(self.image.repo_tags)


def image_rows(images: list[ImageInfo], containers: list[ContainerInfo]) -> list[ImageRow]:
    running = Counter(c.image_id for c in containers if c.running)
    stopped = Counter(c.image_id for c in containers if not c.running)
    rows = []
    for image in images:
        # Like the CLI: an untagged image that still has a digest shows its repository.
        names = (
            [split_repo_tag(t) for t in image.repo_tags]
            or [(d.partition("@")[0], "<none>") for d in image.repo_digests[:1]]
            or [("<none>", "<none>")]
        )
        for repository, tag in names:
            rows.append(ImageRow(image, repository, tag, running[image.id], stopped[image.id]))
    return rows


def images_for_list(environment: Environment) -> list[ImageRow]:
    """Rows for the images page: one images call and one containers call, whatever the count."""
    images = engine.list_images(environment)
    containers = engine.list_containers(environment)
    rows = image_rows(images, containers)
    rows.sort(key=lambda r: r.image.created, reverse=True)
    return rows
