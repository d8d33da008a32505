"""Update checks against the real loopback registries: what the registry serves now vs the local RepoDigests."""

from __future__ import annotations

import os
import secrets

import pytest
from django.urls import reverse

from images_app.models import AuditEvent, Environment, PullJob, UpdateCheck, UpdateRun
from images_app.selectors.updates import verdicts_for_image
from images_app.services.registries import registry_create
from images_app.services.updates import updates_check_run
from images_app.update_state import UnknownReason, UpdateState
from tests.integration.support.pulls import SlowRegistry, wait_for_job
from tooling.registry_api import RegistryWriter


def _push(docker_api, repository: str, tag: str, auth_config=None) -> None:
    for event in docker_api.push(repository, tag, stream=True, decode=True, auth_config=auth_config):
        assert "error" not in event, event


def _repo_digest(docker_api, image_id: str, repository: str) -> str:
    for entry in docker_api.inspect_image(image_id)["RepoDigests"]:
        name, _, digest = entry.partition("@")
        if name == repository:
            return digest
    raise AssertionError(f"no digest for {repository} on {image_id}")


def _state(docker_api, reference: str):
    info = docker_api.inspect_image(reference)
    return dict(verdicts_for_image(info["RepoTags"], info["RepoDigests"]))[reference]


@pytest.fixture
def outdated(docker_api, images, registry_host, unique_name, environment):
    """A local tag whose registry now serves another image: (reference, old image ID, new digest)."""
    repository = f"{registry_host}/{unique_name('upd')}"
    old = images.build(f"{repository}:1.0", busybox=False, layers=[64])
    _push(docker_api, repository, "1.0")
    new = images.build(f"{repository}:1.0", busybox=False, layers=[64])
    _push(docker_api, repository, "1.0")
    new_digest = _repo_digest(docker_api, new, repository)
    images.tag(old, f"{repository}:1.0")  # the host keeps running the old image under the tag
    docker_api.remove_image(new, force=True)
    return f"{repository}:1.0", old, new_digest


def test_a_new_image_pushed_under_the_tag_is_an_update_with_its_digest(docker_api, outdated, environment):
    reference, old, new_digest = outdated
    summary = updates_check_run(environments=[environment])

    verdict = _state(docker_api, reference)
    assert verdict.state == UpdateState.UPDATE_AVAILABLE
    assert verdict.remote_digest == new_digest != _repo_digest(docker_api, old, reference.rpartition(":")[0])
    assert verdict.remote_created is not None  # read from the new image's config, once
    assert reference in [tag.repo_tag for tag, _ in summary.outdated["local"]]


def test_the_list_filters_outdated_tags_and_the_pages_show_the_new_digest(
    docker_api, outdated, environment, viewer_client, images, registry_host, unique_name
):
    reference, old, new_digest = outdated
    current = f"{registry_host}/{unique_name('cur')}"
    images.build(f"{current}:1", busybox=False, layers=[32])
    _push(docker_api, current, "1")
    updates_check_run(environments=[environment])

    listing = viewer_client.get(reverse("image_list", kwargs={"env": "local"}), {"status": "outdated"})
    html = listing.content.decode()
    assert listing.status_code == 200
    assert f'data-reference="{reference}"' in html and "update available" in html
    assert f'data-reference="{current}:1"' not in html

    everything = viewer_client.get(reverse("image_list", kwargs={"env": "local"})).content.decode()
    assert "up to date" in everything

    page = viewer_client.get(reverse("image_detail", kwargs={"env": "local", "image_id": old[7:19]})).content.decode()
    assert new_digest in page and "update available" in page

    dashboard = viewer_client.get(reverse("env_home", kwargs={"env": "local"})).content.decode()
    assert 'id="updates-available"' in dashboard
    assert '<div class="value">1</div><div class="label">update available' in dashboard


def test_one_check_per_tag_is_shared_by_every_environment_and_audited_once(docker_api, outdated, environment):
    # A second environment on the same engine holds exactly the same tags.
    twin = Environment.objects.create(name="twin", docker_host=environment.docker_host)
    summary = updates_check_run(environments=[environment, twin])

    assert summary.local_tags == 2 * summary.asked and summary.asked >= 1
    reference = outdated[0]
    registry, _, rest = reference.partition("/")
    assert UpdateCheck.objects.filter(registry=registry, repository=rest.rpartition(":")[0]).count() == 1
    assert len(summary.outdated["local"]) == len(summary.outdated["twin"]) >= 1
    event = AuditEvent.objects.get(action="updates_checked")
    assert event.parameters["environments"] == ["local", "twin"] and event.parameters["asked"] == summary.asked

    again = updates_check_run(environments=[twin])  # minutes later: the fresh answers are reused
    assert again.asked == 0 and again.reused == summary.asked


