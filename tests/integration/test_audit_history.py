"""The history page, an event's page, per-object history and the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from images_app.audit_export import EXPORT_FIELDS
from images_app.models import AuditEvent
from images_app.selectors.audit import audit_events_for
from images_app.services.audit import audit_record


def csv_uncell(text: str) -> str:
    """Undo the export's formula guard (a leading quote), as a spreadsheet user would."""
    return text[1:] if text.startswith("'") else text


def record(**fields):
    fields.setdefault("action", "pull_requested")
    fields.setdefault("outcome", "success")
    return audit_record(**fields)


def listed_ids(response) -> list[int]:
    return [event.pk for event in response.context["page"].events]


@pytest.fixture
def history(db, operator, admin_user):
    """A small, varied history."""
    return {
        "pull_nginx": record(actor=operator, environment="local", target_reference="docker.io/library/nginx:1.25"),
        "pull_nginx_proxy": record(actor=operator, environment="local", target_reference="nginx-proxy:latest"),
        "failed": record(
            actor=operator, action="pull_failed", outcome="failure", environment="build", target_reference="redis:7"
        ),
        "removed": record(
            actor=admin_user,
            action="image_removed",
            environment="local",
            target_reference="alpine:3.19",
            target_image_id="sha256:" + "ab12" * 16,
        ),
        "system": record(action="cleanup_expired", outcome="info"),
    }


def test_viewer_sees_the_history_newest_first(viewer_client, history):
    response = viewer_client.get(reverse("audit_list"))
    assert response.status_code == 200
    ids = listed_ids(response)
    assert ids == sorted(ids, reverse=True)
    assert set(ids) >= {event.pk for event in history.values()}


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("audit_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "ada"}, {"removed"}),
        ({"action": "pull_failed"}, {"failed"}),
        ({"outcome": "info"}, {"system"}),
        ({"environment": "build"}, {"failed"}),
        ({"target": "nginx"}, {"pull_nginx", "pull_nginx_proxy"}),
        ({"target": "nginx:1.25"}, {"pull_nginx"}),
        ({"target": "docker.io/library/redis"}, {"failed"}),
        ({"target": "ab12ab12"}, {"removed"}),
        ({"target": "sha256:ab12ab12"}, {"removed"}),
        ({"actor": "otto", "environment": "local"}, {"pull_nginx", "pull_nginx_proxy"}),
    ],
)
def test_filters_select_exactly_the_matching_events(viewer_client, history, query, expected):
    response = viewer_client.get(reverse("audit_list"), query)
    assert response.status_code == 200
    assert set(listed_ids(response)) == {history[name].pk for name in expected}


def test_date_range_is_inclusive_of_both_days(viewer_client, history):
    today = timezone.localdate()
    response = viewer_client.get(reverse("audit_list"), {"date_from": today, "date_to": today})
    assert set(listed_ids(response)) >= {event.pk for event in history.values()}
    yesterday = today - dt.timedelta(days=1)
    response = viewer_client.get(reverse("audit_list"), {"date_to": yesterday})
    assert listed_ids(response) == []


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "not-a-date"},
        {"date_from": "2026-02-31"},
        {"date_from": "0001-01-01"},
        {"date_from": "2026-05-02", "date_to": "2026-05-01"},
        {"outcome": "maybe"},
        {"action": "DROP TABLE"},
        {"environment": "a b"},
        {"pull_job": "-1"},
        {"actor": "x" * 500},
    ],
)
def test_bad_filters_are_a_form_error_not_a_crash(viewer_client, history, query):
    response = viewer_client.get(reverse("audit_list"), query)
    assert response.status_code == 400
    assert b"Check the filters" in response.content


def test_pages_walk_older_and_back_newer_without_gaps(viewer_client, db, settings):
    settings.BERTH_PAGE_SIZE = 5
    for index in range(12):
        record(target_reference=f"repo:{index}")
    newest_first = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True))  # with the login event
    assert len(newest_first) == 13
    first = viewer_client.get(reverse("audit_list"))
    second = viewer_client.get(reverse("audit_list"), {"before": first.context["page"].older})
    third = viewer_client.get(reverse("audit_list"), {"before": second.context["page"].older})
    assert listed_ids(first) + listed_ids(second) + listed_ids(third) == newest_first
    assert third.context["page"].older is None
    back = viewer_client.get(reverse("audit_list"), {"after": third.context["page"].newer})
    assert listed_ids(back) == listed_ids(second)


