"""The watcher when its engine goes away: shown as down, and nothing lost once it is back."""

from __future__ import annotations

import time

import docker
import pytest

from images_app.models import ImageUsage, ImageUse, WatchState
from tests.integration.conftest import _child_env
from tests.integration.support.watcher import start_watcher, wait_for
from tooling.scratch_images import build_scratch_image

pytestmark = pytest.mark.django_db(transaction=True)


def _state() -> WatchState | None:
    return WatchState.objects.filter(environment__name="priv").first()


def _usage(image_id: str) -> ImageUsage:
    return ImageUsage.objects.get(environment__name="priv", image_id=image_id)


def _actions(container_id: str) -> list[str]:
    return sorted(ImageUse.objects.filter(container_id=container_id).values_list("action", flat=True))


def _run(api: docker.APIClient, image_id: str) -> str:
    container = api.create_container(
        image_id, command=["/bin/busybox", "sleep", "3600"], host_config=api.create_host_config(network_mode="none")
    )
    api.start(container["Id"])
    return container["Id"]


def test_an_engine_restarted_mid_watch_shows_down_then_is_watched_again_without_loss(db, private_engine, process_dir):
    env = _child_env({"BERTH_ENVIRONMENTS": f"priv={private_engine.host}", "BERTH_WATCHER_BACKOFF_MAX_SECONDS": "2"})
    watcher = start_watcher(process_dir, env, environment="priv")
    try:
        api = docker.APIClient(base_url=private_engine.host, version="auto", timeout=60)
        image_id = build_scratch_image(api, "restart:1", labels={"n": str(time.time_ns())})
        wait_for(lambda: (s := _state()) and s.engine_status == "connected", 30, "connected", watcher)
        before = _run(api, image_id)
        wait_for(lambda: _actions(before) == ["create", "start"], 10, "use before the restart", watcher)
        assert _usage(image_id).running_containers == 1
        api.close()

        private_engine.stop()
        wait_for(lambda: _state().engine_status == "down", 20, "the engine shows as down", watcher)
        assert _state().engine_down_since is not None
        assert watcher.alive()

        private_engine.start()
        wait_for(lambda: _state().engine_status == "connected", 30, "connected again", watcher)
        # The private engine comes back empty: the reconciliation drops what it no longer has.
        gone = image_id
        wait_for(lambda: not ImageUsage.objects.filter(image_id=gone).exists(), 10, "old image forgotten", watcher)
        api = docker.APIClient(base_url=private_engine.host, version="auto", timeout=60)
        image_id = build_scratch_image(api, "restart:2", labels={"n": str(time.time_ns())})
        after = _run(api, image_id)
        wait_for(lambda: _actions(after) == ["create", "start"], 15, "use after the restart", watcher)
        assert _usage(image_id).running_containers == 1
        api.close()
    finally:
        watcher.stop()
