"""Every API endpoint through the real ASGI server over HTTP, on the real engine, registry, Redis and worker.

The oracle is the engine (the SDK) and the rows the same services write for the pages.
"""

from __future__ import annotations

import time

import pytest

from images_app.models import AuditEvent, CleanupRequest, Environment, PullJob, Registry
from images_app.models.cleanup import RemovalKind
from images_app.services import removal
from images_app.services.audit import audit_record
from images_app.services.cleanup_requests import cleanup_request_create
from tests.integration.conftest import start_web_server
from tests.integration.support.api import api_client, token_for
from tests.integration.support.fake_index import PlantedResult, start_fake_index
from tests.integration.support.pulls import collect_stream, push_image
from tests.integration.support.removal import image_exists

pytestmark = pytest.mark.usefixtures("transactional_db")

V1 = "/api/v1"
ENV = V1 + "/environments/local"


@pytest.fixture
def as_viewer(live_url, viewer):
    return api_client(token_for(viewer))


@pytest.fixture
def as_operator(live_url, operator):
    return api_client(token_for(operator))


@pytest.fixture
def as_admin(live_url, admin_user):
    return api_client(token_for(admin_user))


@pytest.fixture
def as_second_admin(live_url, second_admin):
    return api_client(token_for(second_admin))


def _via_api(event: AuditEvent) -> bool:
    return event.parameters.get("via") == "api" and event.parameters.get("api_token", "").startswith("tests (")


# --- environments, images -------------------------------------------------------------------


def test_environments_are_the_configured_engines(live_url, as_viewer, environment):
    response = as_viewer.get(live_url + V1 + "/environments/", timeout=10)
    assert response.status_code == 200
    assert response.json() == [{"name": "local", "is_default": True, "is_sandbox": False}]


def test_the_images_list_is_docker_image_ls_with_in_use_counts(
    live_url, as_viewer, environment, images, unique_name, start_container, docker_api
):
    name = unique_name("apils")
    used = images.build(f"{name}-a:v1", busybox=True)
    images.tag(used, f"{name}-a:v2")
    unused = images.build(f"{name}-b:v1", busybox=False)
    start_container(used)
    response = as_viewer.get(
        live_url + ENV + "/images/", params={"q": name, "sort": "repository", "order": "asc"}, timeout=10
    )
    assert response.status_code == 200
    body = response.json()
    rows = {(r["repository"], r["tag"]): r for r in body["results"]}
    # The oracle: what the engine lists under these names.
    engine = {t for i in docker_api.images() for t in i["RepoTags"] or [] if t.startswith(name)}
    assert {f"{repo}:{tag}" for repo, tag in rows} == engine
    a1 = rows[(f"{name}-a", "v1")]
    assert a1["id"] == used and a1["status"] == "in_use" and a1["stopped_containers"] == 1
    assert a1["other_tags"] == [f"{name}-a:v2"] and a1["tag_count"] == 2
    assert rows[(f"{name}-b", "v1")]["status"] == "unused" and rows[(f"{name}-b", "v1")]["id"] == unused
    assert body["count"] == 3 and body["page"] == 1 and body["filtered"] is True
    assert body["totals"]["images"] == 2 and body["totals"]["in_use"] == 1
    assert [r["repository"] for r in body["results"]] == sorted(r["repository"] for r in body["results"])