def test_a_locally_built_image_is_unknown_and_never_asked_about(docker_api, images, registry_host, environment):
    reference = f"{registry_host}/never-pushed-{secrets.token_hex(3)}:1"
    images.build(reference, busybox=False, layers=[16])
    summary = updates_check_run(environments=[environment])

    verdict = _state(docker_api, reference)
    assert (verdict.state, verdict.reason) == (UpdateState.UNKNOWN, UnknownReason.BUILT_LOCALLY)
    assert not UpdateCheck.objects.filter(repository=reference.split("/", 1)[1].rpartition(":")[0]).exists()
    assert summary.unknown.get(UnknownReason.BUILT_LOCALLY, 0) == 0  # not a local tag with a digest at all


def test_a_multi_architecture_index_is_compared_at_the_index_level(docker_api, registry_host, environment, images):
    name = f"multi-{secrets.token_hex(3)}"
    writer = RegistryWriter(registry_host)
    arch = docker_api.version()["Arch"]
    other = "s390x" if arch != "s390x" else "arm64"
    mine = writer.image(name, architecture=arch, content=b"native " + secrets.token_bytes(8))
    theirs = writer.image(name, architecture=other, content=b"other " + secrets.token_bytes(8))
    index = writer.index(name, "1", {arch: mine, other: theirs})
    reference = f"{registry_host}/{name}:1"
    docker_api.pull(f"{registry_host}/{name}", tag="1")
    images.created.append(docker_api.inspect_image(reference)["Id"])
    assert _repo_digest(docker_api, reference, f"{registry_host}/{name}") == index  # what `docker pull` recorded

    updates_check_run(environments=[environment])
    verdict = _state(docker_api, reference)
    assert verdict.state == UpdateState.UP_TO_DATE and verdict.remote_digest == index != mine[0]

    # Only the other platform's image changed: same local image, but the index (the tag) moved on.
    newer = writer.image(name, architecture=other, content=b"other, rebuilt " + secrets.token_bytes(8))
    new_index = writer.index(name, "1", {arch: mine, other: newer})
    updates_check_run(environments=[environment], force=True)
    verdict = _state(docker_api, reference)
    assert verdict.state == UpdateState.UPDATE_AVAILABLE and verdict.remote_digest == new_index


@pytest.fixture
def auth_pushed(docker_api, images, admin_user):
    host = os.environ["BERTH_TEST_AUTH_REGISTRY"]
    credentials = {
        "username": os.environ["BERTH_TEST_AUTH_REGISTRY_USER"],
        "password": os.environ["BERTH_TEST_AUTH_REGISTRY_PASSWORD"],
    }
    repository = f"{host}/private-{secrets.token_hex(3)}"
    images.build(f"{repository}:1", busybox=False, layers=[32])
    _push(docker_api, repository, "1", auth_config=credentials)
    return host, credentials, f"{repository}:1"


def test_the_password_protected_registry_is_asked_with_its_stored_credentials(
    docker_api, auth_pushed, admin_user, environment
):
    host, credentials, reference = auth_pushed
    updates_check_run(environments=[environment])
    assert _state(docker_api, reference).reason == UnknownReason.CREDENTIALS_REFUSED

    registry_create(actor=admin_user, name="private", url=host, **credentials)
    updates_check_run(environments=[environment])
    assert _state(docker_api, reference).state == UpdateState.UP_TO_DATE


def test_a_stopped_registry_makes_its_tags_unknown_and_the_pages_still_answer(
    docker_api, images, registry_host, unique_name, environment, viewer_client
):
    proxy = SlowRegistry(registry_host, bytes_per_second=50_000_000)
    try:
        name = unique_name("gone")
        images.build(f"{registry_host}/{name}:1", busybox=False, layers=[32])
        _push(docker_api, f"{registry_host}/{name}", "1")
        docker_api.pull(f"{proxy.host}/{name}", tag="1")  # recorded under the proxy's name
        reference = f"{proxy.host}/{name}:1"
        images.created.append(docker_api.inspect_image(reference)["Id"])
        updates_check_run(environments=[environment])
        assert _state(docker_api, reference).state == UpdateState.UP_TO_DATE

        proxy.stop()
        updates_check_run(environments=[environment], force=True)
        verdict = _state(docker_api, reference)
        assert (verdict.state, verdict.reason) == (UpdateState.UNKNOWN, UnknownReason.UNREACHABLE)
        assert verdict.label == "unknown (registry unreachable)"
        image_id = docker_api.inspect_image(reference)["Id"]
        for url in (
            reverse("image_list", kwargs={"env": "local"}),
            reverse("image_list", kwargs={"env": "local"}) + "?status=outdated",
            reverse("image_detail", kwargs={"env": "local", "image_id": image_id[7:19]}),
            reverse("env_home", kwargs={"env": "local"}),
        ):
            assert viewer_client.get(url).status_code == 200, url
        assert (
            "unknown (registry unreachable)"
            in viewer_client.get(reverse("image_list", kwargs={"env": "local"})).content.decode()
        )
    finally:
        proxy.stop()


