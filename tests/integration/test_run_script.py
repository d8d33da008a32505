"""`make run` (scripts/run.sh) for real: it serves, refuses a second copy, and stops what it started.

The run uses the test engine and the test Redis (in its own Redis database number, so its worker
never takes the test workers' messages); the sandbox path is checked by hand (README).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import REPO_ROOT, free_port

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0) until reaped; it is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _run_env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "BERTH_SERVICES_DIR", "BERTH_TEST_DATABASE"):
        env.pop(name, None)
    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/7"
    env.update(
        BERTH_DATA_DIR=str(data_dir),
        BERTH_BIND=f"127.0.0.1:{port}",
        REDIS_URL=redis_url,
        BERTH_WORKER_CONCURRENCY="1",
    )
    return env


def _wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


def _start(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            ["scripts/run.sh"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _serving(url: str) -> bool:
    try:
        return requests.get(url + "/login/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _run(tmp_path: Path):
    port = free_port()
    env = _run_env(tmp_path / "data", port)
    log_path = tmp_path / "run.log"
    proc = _start(env, log_path)
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        try:
            return requests.get(url + "/login/", timeout=2).status_code == 200
        except requests.RequestException:
            return proc.poll() is not None  # stop waiting when it died

    try:
        assert _wait_for(serving, 50), log_path.read_text()
        assert proc.poll() is None, log_path.read_text()
        yield proc, url, env, log_path
    finally:
        _stop(proc)


@pytest.fixture
def running(tmp_path):
    """A run of our own, for tests that stop or kill it."""
    yield from _run(tmp_path)


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    """One run for the tests that only look at it (each start costs seconds)."""
    yield from _run(tmp_path_factory.mktemp("shared-run"))


def _child_pids(log_path: Path) -> list[int]:
    return [int(pid) for pid in re.findall(r"\(pid (\d+)", log_path.read_text())]


def test_run_serves_the_login_page_and_says_how_to_create_the_first_admin(shared_run):
    proc, url, env, log_path = shared_run
    response = requests.get(url + "/login/", timeout=5)
    assert response.status_code == 200
    assert "Log in to Berth" in response.text
    output = log_path.read_text()
    assert "createsuperuser" in output and "/setup/" in output
    assert requests.get(url + "/setup/", timeout=5).status_code == 200


def test_a_second_run_from_the_same_folder_says_one_is_running(shared_run):
    proc, url, env, log_path = shared_run
    second = subprocess.run(["scripts/run.sh"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert proc.poll() is None  # the first one is untouched


def test_run_starts_celery_beat_with_its_schedule_file_in_the_data_folder(shared_run):
    proc, url, env, log_path = shared_run
    data_dir = Path(env["BERTH_DATA_DIR"])
    assert "started Celery beat" in log_path.read_text()
    beat_pid = int((data_dir / "run" / "beat.pid").read_text())
    assert _alive(beat_pid)
    assert "beat" in Path(f"/proc/{beat_pid}/cmdline").read_text()
    # beat opens its persistent schedule (a shelve: one or more files) as it starts.
    assert _wait_for(lambda: list(data_dir.glob("celerybeat-schedule*")), 20), sorted(os.listdir(data_dir))


def test_sigterm_stops_every_process_the_run_started(running):
    proc, url, env, log_path = running
    children = _child_pids(log_path)
    assert len(children) == 4  # the worker, Celery beat, the engine watcher and the web server
    assert all(_alive(pid) for pid in children)

    proc.send_signal(signal.SIGTERM)
    proc.wait(30)

    assert _wait_for(lambda: not any(_alive(pid) for pid in children), 10)
    assert "stopped" in log_path.read_text()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/login/", timeout=2)


def test_the_next_run_stops_what_a_hard_killed_run_left_behind(running, tmp_path):
    proc, url, env, log_path = running
    orphans = _child_pids(log_path)
    proc.kill()  # SIGKILL: its trap cannot run, the worker, watcher and web server live on
    proc.wait(10)
    assert all(_alive(pid) for pid in orphans)

    second_log = tmp_path / "run2.log"
    second = _start(env, second_log)
    try:
        assert _wait_for(lambda: "started uvicorn" in second_log.read_text() and _serving(url), 50), (
            second_log.read_text()
        )
        assert "left over by a previous run" in second_log.read_text()
        assert not any(_alive(pid) for pid in orphans)
        assert second.poll() is None
    finally:
        _stop(second)
        for pid in orphans:  # only if the run under test failed to: they are ours
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
