"""Removing one image or tag: the confirmation page says what will happen, the POST does exactly that."""

from __future__ import annotations

from django.contrib.messages import get_messages

from images_app.models import AuditEvent
from tests.integration.support.removal import REMOVE_URL, confirm_and_post, confirm_form, engine_tags, image_exists


def test_confirm_page_says_removing_one_of_two_tags_only_untags(admin_client, environment, images, unique_name):
    repo = unique_name("untag")
    image_id = images.build(f"{repo}:a", busybox=False)
    images.tag(image_id, f"{repo}:b")

    page = admin_client.get(REMOVE_URL, {"ref": f"{repo}:a"})

    assert page.status_code == 200
    item = page.context["plan"].actionable[0]
    assert (item.action, item.image_id, item.tags, item.remaining_tags) == (
        "untag",
        image_id,
        (f"{repo}:a",),
        (f"{repo}:b",),
    )
    assert "Untag only" in page.content.decode()


def test_removing_one_of_two_tags_untags_and_keeps_the_image(
    admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("untag")
    image_id = images.build(f"{repo}:a", busybox=False)
    images.tag(image_id, f"{repo}:b")

    response = confirm_and_post(admin_client, REMOVE_URL, [f"{repo}:a"])

    assert response.status_code == 302 and response["Location"] == "/env/local/images/"
    assert f"{repo}:a" not in engine_tags(docker_api)
    assert f"{repo}:b" in engine_tags(docker_api)
    assert image_exists(docker_api, image_id)
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(f"Untagged: {repo}:a" in t for t in texts)
    event = AuditEvent.objects.get(action="image_untagged")
    assert event.outcome == "success" and event.target_image_id == image_id
    assert event.parameters["force"] is False and event.parameters["tags"] == [f"{repo}:a"]


def test_removing_the_last_tag_deletes_the_image(admin_client, environment, images, unique_name, docker_api):
    repo = unique_name("last")
    image_id = images.build(f"{repo}:only", layers=[4096])

    page = admin_client.get(REMOVE_URL, {"ref": f"{repo}:only"})
    item = page.context["plan"].actionable[0]
    assert item.action == "delete" and item.unique_size > 4096 and item.layers
    response = admin_client.post(REMOVE_URL + f"?ref={repo}:only", confirm_form(page))

    assert response.status_code == 302
    assert not image_exists(docker_api, image_id)
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(f"Deleted: {image_id}" in t for t in texts)
    assert AuditEvent.objects.get(action="image_removed").target_image_id == image_id


def test_removal_by_id_with_several_tags_needs_force_and_lists_every_tag(
    admin_client, environment, images, unique_name, docker_api
):
    repo, other = unique_name("multi"), unique_name("elsewhere")
    image_id = images.build(f"{repo}:1", busybox=False)
    images.tag(image_id, f"{other}:2")

    page = admin_client.get(REMOVE_URL, {"ref": image_id})
    item = page.context["plan"].actionable[0]
    assert item.needs_force and set(item.tags) == {f"{repo}:1", f"{other}:2"}
    assert 'name="force"' in page.content.decode()

    refused = admin_client.post(REMOVE_URL + f"?ref={image_id}", confirm_form(page))
    assert refused.status_code == 400 and "needs force" in refused.content.decode()
    assert image_exists(docker_api, image_id)

    done = admin_client.post(REMOVE_URL + f"?ref={image_id}", {**confirm_form(page), "force": "on"})
    assert done.status_code == 302
    assert not image_exists(docker_api, image_id)
    assert {f"{repo}:1", f"{other}:2"}.isdisjoint(engine_tags(docker_api))
    event = AuditEvent.objects.get(action="image_removed")
    assert event.parameters["force"] is True and set(event.parameters["tags"]) == {f"{repo}:1", f"{other}:2"}


def test_stopped_container_needs_explicit_force_off_by_default(
    admin_client, environment, images, unique_name, start_container, docker_api
):
    repo = unique_name("stopped")
    image_id = images.build(f"{repo}:1")
    container_id = start_container(f"{repo}:1", running=False)

    page = admin_client.get(REMOVE_URL, {"ref": f"{repo}:1"})

    html = page.content.decode()
    item = page.context["plan"].actionable[0]
    assert item.needs_force and [c.id for c in item.containers] == [container_id]
    assert container_id[:12] in html and "lose their image reference" in html
    assert 'name="force" id="id_force">' in html  # unchecked
    refused = admin_client.post(REMOVE_URL + f"?ref={repo}:1", confirm_form(page))
    assert refused.status_code == 400
    assert image_exists(docker_api, image_id)

    forced = admin_client.post(REMOVE_URL + f"?ref={repo}:1", {**confirm_form(page), "force": "on"})

    assert forced.status_code == 302
    assert not image_exists(docker_api, image_id)
    assert docker_api.inspect_container(container_id)["Id"] == container_id  # the container remains


def test_running_container_cannot_be_forced_and_no_action_is_offered(
    admin_client, environment, images, unique_name, start_container, docker_api
):
    repo = unique_name("running")
    image_id = images.build(f"{repo}:1")
    start_container(f"{repo}:1", running=True)

    for ref in (image_id, f"{repo}:1"):
        page = admin_client.get(REMOVE_URL, {"ref": ref})
        html = page.content.decode()
        assert page.status_code == 200
        assert page.context["plan"].blocked and not page.context["plan"].actionable
        assert "Stop and remove the container first" in html
        assert 'name="force"' not in html and 'id="removal-form"' not in html
    assert image_exists(docker_api, image_id)


def test_post_with_a_forged_snapshot_changes_nothing(admin_client, environment, images, unique_name, docker_api):
    repo = unique_name("forged")
    image_id = images.build(f"{repo}:1", busybox=False)

    response = admin_client.post(REMOVE_URL + f"?ref={repo}:1", {"snapshot": "not json"})

    assert response.status_code == 400
    assert image_exists(docker_api, image_id)


def test_get_never_removes(admin_client, environment, images, unique_name, docker_api):
    repo = unique_name("get")
    image_id = images.build(f"{repo}:1", busybox=False)

    admin_client.get(REMOVE_URL, {"ref": f"{repo}:1", "force": "on"})

    assert image_exists(docker_api, image_id)


def test_unknown_reference_is_reported_not_removed(admin_client, environment):
    page = admin_client.get(REMOVE_URL, {"ref": "no-such-image-here:1"})

    assert page.status_code == 200
    assert page.context["plan"].missing and 'id="removal-form"' not in page.content.decode()


def test_no_reference_is_a_400(admin_client, environment):
    assert admin_client.get(REMOVE_URL).status_code == 400


def test_the_same_image_named_twice_is_planned_once(admin_client, environment, images, unique_name):
    repo = unique_name("twice")
    image_id = images.build(f"{repo}:latest", busybox=False)

    page = admin_client.get(REMOVE_URL, {"ref": [repo, f"{repo}:latest", image_id, image_id[7:19]]})

    assert [(i.reference, i.action) for i in page.context["plan"].items] == [(image_id, "delete")]


def _build_child(images, base_tag: str, tag: str) -> str:
    """An image built FROM a local one: its parent chain leads to the base."""
    import io
    import tarfile

    dockerfile = f"FROM {base_tag}\nLABEL berth.test=1 child={tag}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    buffer.seek(0)
    for _ in images.api.build(fileobj=buffer, custom_context=True, tag=tag, rm=True, decode=True):
        pass
    image_id = images.api.inspect_image(tag)["Id"]
    images.created.append(image_id)
    return image_id


def test_an_image_others_are_built_on_cannot_be_removed_alone(admin_client, environment, images, unique_name):
    repo = unique_name("base")
    base = images.build(f"{repo}:base", busybox=False)
    _build_child(images, f"{repo}:base", f"{repo}:child")

    page = admin_client.get(REMOVE_URL, {"ref": base})

    assert page.context["plan"].blocked and "built on this image" in page.content.decode()
    assert 'id="removal-form"' not in page.content.decode()


def test_removing_an_image_and_its_parent_removes_the_child_first(
    admin_client, environment, images, unique_name, docker_api
):
    repo = unique_name("family")
    base = images.build(f"{repo}:base", busybox=False)
    child = _build_child(images, f"{repo}:base", f"{repo}:child")

    response = confirm_and_post(admin_client, REMOVE_URL, [f"{repo}:base", f"{repo}:child"])

    assert response.status_code == 302
    assert not image_exists(docker_api, child) and not image_exists(docker_api, base)
