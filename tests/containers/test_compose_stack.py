"""Berth as containers, end to end: the image, compose.yaml and the socket proxies, on a private engine.

Run by `make test-containers` (scripts/containers.sh test), which starts a private engine and a loopback
registry and builds the images first; skipped in `make test`. The engine has no bridge network, so the
stack runs with tests/containers/compose.host.yaml: every service on the host's network, on its own loopback
port. The oracle is the engine itself and the proxies' own access logs.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import requests

from tests.integration.conftest import login_session

pytestmark = pytest.mark.skipif(
    os.environ.get("BERTH_E2E") != "1", reason="containers end to end: run `make test-containers`"
)

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "e2e-admin"
PASSWORD = "e2e-Password-77"
SERVICES_UP = ["postgres", "redis", "migrate", "worker", "worker-proxy", "web-proxy", "scheduler"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {seconds:.0f} s")


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    base_url: str
    web_container: str
    api: docker.APIClient

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        files = ["-f", "compose.yaml", "-f", "tests/containers/compose.host.yaml"]
        result = subprocess.run(
            ["docker-compose", "-p", self.project, *files, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"docker-compose {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def container(self, service: str) -> str:
        labels = [f"com.docker.compose.project={self.project}", f"com.docker.compose.service={service}"]
        found = self.api.containers(all=True, filters={"label": labels})
        assert found, f"no container for {service}"
        return found[0]["Id"]

    def run_in(self, container: str, code: str) -> str:
        """Python run inside a container (as its own user), its output."""
        exec_id = self.api.exec_create(container, ["python", "-c", code])
        output = self.api.exec_start(exec_id).decode()
        assert self.api.exec_inspect(exec_id)["ExitCode"] == 0, output
        return output.strip()

    def proxy_log(self, service: str) -> str:
        return self.api.logs(self.container(service), stdout=True, stderr=True).decode(errors="replace")

    def project_objects(self) -> dict[str, list[str]]:
        label = f"com.docker.compose.project={self.project}"
        return {
            "containers": [c["Names"][0] for c in self.api.containers(all=True, filters={"label": label})],
            "volumes": [v["Name"] for v in self.api.volumes(filters={"label": label}).get("Volumes") or []],
            "networks": [n["Name"] for n in self.api.networks(filters={"label": label})],
        }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    docker_host = os.environ["DOCKER_HOST"]
    secrets_dir = tmp_path_factory.mktemp("secrets")
    ports = {name: str(free_port()) for name in ("WEB", "REDIS", "POSTGRES")}
    db_password = "e2e-" + os.urandom(12).hex()
    (secrets_dir / "django_secret_key").write_text("e2e-" + os.urandom(32).hex())
    (secrets_dir / "postgres_password").write_text(db_password)
    (secrets_dir / "database_url").write_text(f"postgres://berth:{db_password}@127.0.0.1:{ports['POSTGRES']}/berth")
    for secret in secrets_dir.iterdir():
        secret.chmod(0o644)  # the containers' users (berth, postgres) read them through bind mounts
    env = {
        **os.environ,
        "BERTH_SECRETS_DIR": str(secrets_dir),
        "BERTH_IMAGE": os.environ.get("BERTH_E2E_IMAGE", "berth:test"),
        "BERTH_REDIS_IMAGE": "berth-local/redis:bookworm",
        "BERTH_POSTGRES_IMAGE": "berth-local/postgres:bookworm",
        "BERTH_HAPROXY_IMAGE": "berth-local/haproxy:bookworm",
        "DOCKER_SOCKET": docker_host.removeprefix("unix://"),
        **{f"E2E_{name}_PORT": port for name, port in ports.items()},
    }
    project = os.environ.get("BERTH_E2E_PROJECT", f"berthe2e{os.getpid()}")
    api = docker.APIClient(base_url=docker_host, version="auto", timeout=60)
    web_name = f"{project}_web_e2e"
    stack = Stack(project, env, f"http://127.0.0.1:{ports['WEB']}", web_name, api)
    try:
        stack.compose("up", "-d", "--no-build", *SERVICES_UP)
        # The web service as shipped, minus its published port: on the host's network there is nothing to
        # publish, and docker-compose 1.29 refuses ports with network_mode host (an override cannot drop them).
        stack.compose("run", "-d", "--name", web_name, "web")

        def web_answers() -> bool:
            try:
                return requests.get(stack.base_url + "/login/", timeout=3).status_code == 200
            except requests.RequestException:
                return False

        wait_until(web_answers, 120, "the web container did not answer")
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", timeout=180)
        api.close()


@pytest.fixture(scope="module")
def admin(stack: Stack) -> requests.Session:
    exec_id = stack.api.exec_create(
        stack.web_container,
        ["berth", "manage", "berth_user", ADMIN, "--role", "admin"],
        environment={"BERTH_USER_PASSWORD": PASSWORD},
    )
    output = stack.api.exec_start(exec_id).decode()
    assert stack.api.exec_inspect(exec_id)["ExitCode"] == 0, output
    return login_session(stack.base_url, ADMIN, PASSWORD)


def hidden_inputs(html: str, form_id: str) -> list[tuple[str, str]]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form #{form_id} on the page"
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0))
    return [(name, value.replace("&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&")) for name, value in fields]


def push_test_image(api: docker.APIClient, registry: str) -> str:
    """A one-layer image in the loopback registry, gone from the engine: Berth must pull it."""
    reference = f"{registry}/e2e/hello:{os.getpid()}"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        files = (("Dockerfile", b"FROM scratch\nCOPY hello.txt /hello.txt\n"), ("hello.txt", os.urandom(4096)))
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    list(api.build(fileobj=context, custom_context=True, tag=reference, rm=True, decode=True))
    for line in api.push(reference, stream=True, decode=True):
        assert "error" not in line, line
    api.remove_image(reference)
    return reference


def test_the_image_is_small_and_unprivileged_with_no_build_tools(stack: Stack) -> None:
    image = stack.api.inspect_image(stack.env["BERTH_IMAGE"])
    assert image["Config"]["User"] == "berth"
    assert image["Size"] < 200_000_000, f"{image['Size'] / 1e6:.0f} MB"
    assert image["Config"]["Healthcheck"]["Test"] == ["CMD", "berth-healthcheck"]
    labels = image["Config"]["Labels"]
    for key in ("source", "version", "licenses"):
        assert f"org.opencontainers.image.{key}" in labels
    tools = stack.run_in(
        stack.web_container,
        "import shutil; print([t for t in ('gcc', 'cc', 'strip', 'pip', 'make') if shutil.which(t)])",
    )
    assert tools == "[]"


def test_the_roles_run_and_the_web_probe_is_healthy(stack: Stack) -> None:
    for service in ("worker", "scheduler", "web-proxy", "worker-proxy", "redis", "postgres"):
        assert stack.api.inspect_container(stack.container(service))["State"]["Running"], service
    migrate = stack.api.inspect_container(stack.container("migrate"))["State"]
    assert (migrate["Running"], migrate["ExitCode"]) == (False, 0)
    exec_id = stack.api.exec_create(stack.web_container, ["berth-healthcheck"])
    output = stack.api.exec_start(exec_id).decode()
    assert stack.api.exec_inspect(exec_id)["ExitCode"] == 0, output


def test_an_admin_logs_in_and_the_images_page_lists_the_engines_images(stack: Stack, admin: requests.Session) -> None:
    page = admin.get(stack.base_url + "/env/local/images/", timeout=30)
    assert page.status_code == 200, page.text[-3000:] + stack.proxy_log("web-proxy")[-2000:]
    tags = {tag for image in stack.api.images() for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"}
    assert len(tags) >= 4
    for tag in tags:
        repository, _, name = tag.rpartition(":")
        assert repository in page.text and name in page.text, f"{tag} is not on the images page"
    # It came through the web role's proxy, which the engine answered.
    assert re.search(r'"GET /v1\.\d+/images/json\S* HTTP/1\.1"', stack.proxy_log("web-proxy"))


def test_a_pull_and_a_removal_go_through_the_workers_proxy(stack: Stack, admin: requests.Session) -> None:
    reference = push_test_image(stack.api, os.environ["BERTH_TEST_REGISTRY"])
    form = admin.get(stack.base_url + "/env/local/pulls/new/", timeout=30)
    assert form.status_code == 200
    response = admin.post(
        stack.base_url + "/env/local/pulls/new/",
        data={"reference": reference, "csrfmiddlewaretoken": admin.cookies["csrftoken"]},
        headers={"Referer": stack.base_url + "/env/local/pulls/new/"},
        timeout=30,
    )
    assert response.status_code == 200 and "/pulls/" in response.url, response.text[:500]
    wait_until(lambda: bool(stack.api.images(name=reference)), 90, f"{reference} was not pulled")
    wait_until(lambda: "badge-succeeded" in admin.get(response.url, timeout=30).text, 30, "the pull did not succeed")
    pulled = r'engine/engine .* 200 .*"POST /v1\.\d+/images/create\?\S*fromImage='
    wait_until(
        lambda: bool(re.search(pulled, stack.proxy_log("worker-proxy"))), 10, "no pull in the worker proxy's log"
    )

    confirm = admin.get(stack.base_url + "/env/local/images/remove/", params={"ref": reference}, timeout=30)
    assert confirm.status_code == 200, confirm.text[:500]
    fields = hidden_inputs(confirm.text, "removal-form")
    removed = admin.post(
        stack.base_url + "/env/local/images/remove/",
        data=fields,
        headers={"Referer": confirm.url},
        timeout=30,
    )
    assert removed.status_code == 200, removed.text[:500]
    wait_until(lambda: not stack.api.images(name=reference), 60, f"{reference} was not removed")
    # HAProxy logs a request once its answer is sent, a moment after the engine acted.
    deleted = r'engine/engine .* 200 .*"DELETE /v1\.\d+/images/'
    wait_until(
        lambda: bool(re.search(deleted, stack.proxy_log("worker-proxy"))), 10, "no DELETE in the worker proxy's log"
    )
    assert "DELETE " not in stack.proxy_log("web-proxy")


# What any code running in the container could send to the engine through its proxy (DOCKER_HOST, a unix socket).
REQUEST_FROM_CONTAINER = """
import os, socket, sys
method, path, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(10)
sock.connect(os.environ["DOCKER_HOST"].removeprefix("unix://"))
head = f"{method} {path} HTTP/1.1\\r\\nHost: docker\\r\\nContent-Type: application/json\\r\\n"
head += f"Content-Length: {len(body)}\\r\\nConnection: close\\r\\n\\r\\n"
try:
    sock.sendall(head.encode() + body)
