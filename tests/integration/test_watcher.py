"""The watcher against the real engine: what containers do moves "last used", and nothing is lost."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from images_app.models import Environment, ImageUsage, ImageUse, WatchState
from tests.integration.conftest import _child_env
from tests.integration.support.watcher import start_watcher, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _usage(image_id: str) -> ImageUsage | None:
    return ImageUsage.objects.filter(environment__name="local", image_id=image_id).first()


def _actions(container_id: str) -> list[str]:
    return sorted(ImageUse.objects.filter(container_id=container_id).values_list("action", flat=True))


def _watching(environment: str = "local") -> bool:
    state = WatchState.objects.filter(environment__name=environment).first()
    return bool(state and state.engine_status == WatchState.EngineStatus.CONNECTED and state.holder)


def _create(docker_api, image_id: str, *, start: bool) -> str:
    container = docker_api.create_container(
        image_id,
        command=["/bin/busybox", "sleep", "3600"],
        labels={"berth.test": "1"},
        host_config=docker_api.create_host_config(network_mode="none"),
    )
    if start:
        docker_api.start(container["Id"])
    return container["Id"]


def test_creating_starting_stopping_and_removing_a_container_moves_last_used(
    environment, images, docker_api, process_dir
):
    image_id = images.build(f"berth-watch-{time.time_ns()}:1")
    watcher = start_watcher(process_dir, _child_env())
    try:
        wait_for(_watching, 30, "the watcher connects", watcher)
        wait_for(lambda: _usage(image_id) is not None, 10, "the reconciliation sees the image", watcher)
        assert _usage(image_id).last_used_at is None
        assert _usage(image_id).running_containers == 0

        cid = _create(docker_api, image_id, start=True)
        wait_for(lambda: (u := _usage(image_id)) and u.running_containers == 1, 10, "running now", watcher)
        usage = _usage(image_id)
        created = docker_api.inspect_container(cid)["Created"]
        assert usage.last_container_id == cid
        assert usage.last_used_at.isoformat()[:16] == created[:16]
        started_at = usage.last_used_at

        docker_api.stop(cid, timeout=0)
        wait_for(lambda: _usage(image_id).running_containers == 0, 10, "not running after stop", watcher)
        assert _usage(image_id).last_used_at > started_at  # the container was in use until it died
        docker_api.remove_container(cid)
        wait_for(lambda: _actions(cid) == ["create", "die", "start"], 10, "create, start, die in the history", watcher)
    finally:
        watcher.stop()


def test_a_watcher_killed_while_containers_start_misses_nothing_after_restart(
    environment, images, docker_api, process_dir
):
    image_id = images.build(f"berth-watch-{time.time_ns()}:1")
    watcher = start_watcher(process_dir, _child_env(), name="first")
    created: list[str] = []

    def churn() -> None:
        for _ in range(12):
            cid = _create(docker_api, image_id, start=True)
            created.append(cid)
            docker_api.stop(cid, timeout=0)
            time.sleep(0.15)

    try:
        wait_for(_watching, 30, "the first watcher connects", watcher)
        worker = threading.Thread(target=churn)
        worker.start()
        wait_for(lambda: len(created) >= 4, 30, "containers start")
        watcher.stop(signal.SIGKILL)  # no goodbye: the lease stays taken until it expires
        worker.join(60)
        second = start_watcher(process_dir, _child_env(), name="second")
        try:
            expected = {cid: ["create", "die", "start"] for cid in created}
            try:
                wait_for(lambda: {cid: _actions(cid) for cid in created} == expected, 30, "all recorded", second)
            except AssertionError:
                assert {cid[:12]: _actions(cid) for cid in created} == {c[:12]: a for c, a in expected.items()}
                raise
            last = _usage(image_id)
            assert last.last_container_id == created[-1]
            assert last.running_containers == 0
        finally:
            second.stop()
    finally:
        if watcher.alive():
            watcher.stop()


def test_two_watchers_started_at_once_record_each_event_once_and_one_takes_over(
    environment, images, docker_api, process_dir
):
    image_id = images.build(f"berth-watch-{time.time_ns()}:1")
    first = start_watcher(process_dir, _child_env(), name="a")
    second = start_watcher(process_dir, _child_env(), name="b")
    try:
        wait_for(_watching, 30, "one of them connects", first)
        cids = [_create(docker_api, image_id, start=True) for _ in range(3)]
        for cid in cids:
            wait_for(lambda cid=cid: _actions(cid) == ["create", "start"], 10, "create and start recorded once")
        time.sleep(1)  # the other watcher, were it writing, would have doubled them by now
        assert ImageUse.objects.filter(container_id__in=cids).count() == 6

        holder = WatchState.objects.get(environment__name="local").holder
        pid = int(holder.split(":")[1])
        (dead, alive) = (first, second) if pid == first.pid else (second, first)
        dead.stop(signal.SIGKILL)
        late = _create(docker_api, image_id, start=True)
        wait_for(lambda: _actions(late) == ["create", "start"], 20, "the survivor takes over", alive)
        assert WatchState.objects.get(environment__name="local").holder.split(":")[1] == str(alive.pid)
    finally:
        first.stop()
        second.stop()


def test_the_use_history_is_bounded_per_image_keeping_the_newest(environment, images, docker_api, process_dir):
    image_id = images.build(f"berth-watch-{time.time_ns()}:1")
    watcher = start_watcher(process_dir, _child_env({"BERTH_WATCHER_HISTORY": "4"}))
    try:
        wait_for(_watching, 30, "the watcher connects", watcher)
        cids = [_create(docker_api, image_id, start=True) for _ in range(3)]  # 6 uses
        newest = [(cids[2], "start"), (cids[2], "create"), (cids[1], "start"), (cids[1], "create")]

        def kept() -> list[tuple[str, str]]:
            return list(ImageUse.objects.filter(image_id=image_id).values_list("container_id", "action"))

        wait_for(lambda: kept() == newest, 10, "the newest 4 uses kept, the older ones dropped", watcher)
        assert _usage(image_id).last_container_id == cids[2]
    finally:
        watcher.stop()


def test_the_watch_horizon_is_set_once_and_kept(environment, process_dir):
    watcher = start_watcher(process_dir, _child_env())
    try:
        wait_for(_watching, 30, "the watcher connects", watcher)
        horizon = WatchState.objects.get(environment__name="local").watched_since
        assert horizon is not None
    finally:
        watcher.stop()
    again = start_watcher(process_dir, _child_env())
    try:
        wait_for(_watching, 30, "the watcher connects again", again)
        assert WatchState.objects.get(environment__name="local").watched_since == horizon
        assert Environment.objects.get(name="local").watch.holder
    finally:
        again.stop()
    # A clean stop gives the lease back at once.
    assert WatchState.objects.get(environment__name="local").holder == ""


def test_an_image_removed_from_the_engine_leaves_no_usage_row_after_the_next_reconciliation(
    environment, images, docker_api, process_dir
):
    image_id = images.build(f"berth-watch-{time.time_ns()}:1")
    # A short silence before reconnecting, so the reconciliation comes within the test.
    watcher = start_watcher(process_dir, _child_env({"BERTH_WATCHER_IDLE_SECONDS": "2"}))
    try:
        wait_for(lambda: _usage(image_id) is not None, 30, "the image is seen", watcher)
        cid = _create(docker_api, image_id, start=False)
        wait_for(lambda: _actions(cid) == ["create"], 10, "its use recorded", watcher)
        docker_api.remove_container(cid)
        docker_api.remove_image(image_id)
        wait_for(lambda: _usage(image_id) is None, 20, "the usage row dropped", watcher)
        assert not ImageUse.objects.filter(image_id=image_id).exists()
    finally:
        watcher.stop()
