"""The event-kept inventory on the real engine: pages follow the CLI within a second, without engine calls.

The watcher (`manage.py berth_watcher`) follows the engine's events and keeps the
inventory in the test database; changes are made with the docker SDK, as the CLI would.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import docker
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from images_app import engine, kept_pages
from images_app.models import Environment, Inventory, WatchState
from images_app.selectors.images import image_listing
from images_app.selectors.inventory import inventory_current
from images_app.services import removal
from tests.integration.conftest import ManagedProcess, _child_env
from tests.integration.support.removal import engine_tags
from tests.integration.support.watcher import start_watcher
from tooling.scratch_images import build_scratch_image

LIST_URL = "/env/local/images/"


def start_keeper(process_dir, extra_env: dict[str, str] | None = None) -> ManagedProcess:
    proc = start_watcher(process_dir, _child_env(extra_env), environment="local")
    proc.wait_until(_fresh, 60, "the watcher's inventory")
    return proc


def _fresh() -> bool:
    row = Inventory.objects.filter(environment__name="local").first()
    return bool(row and row.heartbeat_at and timezone.now() - row.heartbeat_at < timedelta(seconds=3))


def wait_for(check: Callable[[], bool], timeout: float = 1.0) -> float:
    """Poll `check` until true (bounded); returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"not seen within {timeout} s")


def listed_references(environment) -> set[str]:
    return {row.reference for row in image_listing(environment).rows}


def build_listed(images, environment, reference: str, **build) -> str:
    """Build an image tagged `reference` and wait until the inventory lists it; returns its ID."""
    image_id = images.build(reference, busybox=False, **build)
    wait_for(lambda: reference in listed_references(environment), timeout=5)
    return image_id


@pytest.fixture
def keeper(transactional_db, environment, process_dir) -> Iterator[ManagedProcess]:
    proc = start_keeper(process_dir)
    yield proc
    proc.stop()
    # Committed by another process: no rollback takes them away.
    Inventory.objects.all().delete()
    WatchState.objects.all().delete()


def test_a_fresh_inventory_serves_the_list_without_any_engine_call(keeper, environment, admin_client):
    before = engine.api_request_count()

    response = admin_client.get(LIST_URL)

    assert response.status_code == 200
    assert engine.api_request_count() == before
    assert {r.reference for r in response.context["listing"].rows} == _cli_references(environment)


def _tables(captured: CaptureQueriesContext) -> list[str]:
    """The table each query reads; "stamps" for the one statement of the stored records' stamps."""
    return [
        "stamps" if q["sql"].startswith("SELECT (SELECT") else _tables_joined(q["sql"])[0]
        for q in captured.captured_queries
    ]


def _tables_joined(sql: str) -> list[str]:
    """The table a statement reads, then each table it joins, in order."""
    after_from = sql.split(" FROM ", 1)[1]
    return [part.split()[0].strip('"') for part in after_from.split(" JOIN ")]


def test_a_list_page_from_a_current_inventory_draws_its_table_once_and_reads_only_small_rows(
    keeper, environment, viewer_client, monkeypatch
):
    moment = timezone.now()  # both pages write their ages as at one moment: their tables compare equal
    monkeypatch.setattr(kept_pages, "ages_written_at", lambda: moment)
    first = viewer_client.get(LIST_URL)  # parses the kept lists, draws the table and keeps it
    assert first.status_code == 200 and first.context["listing"].prepared

    with CaptureQueriesContext(connection) as captured:
        response = viewer_client.get(LIST_URL)

    assert response.status_code == 200
    assert response.context is None  # the page was not drawn again (kept whole, kept_pages)...
    table = first.content.decode().split('id="image-totals"', 1)[1].split('id="watch-note"', 1)[0]
    assert table in response.content.decode()  # ...and is the same
    # The session, the user and their role; the environment with its watch, update run and
    # inventory head in one statement (selectors.prepared: each read's text made once); the
    # stored records' stamps in one statement; the running pulls.
    assert sorted(_tables(captured)) == sorted(
        ["django_session", "auth_user", "auth_user_groups", "images_app_environment", "stamps", "images_app_pulljob"]
    ), _tables(captured)
    [head] = [q["sql"] for q in captured.captured_queries if _tables_joined(q["sql"])[0] == "images_app_environment"]
    assert _tables_joined(head) == [
        "images_app_environment",
        "images_app_watchstate",
        "images_app_updaterun",
        "images_app_inventory",
    ]
    # The inventory's lists are read only when its version moves.
    assert '"images_app_inventory"."images"' not in head and '"images_app_inventory"."containers"' not in head


def test_a_tag_made_outside_berth_shows_within_a_second(keeper, environment, images, unique_name, docker_api):
    image_id = images.build(f"{unique_name('inv')}:1", busybox=False)
    wait_for(lambda: image_id in {r.image.id for r in image_listing(environment).rows}, timeout=5)
    new_tag = f"{unique_name('inv-tag')}:2"

    images.tag(image_id, new_tag)

    wait_for(lambda: new_tag in listed_references(environment))