def test_pagination_keeps_the_filters(viewer_client, db, settings):
    settings.BERTH_PAGE_SIZE = 5
    for index in range(8):
        record(action="pull_failed", outcome="failure", target_reference=f"a:{index}")
        record(target_reference=f"b:{index}")
    first = viewer_client.get(reverse("audit_list"), {"action": "pull_failed"})
    assert "action=pull_failed&amp;before=" in first.content.decode()
    second = viewer_client.get(reverse("audit_list"), {"action": "pull_failed", "before": first.context["page"].older})
    assert {e.action for e in second.context["page"].events} == {"pull_failed"}
    assert len(listed_ids(first)) + len(listed_ids(second)) == 8


def test_count_is_capped_instead_of_counting_everything(viewer_client, db, monkeypatch):
    monkeypatch.setattr("images_app.selectors.audit.COUNT_CAP", 3)
    for index in range(5):
        record(target_reference=f"c:{index}")
    response = viewer_client.get(reverse("audit_list"))
    assert response.context["count"] == 3 and response.context["count_capped"]
    assert "3+ events match" in response.content.decode()


def test_event_page_shows_parameters_and_message(viewer_client, operator):
    event = record(actor=operator, parameters={"force": True, "tags": ["a:1"]}, message="engine said no")
    response = viewer_client.get(reverse("audit_detail", kwargs={"pk": event.pk}))
    assert response.status_code == 200
    body = response.content.decode()
    assert "engine said no" in body and "force" in body and event.hash in body


def test_unknown_event_is_404(viewer_client, db):
    assert viewer_client.get(reverse("audit_detail", kwargs={"pk": 999999})).status_code == 404


def test_history_of_an_image_gathers_its_id_and_references(db):
    image_id = "sha256:" + "cd34" * 16
    by_id = record(action="image_removed", target_image_id=image_id)
    by_tag = record(target_reference="app:1")
    record(target_reference="other:1")
    events = audit_events_for(image_id=image_id, reference=["app:1", "app:2"])
    assert [event.pk for event in events] == [by_tag.pk, by_id.pk]


def test_events_partial_renders_the_given_events(viewer_client, history):
    from django.template.loader import render_to_string

    html = render_to_string("audit/_events.html", {"events": [history["failed"]], "all_url": "/audit/?x=1"})
    assert "pull_failed" in html and "redis:7" in html and "/audit/?x=1" in html
    assert f"/audit/{history['failed'].pk}/" in html


# --- export ------------------------------------------------------------------


def _db_rows(ids: list[int]) -> list[dict]:
    rows = []
    for values in AuditEvent.objects.filter(pk__in=ids).order_by("-created_at", "-id").values(*EXPORT_FIELDS):
        values["created_at"] = values["created_at"].isoformat()
        rows.append(values)
    return rows