def test_the_images_list_takes_the_pages_filters_and_refuses_bad_ones_with_the_field(
    live_url, as_viewer, environment, images, unique_name
):
    name = unique_name("apifl")
    images.build(f"{name}:v1", busybox=False, labels={"team": "blue"})
    images.build(f"{name}:v2", busybox=False)
    only_blue = as_viewer.get(live_url + ENV + "/images/", params={"q": name, "label": "team=blue"}, timeout=10)
    assert [r["tag"] for r in only_blue.json()["results"]] == ["v1"]
    unused = as_viewer.get(live_url + ENV + "/images/", params={"q": name, "status": "unused"}, timeout=10).json()
    assert unused["count"] == 2
    bad = as_viewer.get(live_url + ENV + "/images/", params={"before": "nosuchimage:v9"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["field"] == "before"
    wrong = as_viewer.get(live_url + ENV + "/images/", params={"sort": "bogus"}, timeout=10)
    assert (wrong.status_code, wrong.json()["code"], wrong.json()["field"]) == (400, "invalid", "sort")


def test_the_images_list_pages_as_the_page_does(live_url, process_dir, viewer, environment, images, unique_name):
    name = unique_name("apipg")
    base = images.build(f"{name}:t0", busybox=False)
    for n in range(1, 7):
        images.tag(base, f"{name}:t{n}")
    proc, url = start_web_server(process_dir, {"BERTH_PAGE_SIZE": "5"})
    try:
        client = api_client(token_for(viewer))
        pages = [
            client.get(
                url + ENV + "/images/", params={"q": name, "sort": "tag", "order": "asc", "page": p}, timeout=10
            ).json()
            for p in (1, 2, 99)
        ]
    finally:
        proc.stop()
    first, second, beyond = pages
    assert (first["count"], first["pages"], first["page_size"]) == (7, 2, 5)
    assert [r["tag"] for r in first["results"]] == ["t0", "t1", "t2", "t3", "t4"]
    assert [r["tag"] for r in second["results"]] == ["t5", "t6"]
    # As the page: a page number past the end shows the last page.
    assert beyond["page"] == 2 and beyond["results"] == second["results"]


def test_one_image_has_inspect_history_containers_and_unique_size(
    live_url, as_viewer, environment, images, unique_name, start_container, docker_api
):
    image_id = images.build(f"{unique_name('apiimg')}:v1", layers=[4096])
    container = start_container(image_id)
    response = as_viewer.get(f"{live_url}{ENV}/images/{image_id.removeprefix('sha256:')[:12]}/", timeout=30)
    assert response.status_code == 200
    body = response.json()
    inspect = docker_api.inspect_image(image_id)
    assert body["id"] == image_id and body["layers"] == inspect["RootFS"]["Layers"]
    assert len(body["history"]) == len(docker_api.history(image_id))
    assert [c["id"] for c in body["containers"]] == [container]
    assert body["disk"]["unique_size"] > 0 and body["status"] == "in_use"
    missing = as_viewer.get(f"{live_url}{ENV}/images/{'0' * 12}/", timeout=10)
    assert (missing.status_code, missing.json()["code"]) == (404, "image_not_found")


def test_unknown_environments_and_endpoints_are_json_404s(live_url, as_viewer):
    response = as_viewer.get(live_url + V1 + "/environments/nowhere/images/", timeout=10)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = as_viewer.get(live_url + V1 + "/nothing-here/", timeout=10)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_an_engine_that_does_not_answer_is_a_503_as_on_the_pages(live_url, as_viewer, environment):
    Environment.objects.create(name="gone", docker_host="unix:///tmp/berth-no-such-engine.sock")
    response = as_viewer.get(live_url + V1 + "/environments/gone/images/", timeout=30)
    assert response.status_code == 503
    assert response.json()["code"] == "engine_unavailable"


# --- pulls ------------------------------------------------------------------------------------


def test_pull_create_validates_dedupes_lists_cancels_and_streams(live_url, as_operator, operator, environment):
    url = live_url + ENV + "/pulls/"
    bad = as_operator.post(url, json={"reference": "UPPER/case:tag"}, timeout=10)
    assert (bad.status_code, bad.json()["field"]) == (400, "reference")
    created = as_operator.post(url, json={"reference": "localhost:1/api-new:v1"}, timeout=10)
    assert created.status_code == 201 and created.json()["joined"] is False
    assert created.json()["reference"] == "localhost:1/api-new:v1" and created.json()["requested_by"] == "otto"
    # A pull already active for a reference (queued, with no task sent: no worker will touch it)...
    active = PullJob.objects.create(
        environment=environment, reference="localhost:1/api-queued:v1", requested_by=operator
    )
    pk = active.pk
    # ...is joined, not doubled (the page's dedupe).
    again = as_operator.post(url, json={"reference": "localhost:1/api-queued:v1"}, timeout=10)
    assert again.status_code == 200 and again.json()["joined"] is True and again.json()["id"] == pk
    listed = as_operator.get(url, timeout=10).json()
    assert pk in [p["id"] for p in listed["running"]]
    detail = as_operator.get(f"{url}{pk}/", timeout=10).json()
    assert detail["status"] == "queued" and detail["state"]["status"] == "queued" and detail["can_cancel"]
    cancelled = as_operator.post(f"{url}{pk}/cancel/", timeout=10)
    assert cancelled.json()["outcome"] == "cancelled" and cancelled.json()["pull"]["status"] == "cancelled"
    stream = as_operator.get(f"{url}{pk}/events/", headers={"Accept": "text/event-stream"}, timeout=10, stream=True)
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    text = stream.text
    assert "event: snapshot" in text and "event: end" in text and '"cancelled"' in text
    events = AuditEvent.objects.filter(pull_job_id=pk).order_by("id")
    assert [e.action for e in events] == ["pull_requested", "pull_cancelled"]
    assert all(_via_api(e) for e in events)
    assert _via_api(AuditEvent.objects.get(pull_job_id=created.json()["id"], action="pull_requested"))


def test_a_pull_through_the_api_lands_in_the_engine_and_streams_its_progress(
    live_url, as_operator, environment, celery_worker_process, images, docker_api, registry_host, unique_name
):
    name = push_image(images, docker_api, registry_host, unique_name("apipull"), layers=[2_000_000, 2_000_000])
    created = as_operator.post(live_url + ENV + "/pulls/", json={"reference": f"{registry_host}/{name}"}, timeout=10)
    assert created.status_code == 201
    pk = created.json()["id"]
    # The pull page's own stream, through the API: a snapshot first, then live events, then the end.
    events = collect_stream(as_operator, live_url + created.json()["events_url"], timeout=90)
    assert events[0][0] == "snapshot" and events[-1][0] == "end"
    status = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and status not in ("succeeded", "failed"):
        status = as_operator.get(f"{live_url}{ENV}/pulls/{pk}/", timeout=10).json()["status"]
        time.sleep(0.2)
    assert status == "succeeded"
    image_id = as_operator.get(f"{live_url}{ENV}/pulls/{pk}/", timeout=10).json()["image_id"]
    images.created.append(image_id)
    assert image_exists(docker_api, image_id)
    assert AuditEvent.objects.filter(pull_job_id=pk, action="pull_succeeded").exists()


def test_a_pull_with_redis_down_is_a_503_and_leaves_no_job(live_url, process_dir, operator, environment):
    proc, url = start_web_server(process_dir, {"REDIS_URL": "redis://127.0.0.1:9/0"})
    try:
        response = api_client(token_for(operator)).post(
            url + ENV + "/pulls/", json={"reference": "localhost:1/no-redis:v1"}, timeout=30
        )
    finally:
        proc.stop()
    assert response.status_code == 503
    assert response.json()["code"] == "broker_unavailable"
    assert not PullJob.objects.filter(reference__contains="no-redis").exists()


# --- removal and requests --------------------------------------------------------------------


def _preview(client, live_url: str, **params):
    response = client.get(live_url + ENV + "/removals/preview/", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_admin_previews_then_removes_exactly_that_plan(live_url, as_admin, environment, images, unique_name):
    tag = f"{unique_name('apirm')}:v1"
    image_id = images.build(tag, busybox=False)
    preview = _preview(as_admin, live_url, ref=tag)
    assert preview["mode"] == "remove" and preview["items"][0]["action"] == "delete"
    assert preview["snapshot"] == removal.items_to_json(
        removal.removal_plan(environment=environment, refs=[tag]).snapshot(force=False)
    )
    done = as_admin.post(
        live_url + ENV + "/removals/", json={"refs": [tag], "snapshot": preview["snapshot"]}, timeout=30
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["outcome"] == "removed" and body["job"]["results"][0]["outcome"] == "removed"
    assert not image_exists(images.api, image_id)
    job = as_admin.get(f"{live_url}{ENV}/removals/{body['job']['id']}/", timeout=10).json()
    assert job["status"] == "succeeded" and job["summary"]["removed"] == 1
    event = AuditEvent.objects.get(action="image_removed", target_image_id=image_id)
    assert _via_api(event)


def test_drift_since_the_preview_is_a_409_saying_what_changed(
    live_url, as_admin, environment, images, unique_name, start_container
):
    tag = f"{unique_name('apidrift')}:v1"
    image_id = images.build(tag, busybox=True)
    preview = _preview(as_admin, live_url, ref=tag)
    start_container(image_id)
    response = as_admin.post(
        live_url + ENV + "/removals/", json={"refs": [tag], "snapshot": preview["snapshot"]}, timeout=30
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "plan_changed" and any("container was created" in c for c in body["changes"])
    assert image_exists(images.api, image_id)


def test_force_confirm_name_and_reason_are_asked_for_with_their_field(
    live_url, as_admin, as_operator, environment, images, unique_name, start_container
):
    tag = f"{unique_name('apiforce')}:v1"
    image_id = images.build(tag, busybox=True)
    start_container(image_id)
    preview = _preview(as_admin, live_url, ref=tag)
    assert preview["needs_force"] is True
    unforced = as_admin.post(
        live_url + ENV + "/removals/", json={"refs": [tag], "snapshot": preview["snapshot"]}, timeout=30
    )
    assert (unforced.status_code, unforced.json()["code"], unforced.json()["field"]) == (400, "force_required", "force")
    op_preview = _preview(as_operator, live_url, ref=tag)
    no_reason = as_operator.post(
        live_url + ENV + "/removals/",
        json={"refs": [tag], "snapshot": op_preview["snapshot"], "force": True},
        timeout=30,
    )
    assert (no_reason.status_code, no_reason.json()["field"]) == (400, "reason")
    everything = _preview(as_admin, live_url, kind="remove_all")
    unnamed = as_admin.post(
        live_url + ENV + "/removals/", json={"kind": "remove_all", "snapshot": everything["snapshot"]}, timeout=60
    )
    assert unnamed.status_code in (400, 409)
    if unnamed.status_code == 400:
        assert unnamed.json()["field"] == "confirm_name"
    assert image_exists(images.api, image_id)
    malformed = as_admin.post(live_url + ENV + "/removals/", json={"refs": [tag], "snapshot": "no"}, timeout=10)
    assert (malformed.status_code, malformed.json()["field"]) == (400, "snapshot")


def test_an_operators_removal_is_a_request_another_admin_approves(
    live_url, as_operator, as_admin, operator, admin_user, environment, images, unique_name
):
    tag = f"{unique_name('apireq')}:v1"
    image_id = images.build(tag, busybox=False)
    preview = _preview(as_operator, live_url, ref=tag)
    assert preview["mode"] == "request"
    asked = as_operator.post(
        live_url + ENV + "/removals/",
        json={"refs": [tag], "snapshot": preview["snapshot"], "reason": "ci: superseded"},
        timeout=30,
    )
    assert asked.status_code == 201, asked.text
    req = asked.json()["request"]
    assert asked.json()["outcome"] == "requested" and req["status"] == "pending" and req["reason"] == "ci: superseded"
    assert image_exists(images.api, image_id)
    assert req["id"] in [
        r["id"] for r in as_operator.get(live_url + V1 + "/requests/?status=pending").json()["results"]
    ]
    detail = as_operator.get(f"{live_url}{V1}/requests/{req['id']}/", timeout=30).json()
    assert detail["now"][0]["changes"] == [] and detail["may_approve"] is False
    refused = as_operator.post(f"{live_url}{V1}/requests/{req['id']}/approve/", timeout=10)
    assert refused.status_code == 403
    approved = as_admin.post(f"{live_url}{V1}/requests/{req['id']}/approve/", timeout=30)
    assert approved.status_code == 200, approved.text
    assert approved.json()["request"]["status"] == "executed"
    assert not image_exists(images.api, image_id)
    twice = as_admin.post(f"{live_url}{V1}/requests/{req['id']}/approve/", timeout=10)
    assert (twice.status_code, twice.json()["code"]) == (409, "not_pending")
    assert _via_api(AuditEvent.objects.get(action="cleanup_requested", cleanup_request_id=req["id"]))
    assert _via_api(AuditEvent.objects.get(action="cleanup_approved", cleanup_request_id=req["id"], outcome="success"))


def test_nobody_approves_their_own_request_four_eyes(
    live_url, as_admin, admin_user, as_second_admin, environment, images, unique_name
):
    tag = f"{unique_name('api4eyes')}:v1"
    images.build(tag, busybox=False)
    plan = removal.removal_plan(environment=environment, refs=[tag])
    items = removal.removal_confirm(plan=plan, snapshot=plan.snapshot(force=False), force=False)
    own = cleanup_request_create(
        environment=environment, kind=RemovalKind.REMOVE, items=items, reason="mine", actor=admin_user
    )
    refused = as_admin.post(f"{live_url}{V1}/requests/{own.pk}/approve/", timeout=10)
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action="cleanup_approved", outcome="denied", cleanup_request=own).exists()
    blank = as_second_admin.post(f"{live_url}{V1}/requests/{own.pk}/reject/", json={"note": "  "}, timeout=10)
    assert (blank.status_code, blank.json()["field"]) == (400, "note")
    rejected = as_second_admin.post(f"{live_url}{V1}/requests/{own.pk}/reject/", json={"note": "keep it"}, timeout=10)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert CleanupRequest.objects.get(pk=own.pk).decision_note == "keep it"


# --- search, registries, audit ------------------------------------------------------------------


def test_search_asks_a_registered_index_through_the_engine(live_url, as_viewer, admin_user, environment):
    index = start_fake_index(PlantedResult("acme/tool", "A tool", star_count=7))
    try:
        registry = Registry.objects.create(name="api-index", url=index.host, created_by=admin_user)
        response = as_viewer.get(
            live_url + ENV + "/search/", params={"term": "tool", "index": registry.pk, "refresh": "true"}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert [r["name"] for r in response.json()["results"]] == ["acme/tool"]
        bad = as_viewer.get(live_url + ENV + "/search/", params={"term": "evil.example.com/x"}, timeout=10)
        assert (bad.status_code, bad.json()["field"]) == (400, "term")
    finally:
        index.stop()


def test_registries_are_managed_by_admins_and_passwords_are_write_only(live_url, as_admin, as_operator):
    url = live_url + V1 + "/registries/"
    denied = as_operator.post(url, json={"name": "nope", "url": "localhost:5990"}, timeout=10)
    assert denied.status_code == 403
    assert AuditEvent.objects.filter(action="registry_added", outcome="denied").exists()
    created = as_admin.post(
        url, json={"name": "private", "url": "localhost:5991", "username": "ci", "password": "s3cret-pw"}, timeout=10
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_password"] is True and "password" not in body and "s3cret-pw" not in created.text
    assert "s3cret-pw" not in as_operator.get(url, timeout=10).text
    duplicate = as_admin.post(url, json={"name": "again", "url": "localhost:5991"}, timeout=10)
    assert (duplicate.status_code, duplicate.json()["field"]) == (400, "url")
    changed = as_admin.put(f"{url}{body['id']}/", json={"name": "private", "url": "localhost:5992", "username": "ci"})
    assert changed.status_code == 200 and changed.json()["url"] == "localhost:5992"
    assert changed.json()["has_password"] is True  # an empty password keeps the stored one
    assert as_admin.delete(f"{url}{body['id']}/", timeout=10).status_code == 204
    assert not Registry.objects.filter(pk=body["id"]).exists()
    assert all(_via_api(e) for e in AuditEvent.objects.filter(action__startswith="registry_", outcome="success"))


def test_audit_events_filter_page_by_cursor_and_export(live_url, as_viewer, as_admin, admin_user):
    for n in range(60):
        audit_record(action="registry_changed", outcome="info", actor=admin_user, target_reference=f"probe-{n}")
    url = live_url + V1 + "/audit/events/"
    first = as_viewer.get(url, params={"action": "registry_changed"}, timeout=10).json()
    assert first["count"] == 60 and len(first["results"]) == 50 and first["older"] is not None
    second = as_viewer.get(url, params={"action": "registry_changed", "before": first["older"]}, timeout=10).json()
    assert len(second["results"]) == 10 and second["older"] is None
    seen = [e["target_reference"] for e in first["results"] + second["results"]]
    assert sorted(seen) == sorted(f"probe-{n}" for n in range(60))
    one = as_viewer.get(f"{url}{first['results'][0]['id']}/", timeout=10).json()
    assert one["target_reference"] == "probe-59" and len(one["hash"]) == 64
    bad = as_viewer.get(url, params={"date_from": "yesterday"}, timeout=10)
    assert (bad.status_code, bad.json()["field"]) == (400, "date_from")
    assert as_viewer.get(live_url + V1 + "/audit/export/jsonl/", timeout=10).status_code == 403
    export = as_admin.get(live_url + V1 + "/audit/export/jsonl/", params={"action": "registry_changed"}, timeout=30)
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("application/x-ndjson")
    assert len(export.text.strip().splitlines()) == 60
    assert _via_api(AuditEvent.objects.get(action="audit_exported"))


def test_too_many_requests_for_one_token_are_429_with_retry_after(live_url, process_dir, viewer, operator):
    proc, url = start_web_server(process_dir, {"BERTH_API_RATE_LIMIT": "3", "BERTH_API_RATE_WINDOW": "30"})
    try:
        busy = api_client(token_for(viewer, name="busy"))
        statuses = [busy.get(url + V1 + "/me/", timeout=10).status_code for _ in range(5)]
        other = api_client(token_for(operator, name="other")).get(url + V1 + "/me/", timeout=10)
        last = busy.get(url + V1 + "/me/", timeout=10)
    finally:
        proc.stop()
    assert statuses == [200, 200, 200, 429, 429]
    assert last.json()["code"] == "throttled" and 1 <= int(last.headers["Retry-After"]) <= 31
    assert other.status_code == 200  # per token: another token has its own count


def test_read_only_mode_refuses_api_changes_as_json(live_url, process_dir, operator, environment):
    proc, url = start_web_server(process_dir, {"BERTH_READ_ONLY": "1"})
    try:
        client = api_client(token_for(operator))
        refused = client.post(url + ENV + "/pulls/", json={"reference": "localhost:1/ro:v1"}, timeout=10)
        reads = client.get(url + ENV + "/pulls/", timeout=10)
    finally:
        proc.stop()
    assert refused.status_code == 403
    assert refused.json()["code"] == "read_only_mode"
    assert reads.status_code == 200
    assert not PullJob.objects.filter(reference__contains="/ro:v1").exists()


def test_a_removal_of_what_is_already_gone_does_nothing_and_says_so(
    live_url, as_admin, environment, images, unique_name
):
    tag = f"{unique_name('apigone')}:v1"
    image_id = images.build(tag, busybox=False)
    preview = _preview(as_admin, live_url, ref=tag)
    images.api.remove_image(image_id, force=True)
    response = as_admin.post(
        live_url + ENV + "/removals/", json={"refs": [tag], "snapshot": preview["snapshot"]}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "nothing" and "already gone" in response.json()["message"]
    assert not AuditEvent.objects.filter(action="image_removed", target_image_id=image_id).exists()
