"""Removal by image ID asks for force exactly when the real engine refuses without it.

Each case builds the references on the real engine, asks the planner, then lets the
engine decide: `docker rmi <ID>` without force must succeed where the plan says no
force, and must be refused (409, must force) then succeed with force where it says so.
The same table runs from literal data in tests/unit/test_removal_force_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable

import docker
import pytest

from images_app.models.cleanup import RemovalKind
from images_app.services import removal
from tests.integration.support.removal import image_exists

SEVERAL_TAGS = "it has several tags (all of them go)"
SEVERAL_REPOSITORIES = "it is referenced in several repositories (all of those references go)"


def _push(docker_api: docker.APIClient, repository: str, tag: str) -> str:
    """Push repository:tag to the loopback registry; returns the digest reference "repository@sha256:..."."""
    for chunk in docker_api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            raise RuntimeError(f"push failed: {chunk['error']}")
    digests = docker_api.inspect_image(f"{repository}:{tag}")["RepoDigests"]
    return next(d for d in digests if d.startswith(f"{repository}@"))


def _digest_only(images, docker_api, registry_host: str, name: str) -> tuple[str, str]:
    """An image known only by a digest reference: pushed, removed, pulled back by digest."""
    repository = f"{registry_host}/{name}"
    image_id = images.build(f"{repository}:v1", busybox=False)
    digest_ref = _push(docker_api, repository, "v1")
    docker_api.remove_image(image_id, force=True)
    docker_api.pull(digest_ref)
    return image_id, digest_ref


def _none(images, docker_api, registry_host, name):
    dangling = images.build(f"{name}:1", busybox=False)
    images.build(f"{name}:1", busybox=False)  # the tag moves away: the first image is left dangling
    return dangling


def _one_tag(images, docker_api, registry_host, name):
    return images.build(f"{name}:1", busybox=False)


def _tag_and_digest_of_one_repository(images, docker_api, registry_host, name):
    repository = f"{registry_host}/{name}"
    image_id = images.build(f"{repository}:v1", busybox=False)
    _push(docker_api, repository, "v1")
    return image_id


def _several_tags_of_one_repository(images, docker_api, registry_host, name):
    image_id = images.build(f"{name}:1", busybox=False)
    images.tag(image_id, f"{name}:2")
    return image_id


def _tags_of_several_repositories(images, docker_api, registry_host, name):
    image_id = images.build(f"{name}:1", busybox=False)
    images.tag(image_id, f"{name}-other:1")
    return image_id


def _digest_only_case(images, docker_api, registry_host, name):
    image_id, _ = _digest_only(images, docker_api, registry_host, name)
    return image_id


def _digest_and_tag_of_different_repositories(images, docker_api, registry_host, name):
    image_id, _ = _digest_only(images, docker_api, registry_host, name)
    images.tag(image_id, f"{name}-other:1")
    return image_id


CASES: list[tuple[str, Callable[..., str], str]] = [
    ("none", _none, ""),
    ("one tag", _one_tag, ""),
    ("a tag and a digest of one repository", _tag_and_digest_of_one_repository, ""),
    ("several tags of one repository", _several_tags_of_one_repository, SEVERAL_TAGS),
    ("tags of several repositories", _tags_of_several_repositories, SEVERAL_REPOSITORIES),
    ("digests only", _digest_only_case, ""),
    ("a digest and a tag of different repositories", _digest_and_tag_of_different_repositories, SEVERAL_REPOSITORIES),
]


@pytest.mark.parametrize(("case", "make", "reason"), CASES, ids=[c[0] for c in CASES])
def test_plan_asks_force_by_id_exactly_when_the_engine_needs_it(
    case, make, reason, environment, images, unique_name, docker_api, registry_host
):
    image_id = make(images, docker_api, registry_host, unique_name("force"))

    [item] = removal.removal_plan(environment=environment, refs=[image_id], sizes=False).items

    assert item.force_reasons == ((reason,) if reason else ())
    if reason:
        with pytest.raises(docker.errors.APIError) as refused:
            docker_api.remove_image(image_id, force=False)
        assert refused.value.status_code == 409 and "must be forced" in str(refused.value)
        docker_api.remove_image(image_id, force=True)
    else:
        docker_api.remove_image(image_id, force=False)
    assert not image_exists(docker_api, image_id)


def test_prune_preview_removes_a_dangling_image_without_force(
    environment, images, unique_name, docker_api, admin_client
):
    name = unique_name("prune")
    dangling = _none(images, docker_api, "", name)

    plan = removal.cleanup_plan(environment=environment, kind=RemovalKind.PRUNE_DANGLING, sizes=False)
    item = next(i for i in plan.items if i.image_id == dangling)

    assert item.force_reasons == ()
    docker_api.remove_image(dangling, force=False)  # the engine agrees: no force needed


@pytest.mark.parametrize("path", ["prune", "remove-unused", "remove-all"])
def test_cleanup_previews_do_not_explain_a_force_for_untagged_images(
    path, environment, images, unique_name, docker_api, admin_client
):
    dangling = _none(images, docker_api, "", unique_name("preview"))

    page = admin_client.get(f"/env/local/images/{path}/")
    item = next(i for i in page.context["plan"].items if i.image_id == dangling)

    assert page.status_code == 200
    assert item.force_reasons == ()
    assert SEVERAL_TAGS not in page.content.decode()
