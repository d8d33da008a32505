"""Shared fixtures: real engine, registry, Redis, Celery worker and web server.

`make test` starts the services and exports where they are (DOCKER_HOST,
REDIS_URL, BERTH_TEST_REGISTRY, ...). Tests talk to them for real; the docker
SDK is used here only as the oracle and to build test images.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import docker
import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client

from images_app.environments import environment_get, sync_environments
from images_app.roles import ADMIN, OPERATOR, VIEWER, assign_role, ensure_roles
from tests.integration.support.private_engine import PrivateEngine
from tooling import processes

# Re-exported: test modules import these from here.
from tooling.processes import REPO_ROOT, ManagedProcess, free_port  # noqa: F401
from tooling.scratch_images import build_scratch_image

BUSYBOX = "/bin/busybox"
TEST_LABEL = "berth.test"
PASSWORD = "correct-horse-battery-staple"


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the tests with `make test`, which starts the services", 2)
    return value


@pytest.fixture(scope="session")
def docker_host() -> str:
    return _require("DOCKER_HOST")


@pytest.fixture(scope="session")
def docker_api(docker_host: str) -> docker.APIClient:
    """The SDK as the oracle: what the engine really has."""
    return docker.APIClient(base_url=docker_host, version="auto", timeout=120)


@pytest.fixture(scope="session")
def registry_host() -> str:
    return _require("BERTH_TEST_REGISTRY")


# --- images -----------------------------------------------------------------


class ImageFactory:
    """Builds real images FROM scratch and removes what it built afterwards."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.created: list[str] = []

    def build(
        self,
        tag: str | None = None,
        *,
        layers: list[int] | None = None,
        busybox: bool = True,
        labels: dict[str, str] | None = None,
        extra_dockerfile: str = "",
    ) -> str:
        """Build an image; `layers` are sizes in bytes of random-data layers. Returns the image ID."""
        all_labels = {TEST_LABEL: "1", "berth.test.nonce": uuid.uuid4().hex, **(labels or {})}
        image_id = build_scratch_image(
            self.api, tag, layers=layers, busybox=busybox, labels=all_labels, extra_dockerfile=extra_dockerfile
        )
        self.created.append(image_id)
        return image_id

    def tag(self, image_id: str, repo_tag: str) -> None:
        repository, _, tag = repo_tag.rpartition(":")
        self.api.tag(image_id, repository, tag)

    def cleanup(self) -> None:
        for container in self.api.containers(all=True, filters={"label": TEST_LABEL}):
            self.api.remove_container(container["Id"], force=True)
        for image_id in reversed(self.created):
            try:
                self.api.remove_image(image_id, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError:
                pass


@pytest.fixture
def images(docker_api: docker.APIClient) -> Iterator[ImageFactory]:
    factory = ImageFactory(docker_api)
    yield factory
    factory.cleanup()


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Repository names that never collide between tests."""

    def make(prefix: str = "berth-test") -> str:
        return f"{prefix}-{secrets.token_hex(4)}"

    return make


@pytest.fixture
def start_container(docker_api: docker.APIClient) -> Iterator[Callable[..., str]]:
    """Create (and optionally start) a container without any network."""
    created: list[str] = []

    def make(image: str, *, running: bool = False, name: str | None = None) -> str:
        container = docker_api.create_container(
            image,
            command=["/bin/busybox", "sleep", "3600"],
            name=name,
            labels={TEST_LABEL: "1"},
            host_config=docker_api.create_host_config(network_mode="none"),
        )
        created.append(container["Id"])
        if running:
            docker_api.start(container["Id"])
        return container["Id"]

    yield make
    for container_id in created:
        try:
            docker_api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass


# --- people -----------------------------------------------------------------


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once for the whole run: each hash is a full PBKDF2 run, half a second on a slow
    day, and most tests make two or three people. Logging in still checks it the real way."""
    return make_password(PASSWORD)


@pytest.fixture
def make_user(db) -> Callable[..., object]:
    def make(username: str, role: str | None = VIEWER, **extra: object) -> object:
        ensure_roles()
        user = get_user_model().objects.create(username=username, password=password_hash(), **extra)
        if role:
            assign_role(user, role)
        return user

    return make


@pytest.fixture
def viewer(make_user):
    return make_user("vera", VIEWER)


@pytest.fixture
def operator(make_user):
    return make_user("otto", OPERATOR)


@pytest.fixture
def admin_user(make_user):
    return make_user("ada", ADMIN)


@pytest.fixture
def second_admin(make_user):
    return make_user("alan", ADMIN)


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer) -> Client:
    return logged_in(viewer)


