"""The image page: inspect facts, layers as `docker history`, containers using it, unique vs shared bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import override_settings
from django.urls import reverse

from images_app import engine
from images_app.engine import ContainerInfo
from images_app.selectors.images import ContainerUse


def _url(image_id: str) -> str:
    return reverse("image_detail", kwargs={"env": "local", "image_id": image_id})


@pytest.fixture
def rich_image(images, unique_name):
    repo = unique_name("detail")
    image_id = images.build(
        f"{repo}:1",
        layers=[30_000, 5_000],
        labels={"org.example.team": "platform"},
        extra_dockerfile="EXPOSE 8080/tcp\nWORKDIR /srv\nUSER 1000\nENV MODE=prod",
    )
    images.tag(image_id, f"{repo}:latest")
    return repo, image_id


def test_page_shows_what_inspect_says(viewer_client, rich_image, docker_api):
    repo, image_id = rich_image
    response = viewer_client.get(_url(image_id[7:19]))
    assert response.status_code == 200
    inspect = docker_api.inspect_image(image_id)
    detail = response.context["view"].detail
    assert detail.id == inspect["Id"]
    assert set(detail.repo_tags) == set(inspect["RepoTags"]) == {f"{repo}:1", f"{repo}:latest"}
    assert detail.size == inspect["Size"]
    assert (detail.os, detail.architecture) == (inspect["Os"], inspect["Architecture"])
    assert list(detail.cmd) == inspect["Config"]["Cmd"]
    assert list(detail.env) == inspect["Config"]["Env"]
    html = response.content.decode()
    for text in (image_id, "8080/tcp", "/srv", "1000", "MODE=prod", "org.example.team", "platform", f"{repo}:latest"):
        assert text in html
    assert f"({inspect['Size']} bytes)" in html


def test_layers_equal_docker_history_newest_first_with_empty_layers_marked(viewer_client, rich_image, docker_api):
    _, image_id = rich_image
    response = viewer_client.get(_url(image_id))
    history = docker_api.history(image_id)
    page = response.context["view"].history
    assert [(e.id, e.size, e.created_by) for e in page] == [(h["Id"], h["Size"], h["CreatedBy"]) for h in history]
    empties = sum(1 for h in history if h["Size"] == 0)
    assert empties >= 4  # LABEL, CMD, EXPOSE, WORKDIR, USER, ENV add no bytes
    assert response.content.decode().count("empty layer</span>") == empties


def test_unique_and_shared_sizes_equal_system_df(viewer_client, images, unique_name, docker_api):
    repo = unique_name("disk")
    # Both carry the same busybox layer (same bytes, same metadata): shared; the random layer is unique.
    first = images.build(f"{repo}:a", layers=[20_000])
    images.build(f"{repo}:b", layers=[9_000])
    response = viewer_client.get(_url(first))
    df = {i["Id"]: i for i in docker_api.df()["Images"]}[first]
    disk = response.context["view"].disk
    assert disk.shared_size == df["SharedSize"] > 0
    assert disk.unique_size == df["Size"] - df["SharedSize"] > 0
    html = response.content.decode()
    assert f'title="{disk.unique_size} bytes"' in html and f'title="{disk.shared_size} bytes"' in html


def test_containers_using_it_show_state_and_the_tag_they_came_from(
    viewer_client, images, unique_name, start_container, docker_api
):
    repo = unique_name("ctr")
    image_id = images.build(f"{repo}:1")
    images.tag(image_id, f"{repo}:2")
    running = start_container(f"{repo}:2", running=True, name=unique_name("web"))
    stopped = start_container(image_id, name=unique_name("job"))
    other = images.build(f"{repo}:other", busybox=True, layers=[10])
    start_container(other)  # a container of another image must not be listed
    view = viewer_client.get(_url(image_id)).context["view"]
    by_id = {use.container.id: use for use in view.containers}
    assert set(by_id) == {running, stopped}
    assert by_id[running].container.state == docker_api.inspect_container(running)["State"]["Status"] == "running"
    assert by_id[stopped].container.state == "created"
    assert by_id[running].created_from == f"{repo}:2" and not by_id[running].by_id
    assert by_id[stopped].by_id
    assert (view.running_containers, view.stopped_containers) == (1, 1)


def test_unknown_id_is_a_404_page(viewer_client, environment):
    response = viewer_client.get(_url("0123456789ab"))
    assert response.status_code == 404
    assert "Image not found" in response.content.decode()


@pytest.mark.parametrize("bad", ["not-an-id", "0123456789ag", "abc", "sha256:xyz"])
def test_anything_but_an_id_is_a_404_without_asking_the_engine(viewer_client, environment, bad):
    before = engine.api_request_count()
    # Built by hand: reverse() itself refuses what is not an image ID.
    assert viewer_client.get(f"/env/local/images/{bad}/").status_code == 404
    assert engine.api_request_count() == before


def test_repository_named_like_a_short_id_does_not_pass_for_the_id(viewer_client, images):
    lookalike = "abcdef012345"
    image_id = images.build(f"{lookalike}:latest", busybox=False)
    if image_id[7:].startswith(lookalike):  # astronomically unlikely, but then the test proves nothing
        pytest.skip("the image ID really starts with the name")
    assert viewer_client.get(_url(lookalike)).status_code == 404


def test_dangling_image_page_says_so(viewer_client, images):
    image_id = images.build(None, busybox=False)
    response = viewer_client.get(_url(image_id))
    assert response.status_code == 200
    assert response.context["view"].status == "dangling"
    assert "none (dangling)" in response.content.decode()


@override_settings(ROOT_URLCONF="tests.integration.support.inventory_urls")
def test_page_links_to_removal_and_pull_again(operator_client, rich_image):
    # Offered to roles that may pull and remove (viewers see neither: tests/integration/test_team_pages.py).
    repo, image_id = rich_image
    html = operator_client.get(_url(image_id)).content.decode()
    remove_url = reverse("image_remove_confirm", kwargs={"env": "local"})
    assert f'href="{remove_url}?ref=sha256%3A{image_id[7:]}"' in html
    assert f"?reference={repo}%3A1" in html


def _use(created_from: str) -> ContainerUse:
    container = ContainerInfo(
        id="c" * 64,
        name="job",
        image=created_from,
        image_id="sha256:" + "a" * 64,
        state="exited",
        status="Exited (0)",
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return ContainerUse(container, created_from)


def test_created_by_id_is_recognised_for_short_and_full_ids():
    assert _use("sha256:" + "a" * 64).by_id
    assert _use("aaaaaaaaaaaa").by_id
    assert not _use("app:1").by_id


def test_image_page_costs_four_engine_calls_whatever_the_containers(
    viewer_client, images, unique_name, start_container
):
    image_id = images.build(unique_name("calls") + ":1")
    viewer_client.get(_url(image_id))  # warm: version negotiation happens once per process
    before = engine.api_request_count()
    viewer_client.get(_url(image_id))
    few = engine.api_request_count() - before
    for _ in range(3):
        start_container(image_id)
    before = engine.api_request_count()
    viewer_client.get(_url(image_id))
    assert few == engine.api_request_count() - before == 4  # inspect, history, containers, df
