"""Between the confirmation page and the POST the engine may change: ask again, never remove the unconfirmed."""

from __future__ import annotations

from django.contrib.messages import get_messages

from images_app.models import AuditEvent
from tests.integration.support.removal import REMOVE_URL, confirm_form, image_exists


def test_image_removed_elsewhere_between_page_and_post_gives_a_clear_message(
    admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("gone")
    image_id = images.build(f"{repo}:1", busybox=False)
    page = admin_client.get(REMOVE_URL, {"ref": f"{repo}:1"})
    docker_api.remove_image(image_id)

    response = admin_client.post(REMOVE_URL + f"?ref={repo}:1", confirm_form(page))

    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("already gone" in t for t in texts)
    assert not AuditEvent.objects.filter(action="image_removed").exists()


def test_tag_moved_to_another_image_asks_again_and_removes_nothing(
    admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("moved")
    first = images.build(f"{repo}:1", busybox=False)
    images.tag(first, f"{repo}:keep")  # the first image stays reachable
    page = admin_client.get(REMOVE_URL, {"ref": f"{repo}:1"})
    second = images.build(f"{repo}:1", busybox=False)  # the tag now names another image

    response = admin_client.post(REMOVE_URL + f"?ref={repo}:1", confirm_form(page))

    assert response.status_code == 409
    assert "now points to another image" in response.content.decode()
    assert image_exists(docker_api, first) and image_exists(docker_api, second)
    assert docker_api.inspect_image(f"{repo}:1")["Id"] == second
    # The page asks again with the new plan, carrying the new image ID.
    assert response.context["plan"].actionable[0].image_id == second


def test_container_created_since_the_page_asks_again(
    admin_client, environment, images, unique_name, start_container, docker_api
):
    repo = unique_name("newcontainer")
    image_id = images.build(f"{repo}:1")
    page = admin_client.get(REMOVE_URL, {"ref": image_id})
    assert not page.context["plan"].actionable[0].needs_force
    start_container(image_id, running=False)

    response = admin_client.post(REMOVE_URL + f"?ref={image_id}", {**confirm_form(page), "force": "on"})

    assert response.status_code == 409
    assert "a container was created since" in response.content.decode()
    assert image_exists(docker_api, image_id)


def test_tag_added_since_the_page_asks_again_before_an_id_removal(
    admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("newtag")
    image_id = images.build(f"{repo}:1", busybox=False)
    page = admin_client.get(REMOVE_URL, {"ref": image_id})
    images.tag(image_id, f"{unique_name('other')}:2")

    response = admin_client.post(REMOVE_URL + f"?ref={image_id}", {**confirm_form(page), "force": "on"})

    assert response.status_code == 409
    assert "new tags since" in response.content.decode()
    assert image_exists(docker_api, image_id)