def _body(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def test_jsonl_export_round_trips_what_the_filter_shows(admin_client, history):
    response = admin_client.get(reverse("audit_export", kwargs={"fmt": "jsonl"}), {"actor": "otto"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    parsed = [json.loads(line) for line in _body(response).decode().splitlines()]
    expected = [history[name].pk for name in ("failed", "pull_nginx_proxy", "pull_nginx")]
    assert parsed == _db_rows(expected)


def test_csv_export_round_trips_even_formula_like_values(admin_client, operator, db):
    sneaky = record(actor=operator, target_reference="=HYPERLINK(1)", message="'quoted", parameters={"k": [1, "x"]})
    plain = record(actor=operator, target_reference="alpine:3")
    response = admin_client.get(reverse("audit_export", kwargs={"fmt": "csv"}), {"actor": "otto"})
    assert response.status_code == 200
    reader = csv.DictReader(io.StringIO(_body(response).decode()))
    assert tuple(reader.fieldnames) == EXPORT_FIELDS
    parsed = list(reader)
    assert parsed[1]["target_reference"] == "'=HYPERLINK(1)"  # a spreadsheet shows text, not a formula
    for row, expected in zip(parsed, _db_rows([plain.pk, sneaky.pk]), strict=True):
        for name in EXPORT_FIELDS:
            value = csv_uncell(row[name])
            if name == "parameters":
                assert json.loads(value) == expected[name]
            elif expected[name] is None:
                assert value == ""
            else:
                assert value == str(expected[name])


def test_export_is_itself_audited_with_its_filters(admin_client, admin_user, history):
    admin_client.get(reverse("audit_export", kwargs={"fmt": "csv"}), {"outcome": "failure"})
    event = AuditEvent.objects.get(action="audit_exported")
    assert event.actor == admin_user and event.outcome == "success"
    assert event.parameters["format"] == "csv" and event.parameters["filters"] == {"outcome": "failure"}


def test_export_does_not_contain_its_own_event(admin_client, history):
    before = AuditEvent.objects.count()  # the history plus the admin's login
    body = _body(admin_client.get(reverse("audit_export", kwargs={"fmt": "jsonl"})))
    assert "audit_exported" not in body.decode()
    assert len(body.splitlines()) == before


@pytest.mark.parametrize("client_name", ["viewer_client", "operator_client"])
def test_only_admins_may_export(request, client_name, history):
    client = request.getfixturevalue(client_name)
    assert client.get(reverse("audit_export", kwargs={"fmt": "csv"})).status_code == 403
    assert not AuditEvent.objects.filter(action="audit_exported").exists()


def test_unknown_export_format_is_404(admin_client, db):
    assert admin_client.get("/audit/export.xlsx").status_code == 404


def test_export_with_bad_filters_is_400(admin_client, db):
    assert admin_client.get(reverse("audit_export", kwargs={"fmt": "csv"}), {"date_to": "nope"}).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_export_under_asgi_streams_chunk_by_chunk(admin_user, monkeypatch):
    """Under ASGI a sync iterator would be read whole into memory first: the view hands an async one."""
    monkeypatch.setattr("images_app.audit_export.CHUNK_ROWS", 10)
    for index in range(35):
        record(target_reference=f"s:{index}")
    client = AsyncClient()
    client.force_login(admin_user)
    expected = AuditEvent.objects.count()  # 35 and the login

    async def fetch():
        response = await client.get(reverse("audit_export", kwargs={"fmt": "jsonl"}))
        assert hasattr(response.streaming_content, "__anext__")
        return [chunk async for chunk in response.streaming_content]

    # A thread of its own: the browser tests' Playwright loop may be running in this one,
    # and async_to_sync refuses to run beside a live event loop.
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import async_to_sync

    with ThreadPoolExecutor(1) as pool:
        chunks = pool.submit(async_to_sync(fetch)).result(timeout=60)
    assert len(chunks) == 4
    assert sum(len(chunk.splitlines()) for chunk in chunks) == expected == 36


def test_event_page_names_the_job_and_request_it_belongs_to(viewer_client, operator, environment):
    from images_app.models import CleanupRequest, PullJob, RemovalJob

    pull = PullJob.objects.create(environment=environment, reference="alpine:3", requested_by=operator)
    cleanup = CleanupRequest.objects.create(
        environment=environment, reason="disk full", requested_by=operator, expires_at=timezone.now()
    )
    removal = RemovalJob.objects.create(environment=environment, created_by=operator, cleanup_request=cleanup)
    event = record(actor=operator, pull_job=pull, cleanup_request=cleanup, removal_job=removal)
    response = viewer_client.get(reverse("audit_detail", kwargs={"pk": event.pk}))
    assert response.status_code == 200
    body = response.content.decode()
    assert str(pull) in body and str(cleanup) in body and str(removal) in body
    assert [e.pk for e in audit_events_for(pull_job=pull)] == [event.pk]
    assert [e.pk for e in audit_events_for(cleanup_request=cleanup.pk)] == [event.pk]
    listed = viewer_client.get(reverse("audit_list"), {"removal_job": removal.pk})
    assert listed_ids(listed) == [event.pk]


def _export_peak(client, query: dict) -> tuple[int, int]:
    """(bytes exported, peak bytes allocated while streaming them)."""
    import tracemalloc

    response = client.get(reverse("audit_export", kwargs={"fmt": "jsonl"}), query)
    total = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return total, peak


def test_export_memory_does_not_grow_with_its_size(admin_client, db, monkeypatch):
    """Three times the rows, about the same peak memory: the export is streamed, not built."""
    from bench.audit import _seed

    monkeypatch.setattr("images_app.audit_export.CHUNK_ROWS", 500)
    _seed(12_000)  # spread evenly over three environments
    small_total, small_peak = _export_peak(admin_client, {"environment": "local"})
    big_total, big_peak = _export_peak(admin_client, {})
    assert big_total > 2.5 * small_total > 5_000_000
    assert big_peak < 1.3 * small_peak, f"{small_peak} -> {big_peak} bytes"
    assert big_peak < big_total / 3


@pytest.mark.django_db(transaction=True)
def test_export_streams_through_the_real_asgi_server(live_url, make_user):
    from tests.integration.conftest import login_session

    make_user("ada", "admin")
    for index in range(30):
        record(target_reference=f"live:{index}")
    session = login_session(live_url, "ada")
    expected = AuditEvent.objects.count()
    response = session.get(live_url + "/audit/export.jsonl", params={"target": "live:"}, stream=True, timeout=30)
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.iter_lines() if line]
    assert len(lines) == 30 < expected
    assert {line["target_reference"] for line in lines} == {f"live:{index}" for index in range(30)}


# --- authentication events ------------------------------------------------------------


def test_login_logout_and_failed_login_each_leave_one_event(client, viewer):
    client.post("/login/", {"username": "vera", "password": "wrong"}, REMOTE_ADDR="10.1.2.3")
    client.post("/login/", {"username": "vera", "password": "correct-horse-battery-staple"}, REMOTE_ADDR="10.1.2.3")
    client.post("/logout/", REMOTE_ADDR="10.1.2.3")
    failed, login, logout = AuditEvent.objects.order_by("id")
    assert (failed.action, failed.outcome, failed.actor_id, failed.actor_name) == (
        "login",
        "failure",
        None,
        "anonymous",
    )
    assert failed.parameters == {"username": "vera"} and "password" not in json.dumps(failed.parameters)
    assert (login.action, login.outcome, login.actor) == ("login", "success", viewer)
    assert (logout.action, logout.outcome, logout.actor) == ("logout", "success", viewer)
    assert {failed.client_address, login.client_address, logout.client_address} == {"10.1.2.3"}


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9, 10.0.0.1", "203.0.113.9"),
        ("unknown", None),
        ("::FFFF:1.2.3.4", "1.2.3.4"),
        ("2001:DB8::1", "2001:db8::1"),
    ],
)
def test_forwarded_client_address_is_validated_behind_a_proxy(rf, settings, forwarded, expected):
    from images_app.services.audit import client_address

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_secrets_never_reach_the_history(db):
    event = record(
        parameters={"registry": "r", "password": "p", "nested": {"token": "t", "ok": 1}, "items": [{"auth": 1}]}
    )
    assert event.parameters == {"registry": "r", "nested": {"ok": 1}, "items": [{}]}
    assert AuditEvent.objects.get(pk=event.pk).parameters == event.parameters


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"outcome": "denied", "environment": "prod"}, "audit_outcome_time"),
        ({"action": "user_role_changed", "environment": "build"}, "audit_action_time"),
        ({"actor": "ada", "outcome": "failure"}, "audit_actor_time"),
    ],
)
def test_sqlite_walks_the_most_selective_index(db, filters, index):
    """The planner hints installed after migrate steer SQLite away from the low-cardinality indexes."""
    from django.db import connection

    from images_app.selectors.audit import AuditFilters, audit_events_filtered

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's planner only")
    plan = audit_events_filtered(AuditFilters(**filters))[:51].explain()
    assert index in plan


