"""The CI script of README.md ("A CI script"), run as written against a real Berth, worker and engine."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from images_app.models import AuditEvent, CleanupRequest
from tests.integration.support.api import token_for
from tests.integration.support.pulls import push_image
from tests.integration.support.removal import image_exists
from tooling.processes import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]


def readme_script() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### A CI script", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "README.md has no bash block under 'A CI script'"
    return match.group(1)


def test_the_readme_ci_script_pulls_waits_previews_and_asks_for_the_removal(
    live_url, celery_worker_process, operator, environment, images, docker_api, registry_host, unique_name, tmp_path
):
    new = push_image(images, docker_api, registry_host, unique_name("ci-app"), layers=[4096], tag="2.0")
    old_tag = f"{unique_name('ci-old')}:1.9"
    old_id = images.build(old_tag, busybox=False)
    script = tmp_path / "berth-deploy.sh"
    script.write_text(readme_script())
    script.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "BERTH_URL": live_url,
        "BERTH_TOKEN": token_for(operator),
        "IMAGE": f"{registry_host}/{new}",
        "OLD_IMAGE": old_tag,
    }
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == f"pulled {registry_host}/{new}"
    assert lines[1].startswith(f"will delete {old_tag} (")
    outcome, request_id = lines[-1].split()
    assert outcome == "requested"
    request = CleanupRequest.objects.get(pk=int(request_id))
    assert request.status == "pending" and request.items[0]["image_id"] == old_id
    assert request.reason == "replaced by the CI deploy"
    # An operator's token asks; nothing is removed until an admin approves.
    assert image_exists(docker_api, old_id)
    pulled = docker_api.inspect_image(f"{registry_host}/{new}")["Id"]
    images.created.append(pulled)
    assert AuditEvent.objects.get(action="cleanup_requested", cleanup_request=request).parameters["via"] == "api"