except BrokenPipeError:
    pass  # the proxy may answer 403 and close before reading the body
print(sock.recv(65536).split(b" ")[1].decode())
"""


def request_from(stack: Stack, container: str, method: str, path: str, body: str = "") -> int:
    exec_id = stack.api.exec_create(container, ["python", "-c", REQUEST_FROM_CONTAINER, method, path, body])
    output = stack.api.exec_start(exec_id).decode().strip()
    assert stack.api.exec_inspect(exec_id)["ExitCode"] == 0, output
    return int(output)


def test_the_web_container_cannot_create_a_container_or_pull(stack: Stack) -> None:
    web = stack.web_container
    containers_before = {c["Id"] for c in stack.api.containers(all=True)}
    spec = json.dumps({"Image": stack.env["BERTH_IMAGE"], "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}})
    assert request_from(stack, web, "GET", "/version") == 200  # the proxy is there and reaches the engine
    assert request_from(stack, web, "POST", "/v1.41/containers/create", spec) == 403
    assert request_from(stack, web, "POST", "/v1.41/images/create?fromImage=busybox&tag=latest") == 403
    assert request_from(stack, web, "DELETE", f"/v1.41/images/{stack.env['BERTH_IMAGE']}") == 403
    assert request_from(stack, web, "GET", "/v1.41/images/x/../../containers/json") == 403
    assert request_from(stack, web, "GET", "/v1.41/containers/json/../create") == 403
    # The worker's proxy pulls and removes, and nothing more.
    worker = stack.container("worker")
    assert request_from(stack, worker, "POST", "/v1.41/containers/create", spec) == 403
    assert request_from(stack, worker, "POST", "/v1.41/build") == 403
    assert request_from(stack, worker, "POST", "/v1.41/volumes/create", "{}") == 403
    assert {c["Id"] for c in stack.api.containers(all=True)} == containers_before
    assert re.search(r'<NOSRV> .* 403 .*"POST /v1\.41/containers/create HTTP/1\.1"', stack.proxy_log("web-proxy"))


def test_compose_down_leaves_nothing_running(stack: Stack) -> None:
    assert stack.project_objects()["containers"]
    stack.compose("down", "-v", "--remove-orphans", timeout=180)
    assert stack.project_objects() == {"containers": [], "volumes": [], "networks": []}