@pytest.fixture
def operator_client(operator) -> Client:
    return logged_in(operator)


@pytest.fixture
def admin_client(admin_user) -> Client:
    return logged_in(admin_user)


@pytest.fixture
def environment(db):
    sync_environments()
    return environment_get("local")


# --- processes: web server and worker ---------------------------------------


def _test_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        # pytest-django created `test_<name>` on the same server; the children must use that one.
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/test_" + parts.path.lstrip("/")))
    return f"sqlite:///{os.environ['BERTH_TEST_DATABASE']}"


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The processes must use the test database pytest-django created, not the real one.
    env["DATABASE_URL"] = _test_database_url()
    env.setdefault("BERTH_PULL_STALE_SECONDS", "6")
    env.update(extra or {})
    return env


def _wait_until(check: Callable[[], bool], timeout: float, what: str, proc: ManagedProcess) -> None:
    proc.wait_until(check, timeout, what)


def start_web_server(tmp_dir: Path, extra_env: dict[str, str] | None = None) -> tuple[ManagedProcess, str]:
    return processes.start_web_server(tmp_dir, _child_env(extra_env))


def start_worker(tmp_dir: Path, extra_env: dict[str, str] | None = None, name: str = "w") -> ManagedProcess:
    return processes.start_worker(tmp_dir, _child_env(extra_env), f"{name}-{secrets.token_hex(3)}@berth-test")


@pytest.fixture(scope="session")
def process_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("processes")


@pytest.fixture(scope="session")
def live_url(django_db_setup, django_db_blocker, process_dir: Path) -> Iterator[str]:
    """A real ASGI server (uvicorn) on loopback, sharing the test database.

    Tests using it need `transactional_db` so their rows are committed and visible.
    """
    proc, url = start_web_server(process_dir)
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, process_dir: Path) -> Iterator[ManagedProcess]:
    """A real Celery worker on the test Redis, sharing the test database."""
    proc = start_worker(process_dir)
    yield proc
    proc.stop()


# Beat sending only the stale-job sweep, every second (the other scheduled tasks off).
BEAT_SWEEP_ONLY = {
    "BERTH_BEAT_SWEEP_SECONDS": "1",
    "BERTH_BEAT_EXPIRE_SECONDS": "0",
    "BERTH_BEAT_RETENTION_SECONDS": "0",
    "BERTH_BEAT_VERIFY_SECONDS": "0",
}


def start_beat(tmp_dir: Path, extra_env: dict[str, str] | None = None) -> ManagedProcess:
    """A real Celery beat on the test Redis; `extra_env` sets its BERTH_BEAT_*_SECONDS."""
    schedule = tmp_dir / f"beat-{secrets.token_hex(3)}"
    return processes.start_beat(tmp_dir, _child_env(extra_env), schedule)


def login_session(base_url: str, username: str, password: str = PASSWORD) -> requests.Session:
    """A requests session logged in through the real login form."""
    session = requests.Session()
    session.get(base_url + "/login/", timeout=10)
    response = session.post(
        base_url + "/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": base_url + "/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, f"login failed for {username}: {response.status_code}"
    return session


# --- browser ----------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread from here on; Django would then
    # refuse ORM calls from the tests themselves. Only while a browser exists, so every other
    # test keeps Django's guard against sync ORM calls from async code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
            )
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def browser_login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def private_engine() -> Iterator[PrivateEngine]:
    """A dockerd of the test's own, started and then stopped and removed (tests that stop or restart an engine)."""
    engine = PrivateEngine()
    engine.start()
    yield engine
    engine.stop()
    shutil.rmtree(engine.dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_kept_page_parts_from_earlier_tests() -> Iterator[None]:
    """Each test starts with no kept page parts (images_app.kept_pages): a flushed database
    may number its rows as an earlier test's did, and a part is kept under those numbers."""
    from django.core.cache import caches

    caches["pages"].clear()
    yield
