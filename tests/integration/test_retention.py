"""Retention policies on a private engine of their own (a policy acts on every image of its engine)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from images_app.models import AuditEvent, CleanupRequest, RetentionPolicy
from images_app.services.cleanup_requests import cleanup_request_approve
from images_app.services.removal import removal_job_run
from images_app.services.retention import policies_run_due
from tests.integration.support.retention import priv_environment, private_engine_host
from tooling.old_images import load_old_image
from tooling.scratch_images import build_scratch_image

OLD = datetime(2024, 1, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine_host():
    with private_engine_host("-r") as host:
        yield host


@pytest.fixture
def priv(db, engine_host):
    with priv_environment(engine_host) as environment_and_api:
        yield environment_and_api


def _fleet(api) -> dict[str, str]:
    """Old unused images, some protected; a running one; one a stopped container holds; a fresh one."""
    ids = {
        "old1": load_old_image(api, "app:old1", OLD, size=300_000),
        "old2": load_old_image(api, "app:old2", OLD, size=200_000),
        "prod": load_old_image(api, "app:prod-1", OLD, size=100_000),
        "base": load_old_image(api, "reg.example/base:1", OLD, size=100_000),
        "keep": load_old_image(api, "keep:1", OLD, size=100_000, labels={"berth.keep": "true"}),
        "stopped": load_old_image(api, "stopped:1", OLD, size=100_000),
        "running": build_scratch_image(api, "running:1", labels={"n": "1"}),
        "fresh": build_scratch_image(api, "fresh:1", busybox=False, labels={"n": "2"}),
    }
    no_network = api.create_host_config(network_mode="none")
    api.create_container(ids["stopped"], command=["/bin/true"], host_config=no_network)
    running = api.create_container(ids["running"], command=["/bin/busybox", "sleep", "600"], host_config=no_network)
    api.start(running["Id"])
    return ids


def _policy(owner, environment, **fields) -> RetentionPolicy:
    values = {
        "name": "tidy",
        "environment": environment,
        "unused_days": 30,
        "exclude_references": "prod-*\n*/base:*",
        "exclude_labels": "berth.keep=true",
        "action": RetentionPolicy.Action.APPLY,
        "owner": owner,
        **fields,
    }
    return RetentionPolicy.objects.create(**values)


def _url(policy: RetentionPolicy) -> str:
    return f"/policies/{policy.pk}/preview/priv/"


def _layers_size(api) -> int:
    return api.df()["LayersSize"]


def test_the_preview_is_exactly_what_the_policy_then_removes_byte_for_byte(admin_client, admin_user, priv):
    environment, api = priv
    ids = _fleet(api)
    policy = _policy(admin_user, environment)
    response = admin_client.get(_url(policy))
    assert response.status_code == 200
    preview = response.context["preview"]
    decisions = {row.image_id: row.decision for row in preview.rows}
    assert {i for i, d in decisions.items() if d == "remove"} == {ids["old1"], ids["old2"]}
    reasons = {row.image_id: row.verdict.reason for row in preview.rows}
    assert reasons[ids["prod"]] == "excluded by pattern prod-*"
    assert reasons[ids["base"]] == "excluded by pattern */base:*"
    assert reasons[ids["keep"]] == "excluded by label berth.keep=true"
    assert "running" in reasons[ids["running"]]
    assert "stopped container" in reasons[ids["stopped"]]
    html = response.content.decode()
    assert "removes-everything" not in html

    before_ids = {image["Id"] for image in api.images()}
    before_bytes = _layers_size(api)
    run = admin_client.post(_url(policy), {"snapshot": response.context["snapshot_json"]})
    assert run.status_code == 302
    after_ids = {image["Id"] for image in api.images()}
    assert before_ids - after_ids == {ids["old1"], ids["old2"]}
    assert before_bytes - _layers_size(api) == preview.bytes_freed > 0
    event = AuditEvent.objects.filter(action="retention_policy_run").latest("id")
    assert event.actor_name == "policy:tidy"
    assert event.parameters["items"] == 2 and event.parameters["bytes"] == preview.bytes_freed
    assert event.parameters["trigger"] == "run_now" and event.parameters["by"] == admin_user.username


def test_ask_creates_a_request_that_a_second_admin_approves(admin_client, admin_user, second_admin, priv):
    environment, api = priv
    ids = _fleet(api)
    policy = _policy(admin_user, environment, action=RetentionPolicy.Action.ASK)
    preview = admin_client.get(_url(policy))
    response = admin_client.post(_url(policy), {"snapshot": preview.context["snapshot_json"]})
    assert response.status_code == 302
    request = CleanupRequest.objects.get()
    assert request.status == CleanupRequest.Status.PENDING
    assert request.requested_by == admin_user
    assert "Retention policy tidy" in request.reason
    assert {item["image_id"] for item in request.items} == {ids["old1"], ids["old2"]}
    assert {image["Id"] for image in api.images()} >= {ids["old1"], ids["old2"]}  # nothing removed yet

    job = cleanup_request_approve(cleanup_request=request, actor=second_admin)
    removal_job_run(job_id=job.pk)
    remaining = {image["Id"] for image in api.images()}
    assert ids["old1"] not in remaining and ids["old2"] not in remaining
    assert {ids["prod"], ids["base"], ids["keep"], ids["running"], ids["stopped"], ids["fresh"]} <= remaining


def test_running_now_reports_drift_and_removes_nothing_when_the_engine_changed(admin_client, admin_user, priv):
    environment, api = priv
    ids = _fleet(api)
    policy = _policy(admin_user, environment)
    preview = admin_client.get(_url(policy))
    # After the preview, a container starts using one of the images it would remove.
    api.create_container(ids["old1"], command=["/bin/true"], host_config=api.create_host_config(network_mode="none"))
    before = {image["Id"] for image in api.images()}
    response = admin_client.post(_url(policy), {"snapshot": preview.context["snapshot_json"]})
    assert response.status_code == 409
    assert "the engine changed" in response.content.decode()
    assert {image["Id"] for image in api.images()} == before


def test_a_policy_that_would_remove_every_image_says_so_in_red(admin_client, admin_user, priv):
    environment, api = priv
    load_old_image(api, "lonely:1", OLD)
    policy = _policy(admin_user, environment, exclude_references="", exclude_labels="")
    response = admin_client.get(_url(policy))
    assert response.context["preview"].removes_everything
    assert 'id="removes-everything"' in response.content.decode()


def test_a_due_policy_runs_once_on_schedule_even_if_asked_twice(admin_user, priv):
    environment, api = priv
    ids = _fleet(api)
    _policy(admin_user, environment, interval_minutes=60)
    assert policies_run_due() == 1
    assert policies_run_due() == 0  # not due again for an hour
    remaining = {image["Id"] for image in api.images()}
    assert ids["old1"] not in remaining and ids["running"] in remaining


def test_a_deactivated_owners_policy_removes_nothing_and_says_why(admin_user, priv):
    environment, api = priv
    ids = _fleet(api)
    _policy(admin_user, environment, interval_minutes=60)
    type(admin_user).objects.filter(pk=admin_user.pk).update(is_active=False)
    policies_run_due()
    assert ids["old1"] in {image["Id"] for image in api.images()}
    events = AuditEvent.objects.filter(action="retention_policy_run")
    assert [(e.outcome, e.actor_name) for e in events] == [("denied", "policy:tidy")]


def test_a_damaged_preview_form_is_a_400_and_runs_nothing(admin_client, admin_user, priv):
    environment, api = priv
    ids = _fleet(api)
    policy = _policy(admin_user, environment)
    response = admin_client.post(_url(policy), {"snapshot": json.dumps({"not": "a list"})})
    assert response.status_code == 400
    assert ids["old1"] in {image["Id"] for image in api.images()}


# --- the form and who may use it ---------------------------------------------------------


GOOD = {"name": "nightly", "environment": "", "enabled": "on", "unused_days": "30", "action": "ask"}


@pytest.mark.parametrize(
    "field, value",
    [
        ("unused_days", "0"),
        ("unused_days", "99999"),
        ("unused_days", "-3"),
        ("keep_newest", "0"),
        ("keep_newest", "1001"),
        ("dangling_hours", "abc"),
        ("disk_budget_gb", "-1"),
        ("interval_minutes", "1"),
        ("interval_minutes", "1e9"),
        ("exclude_references", "prod-[a-z]*"),
        ("exclude_references", "a b"),
        ("exclude_references", "x\x00y"),
        ("exclude_labels", "berth keep=true"),
        ("exclude_labels", "=true"),
        ("exclude_labels", "k=\x07"),
        ("name", "../etc"),
        ("action", "delete_everything"),
        ("cron", "61 * * * *"),
        ("cron", "* * *"),
        ("cron", "*/0 * * * *"),
        ("cron", "; rm -rf / #"),
        ("cron", "0 0 32 * *"),
        ("cron", "a b c d e"),
    ],
)
def test_hostile_policy_input_is_a_form_error_and_saves_nothing(admin_client, environment, field, value):
    response = admin_client.post("/policies/new/", {**GOOD, field: value})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not RetentionPolicy.objects.exists()


def test_an_interval_and_a_cron_schedule_together_are_refused(admin_client, environment):
    response = admin_client.post("/policies/new/", {**GOOD, "interval_minutes": "60", "cron": "30 3 * * *"})
    assert response.status_code == 400
    assert "not both" in response.content.decode()


def test_a_cron_scheduled_policy_runs_when_its_time_has_come(admin_user, priv):
    environment, api = priv
    ids = _fleet(api)
    policy = _policy(admin_user, environment, cron="* * * * *")
    RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=timezone.now() - timedelta(minutes=2))
    assert policies_run_due() == 1
    assert ids["old1"] not in {image["Id"] for image in api.images()}
    RetentionPolicy.objects.filter(pk=policy.pk).update(enabled=False)
    nightly = _policy(admin_user, environment, name="nightly", cron="0 3 * * *")
    RetentionPolicy.objects.filter(pk=nightly.pk).update(last_run_at=timezone.now())
    assert policies_run_due() == 0  # ran a moment ago: not due before tomorrow 03:00


def test_a_policy_without_any_rule_is_refused(admin_client, environment):
    response = admin_client.post("/policies/new/", {**GOOD, "unused_days": ""})
    assert response.status_code == 400
    assert "at least one rule" in response.content.decode()


def test_saving_a_policy_is_audited(admin_client, environment):
    response = admin_client.post("/policies/new/", {**GOOD, "exclude_references": "prod-*", "disk_budget_gb": "1.5"})
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get()
    assert policy.disk_budget_bytes == 1_500_000_000
    event = AuditEvent.objects.get(action="retention_policy_created")
    assert event.parameters["exclude_references"] == ["prod-*"]


@pytest.mark.parametrize("client_name", ["viewer_client", "operator_client"])
def test_only_admins_see_and_change_policies(request, client_name, environment):
    client = request.getfixturevalue(client_name)
    assert client.get("/policies/").status_code == 403
    assert client.post("/policies/new/", GOOD).status_code == 403
    assert not RetentionPolicy.objects.exists()
