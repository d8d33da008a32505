"""Helpers for removal and request tests: the engine's own view of images, and driving the confirm form."""

from __future__ import annotations

import re
from html import unescape

import docker

REMOVE_URL = "/env/local/images/remove/"


def engine_tags(docker_api: docker.APIClient) -> set[str]:
    """Every tag the engine has (the oracle)."""
    return {t for image in docker_api.images() for t in image.get("RepoTags") or [] if t != "<none>:<none>"}


def engine_ids(docker_api: docker.APIClient) -> set[str]:
    """Every top-level image ID the engine lists."""
    return {image["Id"] for image in docker_api.images()}


def image_exists(docker_api: docker.APIClient, image_id: str) -> bool:
    try:
        docker_api.inspect_image(image_id)
    except docker.errors.NotFound:
        return False
    return True


def confirm_form(response) -> dict:
    """The hidden fields of the confirmation form, as the browser would post them back."""
    html = response.content.decode()
    snapshot = re.search(r'name="snapshot" value="([^"]*)"', html)
    assert snapshot, "the page offers no removal form"
    refs = [unescape(r) for r in re.findall(r'name="ref" value="([^"]*)"', html)]
    return {"snapshot": unescape(snapshot.group(1)), "ref": refs}


def confirm_and_post(client, url: str, refs: list[str] | None = None, **extra):
    """GET the confirmation page, then POST its form back with `extra` fields."""
    page = client.get(url, {"ref": refs} if refs else None)
    assert page.status_code == 200, page.content.decode()[:2000]
    data = {**confirm_form(page), **extra}
    return client.post(page.request["PATH_INFO"] + ("?" + page.request["QUERY_STRING"] if refs else ""), data)