def test_pull_all_updates_lists_them_and_starts_ordinary_pulls(outdated, environment, operator_client):
    reference = outdated[0]
    updates_check_run(environments=[environment])
    url = reverse("updates_pull_all", kwargs={"env": "local"})
    page = operator_client.get(url).content.decode()
    assert reference in page and "Pull 1 update" in page

    response = operator_client.post(url, {"ref": [reference, "localhost:1/not-outdated:1"]})
    assert response.status_code == 302
    jobs = PullJob.objects.filter(environment=environment)
    assert [job.reference for job in jobs] == [reference]  # only what is outdated now


def test_viewers_can_neither_check_now_nor_pull_all(viewer_client):
    assert viewer_client.post(reverse("updates_check_now", kwargs={"env": "local"})).status_code == 403
    assert viewer_client.get(reverse("updates_pull_all", kwargs={"env": "local"})).status_code == 403


def test_check_now_runs_in_the_worker_and_pull_update_then_shows_up_to_date(
    transactional_db, docker_api, outdated, environment, operator, operator_client, celery_worker_process
):
    from django.utils import timezone

    reference, old, new_digest = outdated
    asked = timezone.now()
    response = operator_client.post(reverse("updates_check_now", kwargs={"env": "local"}))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="updates_check_requested", outcome="success").count() == 1
    wait_until_checked(environment, since=asked)
    verdict = _state(docker_api, reference)
    assert verdict.state == UpdateState.UPDATE_AVAILABLE, verdict

    response = operator_client.post(reverse("pull_create", kwargs={"env": "local"}), {"reference": reference})
    job = PullJob.objects.get(reference=reference)
    wait_for_job(job.pk, (PullJob.Status.SUCCEEDED, PullJob.Status.FAILED), timeout=60)
    job.refresh_from_db()
    assert job.status == PullJob.Status.SUCCEEDED, job.error_message
    verdict = _state(docker_api, reference)
    assert verdict.state == UpdateState.UP_TO_DATE and verdict.remote_digest == new_digest
    docker_api.remove_image(job.image_id, force=True)


def wait_until_checked(environment, *, since, timeout: float = 30) -> None:
    """Until a check that started after `since` has finished.

    Any finished run would not do: a check queued by an earlier test for an environment of the
    same primary key (the tables are emptied between tests, and SQLite reuses the key) could
    finish first, while the one asked for still waits in the queue.
    """
    from tests.integration.support.pulls import wait_until

    def finished() -> bool:
        run = UpdateRun.objects.filter(environment=environment).first()
        return run is not None and run.started_at is not None and run.started_at >= since and not run.running

    wait_until(finished, timeout, "the update check to finish")


def test_the_beat_tick_checks_an_environment_only_when_its_interval_has_passed(environment, settings):
    from datetime import timedelta

    from django.utils import timezone

    from config.celery import beat_schedule
    from images_app.tasks.updates import updates_check_due

    entry = beat_schedule()["images_app.updates_check_due"]
    assert entry["task"] == "images_app.updates_check_due" and entry["schedule"] == 60.0
    settings.BERTH_UPDATE_CHECK_INTERVALS = "local=30"

    updates_check_due()  # never checked: due
    first = UpdateRun.objects.get(environment=environment).started_at
    updates_check_due()  # checked just now: not due
    assert UpdateRun.objects.get(environment=environment).started_at == first

    UpdateRun.objects.filter(environment=environment).update(
        started_at=timezone.now() - timedelta(minutes=31), finished_at=timezone.now() - timedelta(minutes=30)
    )
    updates_check_due()
    assert UpdateRun.objects.get(environment=environment).started_at > first
    assert AuditEvent.objects.filter(action="updates_checked").count() == 2


def test_an_image_pulled_by_digest_is_unknown_pulled_by_digest(
    docker_api, images, registry_host, unique_name, environment, viewer_client
):
    repository = f"{registry_host}/{unique_name('bydigest')}"
    image_id = images.build(f"{repository}:1", busybox=False, layers=[16])
    _push(docker_api, repository, "1")
    digest = _repo_digest(docker_api, image_id, repository)
    docker_api.remove_image(image_id, force=True)  # then pulled back by digest only: no tag
    docker_api.pull(repository, tag=digest)
    info = docker_api.inspect_image(f"{repository}@{digest}")
    images.created.append(info["Id"])
    assert info["RepoTags"] == []

    page = viewer_client.get(reverse("image_detail", kwargs={"env": "local", "image_id": info["Id"][7:19]}))
    assert page.status_code == 200 and "unknown (pulled by digest)" in page.content.decode()