def test_a_removal_outside_berth_shows_within_a_second(keeper, environment, images, unique_name, docker_api):
    tag = f"{unique_name('inv-rm')}:1"
    images.build(tag, busybox=False)
    wait_for(lambda: tag in listed_references(environment), timeout=5)

    docker_api.remove_image(tag)

    wait_for(lambda: tag not in listed_references(environment))


def test_the_page_drawn_from_kept_rows_shows_a_change_made_outside_berth(
    keeper, environment, images, unique_name, docker_api, admin_client
):
    # Rows of the inventory keep their markup between pages: a change must still show, in the HTML itself.
    repository = unique_name("inv-html")
    image_id = build_listed(images, environment, f"{repository}:1")

    def page() -> str:
        """The table's body (the rest of the page carries a fresh CSRF token each time)."""
        html = admin_client.get(LIST_URL, {"q": repository}).content.decode()
        return html[html.index("<tbody>") : html.index("</tbody>")]

    assert page().count(f'data-reference="{repository}:1"') == 1
    assert page() == page()  # drawn twice from the same kept rows, same markup

    images.tag(image_id, f"{repository}:2")
    docker_api.remove_image(f"{repository}:1")

    wait_for(lambda: f'data-reference="{repository}:2"' in page(), timeout=2)
    assert f'data-reference="{repository}:1"' not in page()
    assert "tag 1 of 1" not in page()  # the one tag left is no longer drawn as one of two


def test_the_image_page_reads_nothing_live_while_the_inventory_is_current_and_follows_a_change(
    keeper, environment, images, unique_name, docker_api, admin_client
):
    repository = unique_name("inv-page")
    image_id = build_listed(images, environment, f"{repository}:1", layers=[64 * 1024])  # no layer shared
    url = f"/env/local/images/{image_id}/"
    first = admin_client.get(url)
    assert first.status_code == 200
    unique = first.context["view"].disk.unique_size

    before = engine.api_request_count()
    again = admin_client.get(url)

    # Inspect, history, the disk report and the containers come from this inventory version.
    assert engine.api_request_count() - before == 0
    assert unique == docker_api.inspect_image(image_id)["Size"]
    assert again.status_code == 200 and again.context is None  # nothing changed: the page was kept whole
    images.tag(image_id, f"{repository}:2")
    wait_for(lambda: f"{repository}:2" in listed_references(environment))
    assert f"{repository}:2" in admin_client.get(url).context["view"].detail.repo_tags


def test_the_image_page_follows_its_containers_and_a_moved_tag_through_the_inventory(
    keeper, environment, images, unique_name, start_container, admin_client, docker_api
):
    repository = unique_name("inv-from")
    image_id = build_listed(images, environment, f"{repository}:1")
    url = f"/env/local/images/{image_id}/"

    def created_from() -> str:
        """The page's containers table."""
        html = admin_client.get(url).content.decode()
        return html[html.index('id="image-containers"') : html.index("</section>", html.index('id="image-containers"'))]

    container_id = start_container(f"{repository}:1", running=False)
    wait_for(lambda: f'data-container-id="{container_id}"' in created_from(), timeout=2)
    assert f"<code>{repository}:1</code>" in created_from()
    # The engine's status text ("Created", "Up 3 minutes") would be as old as the inventory's read: not shown.
    assert ">created</span>" in created_from() and 'title="Created"' not in created_from()
    before = engine.api_request_count()
    created_from()
    assert engine.api_request_count() == before  # the containers came from the inventory

    # The tag moves to another image: the engine now lists the container by its image's ID.
    images.tag(build_listed(images, environment, f"{repository}:2"), f"{repository}:1")
    wait_for(lambda: "by ID" in created_from(), timeout=2)
    assert f"<code>{repository}:1</code>" not in created_from()
    assert [c["Image"] for c in docker_api.containers(all=True, filters={"id": container_id})] == [image_id]


def test_a_container_run_and_removed_outside_berth_moves_the_status(
    keeper, environment, images, unique_name, docker_api, start_container
):
    tag = f"{unique_name('inv-run')}:1"
    images.build(tag)
    wait_for(lambda: tag in listed_references(environment), timeout=5)

    def status() -> str:
        return next(r.status for r in image_listing(environment).rows if r.reference == tag)

    container_id = start_container(tag, running=True)
    wait_for(lambda: status() == "in_use")
    docker_api.remove_container(container_id, force=True)
    wait_for(lambda: status() == "unused")


def test_a_pull_outside_berth_shows_within_a_second(
    keeper, environment, images, unique_name, docker_api, registry_host
):
    repository = f"{registry_host}/{unique_name('inv-pull')}"
    image_id = images.build(f"{repository}:v1", busybox=False)
    for chunk in docker_api.push(repository, tag="v1", stream=True, decode=True):
        assert "error" not in chunk
    docker_api.remove_image(image_id, force=True)
    wait_for(lambda: f"{repository}:v1" not in listed_references(environment), timeout=5)

    docker_api.pull(repository, tag="v1")

    wait_for(lambda: f"{repository}:v1" in listed_references(environment))


