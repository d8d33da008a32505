"""Helpers for the inventory tests: the engine's own answer, read the way `docker image ls` shows it."""

from __future__ import annotations

import uuid

import docker

from images_app.references import split_repo_tag

LABEL = "berth.test.inventory"


def new_run_label() -> tuple[str, str]:
    """A label unique to one test, so concurrent images from other tests never enter a comparison."""
    value = uuid.uuid4().hex[:12]
    return value, f"{LABEL}={value}"


def cli_rows(api: docker.APIClient, filters: dict | None = None) -> set[tuple[str, str, str, int, int]]:
    """(repository, tag, full id, size, created) for every row `docker image ls` would print."""
    rows = set()
    for image in api.images(filters=filters):
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        names = [split_repo_tag(t) for t in tags] or [("<none>", "<none>")]
        for repository, tag in names:
            rows.add((repository, tag, image["Id"], image["Size"], image["Created"]))
    return rows


def page_rows(rows: list) -> set[tuple[str, str, str, int, int]]:
    return {(r.repository, r.tag, r.image.id, r.image.size, int(r.image.created.timestamp())) for r in rows}