def test_any_filter_input_is_a_page_or_a_form_error(viewer_client):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    names = ["actor", "action", "outcome", "environment", "target", "date_from", "date_to", "pull_job", "before"]
    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(names), text, max_size=4))
    def check(query: dict) -> None:
        assert viewer_client.get(reverse("audit_list"), query).status_code in (200, 400)

    check()


def test_the_action_filter_offers_exactly_the_actions_berth_records(viewer_client, db):
    import re

    from images_app.models import AuditAction

    html = viewer_client.get(reverse("audit_list")).content.decode()
    datalist = re.search(r'<datalist id="audit-actions">(.*?)</datalist>', html, re.S).group(1)
    offered = re.findall(r'<option value="([^"]+)">', datalist)
    assert sorted(offered) == sorted(AuditAction.values)
    assert {"login_locked_out", "pull_cancel", "pull_cancel_requested", "image_remove_failed"} <= set(offered)
    assert not {"pull_started", "images_pruned", "removal_bulk"} & set(offered)


def test_the_filters_show_back_what_was_asked_escaped(admin_client):
    # The inputs are written out in the template (Django's widget templates cost a fifth of the
    # page): each must still show the request's value, escaped, and the chosen option.
    html = admin_client.get(
        "/audit/",
        {
            "actor": '"><script>x</script>',
            "outcome": "failure",
            "target": "app:1",
            "date_from": "2026-01-02",
            "date_to": "2026-02-03",
            "pull_job": "7",
        },
    ).content.decode()
    assert 'id="id_actor" value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in html
    assert "<script>x" not in html
    assert '<option value="failure" selected>' in html and html.count(" selected>") == 1
    assert 'name="target" id="id_target" value="app:1"' in html
    assert 'id="id_date_from" value="2026-01-02"' in html and 'id="id_date_to" value="2026-02-03"' in html
    assert 'name="pull_job" id="id_pull_job" value="7"' in html
    assert 'name="cleanup_request" id="id_cleanup_request">' in html  # no value when none was asked

    blank = admin_client.get("/audit/").content.decode()
    assert '<option value="" selected>Any outcome</option>' in blank


def test_the_images_status_filter_shows_the_chosen_status(admin_client):
    html = admin_client.get("/env/local/images/", {"status": "unused"}).content.decode()
    assert '<select name="status" id="id_status">' in html
    assert '<option value="unused" selected>' in html and html.count(" selected>") == 1
    blank = admin_client.get("/env/local/images/").content.decode()
    assert '<option value="" selected>Any status</option>' in blank