def test_pages_read_the_engine_live_once_the_keeper_stops(keeper, environment, images, unique_name, admin_client):
    keeper.stop()
    tag = f"{unique_name('inv-live')}:1"
    images.build(tag, busybox=False)
    before = engine.api_request_count()

    response = admin_client.get(LIST_URL, {"q": tag})

    assert engine.api_request_count() > before
    assert [r.reference for r in response.context["listing"].rows] == [tag]
    assert response.context["listing"].as_of is None


@override_settings(BERTH_INVENTORY_STALE_SECONDS=60)
def test_a_lagging_keeper_shows_the_list_as_of_its_last_update(
    transactional_db, environment, process_dir, images, unique_name, admin_client
):
    # A keeper that gathers events for 6 s lags behind a change for that long.
    proc = start_keeper(process_dir, {"BERTH_INVENTORY_COALESCE_MS": "6000", "BERTH_INVENTORY_STALE_SECONDS": "60"})
    try:
        time.sleep(6.5)  # its first full read done
        tag = f"{unique_name('inv-lag')}:1"
        images.build(tag, busybox=False)
        time.sleep(3.5)

        lagging = admin_client.get(LIST_URL)

        assert b"inventory-as-of" in lagging.content and tag not in {r.reference for r in lagging.context["rows"]}
        wait_for(lambda: tag in listed_references(environment), timeout=10)
        caught_up = admin_client.get(LIST_URL)
        assert b"inventory-as-of" not in caught_up.content
    finally:
        proc.stop()
        Inventory.objects.all().delete()
        WatchState.objects.all().delete()


def test_a_removal_confirmed_from_a_stale_page_is_checked_against_the_live_engine(
    keeper, environment, images, unique_name, docker_api
):
    tag = f"{unique_name('inv-stale')}:1"
    images.build(tag, busybox=False)
    wait_for(lambda: tag in listed_references(environment), timeout=5)
    os.killpg(keeper.pid, signal.SIGSTOP)  # frozen: the inventory still says the tag exists for a few seconds
    try:
        docker_api.remove_image(tag)
        assert tag in listed_references(environment)  # the page is stale...
        before = engine.api_request_count()

        plan = removal.removal_plan(environment=environment, refs=[tag], sizes=False)

        assert engine.api_request_count() > before  # ...the plan is not
        assert plan.items[0].missing and tag not in engine_tags(docker_api)
    finally:
        os.killpg(keeper.pid, signal.SIGCONT)  # so the fixture's SIGTERM is heard


def _cli_references(environment) -> set[str]:
    images = engine.list_images(environment)
    refs = set()
    for image in images:
        refs.update(image.repo_tags or [image.id])
    return refs


def test_an_engine_restart_rebuilds_the_inventory_equal_to_the_engine(transactional_db, process_dir):
    from tests.integration.support.private_engine import PrivateEngine

    engine_proc = PrivateEngine()
    engine_proc.start()
    env = _child_env({"BERTH_ENVIRONMENTS": f"priv={engine_proc.host}", "BERTH_WATCHER_BACKOFF_MAX_SECONDS": "2"})
    watcher = start_watcher(process_dir, env, environment="priv")
    try:
        sync_environments_for(engine_proc.host)
        priv = Environment.objects.get(name="priv")

        def kept_tags() -> set[str] | None:
            read = inventory_current(priv)
            return None if read is None else {t for i in read.kept.images for t in i.repo_tags}

        api = docker.APIClient(base_url=engine_proc.host, version="auto", timeout=60)
        build_scratch_image(api, "before-restart:1", busybox=False, labels={"n": str(time.time_ns())})
        wait_for(lambda: kept_tags() == {"before-restart:1"}, timeout=30)
        api.close()

        engine_proc.stop()
        wait_for(lambda: inventory_current(priv) is None, timeout=20)  # pages read live (and say the engine is down)
        engine_proc.start()
        api = docker.APIClient(base_url=engine_proc.host, version="auto", timeout=60)
        build_scratch_image(api, "after-restart:1", busybox=False, labels={"n": str(time.time_ns())})
        cli = {t for i in api.images() for t in (i.get("RepoTags") or []) if t != "<none>:<none>"}
        wait_for(lambda: kept_tags() == cli, timeout=30)
        api.close()
    finally:
        watcher.stop()
        engine_proc.stop()
        shutil.rmtree(engine_proc.dir, ignore_errors=True)
        Inventory.objects.all().delete()
        WatchState.objects.all().delete()


def sync_environments_for(host: str) -> None:
    """The test process's own settings name only `local`: add the private engine's row as the watcher did."""
    Environment.objects.get_or_create(name="priv", defaults={"docker_host": host})
