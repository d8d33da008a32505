"""The API for what the watcher, the update checks and retention policies added, over real HTTP."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from images_app.models import AuditEvent, CleanupRequest, ImageUsage, RetentionPolicy, WatchState
from tests.integration.support.api import api_client, token_for

pytestmark = pytest.mark.usefixtures("transactional_db")

ENV = "/api/v1/environments/local"


def test_image_rows_say_what_the_watcher_knows_and_the_update_state(live_url, viewer, environment, images, unique_name):
    tag = f"{unique_name('api-use')}:1"
    image_id = images.build(tag, busybox=False)
    horizon = timezone.now() - timedelta(days=40)
    used = timezone.now() - timedelta(days=3)
    WatchState.objects.create(environment=environment, watched_since=horizon)
    ImageUsage.objects.create(environment=environment, image_id=image_id, last_used_at=used, last_container_name="job")

    body = api_client(token_for(viewer)).get(live_url + ENV + "/images/", params={"q": tag}, timeout=30).json()

    [row] = body["results"]
    assert row["last_use"]["container"] == "job" and row["last_use"]["in_use_now"] is False
    assert row["last_use"]["last_used"].startswith(used.isoformat()[:19])
    assert row["last_use"]["watched_since"].startswith(horizon.isoformat()[:19])
    # Built here, never pulled: nothing to compare with a registry.
    assert row["update"]["state"] == "unknown" and row["update"]["reason"] == "built_locally"


def test_update_checks_list_nothing_outdated_and_check_now_is_for_operators(live_url, viewer, operator, environment):
    listing = api_client(token_for(viewer)).get(live_url + ENV + "/updates/", timeout=30)
    refused = api_client(token_for(viewer)).post(live_url + ENV + "/updates/check/", json={}, timeout=30)
    started = api_client(token_for(operator)).post(live_url + ENV + "/updates/check/", json={}, timeout=30)

    assert listing.status_code == 200 and listing.json()["outdated"] == []
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert started.status_code == 202
    event = AuditEvent.objects.get(action="updates_check_requested", actor=operator)
    assert event.parameters.get("via") == "api"


def test_a_policy_previews_and_runs_exactly_its_snapshot_as_a_request(
    live_url, admin_user, environment, images, unique_name
):
    keep, old = f"{unique_name('api-keep')}:1", f"{unique_name('api-old')}"
    images.build(keep, busybox=False)
    for n in (1, 2, 3):
        images.build(f"{old}:{n}", busybox=False)
        time.sleep(1.1)  # the engine's creation times are whole seconds: "newest" must be unambiguous
    # Everything but this repository is excluded; keep the newest tag of it: two older tags qualify.
    policy = RetentionPolicy.objects.create(
        name="api-keep-newest",
        environment=environment,
        keep_newest=1,
        exclude_references="\n".join(_everything_but(old, environment)),
        action=RetentionPolicy.Action.ASK,
        owner=admin_user,
    )
    client = api_client(token_for(admin_user))
    base = f"{live_url}/api/v1/policies/{policy.pk}/environments/local"

    preview = client.get(base + "/preview/", timeout=60).json()
    ran = client.post(base + "/run/", json={"snapshot": preview["snapshot"]}, timeout=60)
    forged = client.post(base + "/run/", json={"snapshot": [{"image_id": 3, "reference": []}]}, timeout=30)

    going = {tag for row in preview["rows"] if row["decision"] != "keep" for tag in row["tags"]}
    assert going == {f"{old}:1", f"{old}:2"} and not preview["removes_everything"]
    assert ran.status_code == 200, ran.text
    request = CleanupRequest.objects.get(pk=ran.json()["request"])
    # Whole images go by ID: the request names exactly the previewed ones.
    going_ids = {row["image_id"] for row in preview["rows"] if row["decision"] != "keep"}
    assert {item["image_id"] for item in request.items} == going_ids
    assert forged.status_code == 400


def _everything_but(repository: str, environment) -> list[str]:
    """Exclusion patterns for every repository on the shared engine except `repository`."""
    from images_app import engine

    repositories = {t.rpartition(":")[0] for i in engine.list_images(environment) for t in i.repo_tags}
    return sorted(f"{r}:*" for r in repositories if r != repository) or ["nothing-else:*"]


def test_an_admin_defines_and_changes_a_policy_with_the_pages_validation(live_url, admin_user, environment):
    client = api_client(token_for(admin_user))
    body = {"name": "nightly", "environment": "local", "keep_newest": 5, "exclude_labels": ["berth.keep=true"]}

    created = client.post(live_url + "/api/v1/policies/", json=body, timeout=30)
    no_rule = client.post(live_url + "/api/v1/policies/", json={"name": "empty"}, timeout=30)
    bad_cron = client.post(live_url + "/api/v1/policies/", json={**body, "name": "x", "cron": "61 * * * *"}, timeout=30)
    unknown_env = client.post(live_url + "/api/v1/policies/", json={**body, "environment": "nope"}, timeout=30)
    pk = created.json()["id"]
    changed = client.put(live_url + f"/api/v1/policies/{pk}/", json={**body, "action": "apply"}, timeout=30)

    assert created.status_code == 201 and created.json()["owner"] == admin_user.username
    assert (no_rule.status_code, no_rule.json()["code"]) == (400, "invalid")
    assert (bad_cron.status_code, bad_cron.json()["field"]) == (400, "cron")
    assert (unknown_env.status_code, unknown_env.json()["field"]) == (400, "environment")
    assert changed.status_code == 200 and RetentionPolicy.objects.get(pk=pk).action == "apply"
    assert RetentionPolicy.objects.filter(name__in=["empty", "x"]).count() == 0
    events = AuditEvent.objects.filter(action__in=["retention_policy_created", "retention_policy_changed"])
    assert sorted(e.action for e in events) == ["retention_policy_changed", "retention_policy_created"]
    assert all(e.parameters.get("via") == "api" for e in events)
