"""An engine of a test module's own for retention policies: a policy (and its disk budget) acts on every image
of its engine, so it must not see, or remove, what other tests build on the shared one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import docker
from django.test import override_settings
from django.utils import timezone

from images_app.engine.client import forget_clients
from images_app.environments import environment_get, sync_environments
from images_app.models import Environment, WatchState
from tests.integration.support.private_engine import PrivateEngine

HORIZON_DAYS = 60


@contextmanager
def private_engine_host(suffix: str) -> Iterator[str]:
    """A dockerd of our own (folder /tmp/bf-<pid><suffix>), stopped and deleted afterwards; its DOCKER_HOST."""
    engine = PrivateEngine()
    engine.dir += suffix
    engine.env["BERTH_SERVICES_DIR"] = engine.dir
    engine.start()
    try:
        yield engine.host
    finally:
        engine.stop()
        shutil.rmtree(engine.dir, ignore_errors=True)


@contextmanager
def priv_environment(engine_host: str) -> Iterator[tuple[Environment, docker.APIClient]]:
    """Berth's environment "priv" on that engine, watched for HORIZON_DAYS, and the SDK as the oracle.

    Afterwards every container and image of the engine is removed: the next test starts from an empty engine.
    """
    with override_settings(BERTH_ENVIRONMENTS=f"priv={engine_host}", BERTH_DEFAULT_ENVIRONMENT="priv"):
        sync_environments()
        forget_clients()
        environment = environment_get("priv")
        WatchState.objects.create(environment=environment, watched_since=timezone.now() - timedelta(days=HORIZON_DAYS))
        api = docker.APIClient(base_url=engine_host, version="auto", timeout=60)
        try:
            yield environment, api
        finally:
            for container in api.containers(all=True):
                api.remove_container(container["Id"], force=True)
            for image in api.images():
                api.remove_image(image["Id"], force=True)
            api.close()
    forget_clients()
