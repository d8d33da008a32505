"""The reads every request makes, prepared once (selectors.prepared), return what their ORM queries return.

Each prepared read replaces one ORM query on the hot path of every page: the session, the
user, the user's role and permissions, the environment with its watch, update run and
inventory rows, the running pulls. These tests hold each to the ORM's answer, field by field,
on the test database (SQLite, or PostgreSQL with `make test DB=postgres`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from images_app import sessions
from images_app.environments import environment_for_page
from images_app.models import Environment, Inventory, PullJob, UpdateRun, WatchState
from images_app.roles import ADMIN, OPERATOR, VIEWER, RoleBackend, _grants
from images_app.selectors.prepared import PreparedRows
from images_app.selectors.pulls import pulls_running, pulls_running_banner


def _values(row: models.Model) -> dict[str, Any]:
    """Every field the row holds (deferred ones left out), by attribute name."""
    loaded = row.get_deferred_fields()
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if f.attname not in loaded}


def test_a_live_session_reads_as_django_reads_it_and_an_expired_or_unknown_one_as_none(db):
    store = sessions.SessionStore()
    store["answer"] = 42
    store.create()
    key = store.session_key

    fresh = sessions.SessionStore(key)
    assert fresh["answer"] == 42 and fresh.session_key == key
    read = fresh._get_session_from_db()
    assert read is not None and _values(read) == _values(Session.objects.get(session_key=key))
    assert read.expire_date.tzinfo is not None  # converted as the ORM converts it, not SQLite's text

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = sessions.SessionStore(key)
    assert expired.load() == {} and expired.session_key is None  # as Django's: a new key next time
    assert sessions.SessionStore("x" * 32).load() == {}


def test_the_backend_reads_a_user_as_the_orm_does_and_refuses_an_inactive_one(make_user):
    user = make_user("pia", VIEWER, first_name="Pia", email="pia@example.test")
    user.last_login = timezone.now()
    user.save()

    read = RoleBackend().get_user(user.pk)
    assert read is not None and _values(read) == _values(get_user_model().objects.get(pk=user.pk))
    assert read.get_session_auth_hash() == user.get_session_auth_hash()

    user.is_active = False
    user.save()
    assert RoleBackend().get_user(user.pk) is None
    assert RoleBackend().get_user(10**9) is None


@pytest.mark.parametrize("role", [VIEWER, OPERATOR, ADMIN, None])
def test_roles_and_permissions_read_in_one_statement_equal_the_orms(make_user, role):
    user = make_user(f"role-{role}", role)
    if role == ADMIN:
        user.groups.add(Group.objects.get(name=VIEWER))  # a second group: the rows of both come
    expected = set(user.groups.values_list("name", "permissions__content_type__app_label", "permissions__codename"))

    grants = _grants(get_user_model().objects.get(pk=user.pk))

    assert grants.roles == {name for name, _, _ in expected}
    assert grants.permissions == {f"{app}.{code}" for _, app, code in expected if code is not None}
    if role in (OPERATOR, ADMIN):
        assert "images_app.pull_image" in grants.permissions


def _page_rows(environment: Environment) -> dict[str, dict[str, Any] | None]:
    return {
        relation: (None if getattr(environment, relation, None) is None else _values(getattr(environment, relation)))
        for relation in ("watch", "update_run", "inventory")
    }


def test_an_environment_page_reads_the_environment_and_its_three_rows_as_select_related_does(environment, viewer):
    def orm(name: str) -> Environment:
        return (
            Environment.objects.select_related("watch", "update_run", "inventory")
            .defer("inventory__images", "inventory__containers")
            .get(name=name)
        )

    # No watch, update run or inventory yet: each is None, and no query asks for it again.
    page = environment_for_page(environment.name)
    assert _values(page) == _values(orm(environment.name))
    with CaptureQueriesContext(connection) as later:
        assert _page_rows(page) == {"watch": None, "update_run": None, "inventory": None}
    assert later.captured_queries == []

    now = timezone.now()
    WatchState.objects.create(environment=environment, holder="h:1:t", heartbeat_at=now, last_event_nano=7)
    UpdateRun.objects.create(environment=environment, started_at=now, requested_by=viewer, tags_checked=3)
    Inventory.objects.create(environment=environment, version=5, images=b"big", heartbeat_at=now, image_count=2)

    page = environment_for_page(environment.name)
    with CaptureQueriesContext(connection) as later:
        rows = _page_rows(page)
        assert page.inventory.environment is page  # and back, as select_related leaves it
    assert later.captured_queries == []
    assert rows == _page_rows(orm(environment.name))
    assert rows["inventory"] is not None and "images" not in rows["inventory"]  # the lists stay unread
    assert rows["inventory"]["heartbeat_at"] == now and rows["watch"]["last_event_nano"] == 7


def test_the_running_pulls_banner_lists_what_the_orm_lists_oldest_first_at_most_ten(environment, operator):
    statuses = [PullJob.Status.QUEUED, PullJob.Status.RUNNING, PullJob.Status.SUCCEEDED, PullJob.Status.FAILED]
    for index in range(14):
        PullJob.objects.create(
            environment=environment,
            reference=f"example/app:{index}",
            requested_by=operator,
            status=statuses[index % len(statuses)] if index < 8 else PullJob.Status.RUNNING,
            progress={"layers": {"a": index}},
        )
    other = Environment.objects.create(name="elsewhere", docker_host="unix:///nowhere.sock")
    PullJob.objects.create(environment=other, reference="example/other:1", requested_by=operator)

    banner = pulls_running_banner(environment)

    expected = list(pulls_running(environment).defer("progress", "error_message")[:10])
    assert [_values(job) for job in banner] == [_values(job) for job in expected]
    assert len(banner) == 10 and banner[0].get_deferred_fields() == {"progress", "error_message"}
    assert banner[0].progress == {"layers": {"a": 0}}  # still there when asked for (one more read)
    with CaptureQueriesContext(connection) as later:
        assert {job.environment.name for job in banner} == {environment.name}
    assert later.captured_queries == []


def test_a_prepared_read_names_a_field_for_each_value_it_takes(db):
    rows = PreparedRows(PullJob, "{status} = %s AND {environment_id} = %s", params=("status",))
    with pytest.raises(ValueError, match="1 parameter fields"):
        rows.all("queued")


def test_a_prepared_read_joins_only_reverse_one_to_one_relations_and_always_reads_their_keys(db):
    # Pulls point at their environment with a foreign key: many rows, nothing select_related could cache.
    with pytest.raises(ValueError, match="not a reverse one-to-one"):
        PreparedRows(Environment, "{name} = %s", params=("name",), with_related={"pulls": ()}).all("local")
    # Without its primary key a joined row could not be told from no row.
    with pytest.raises(ValueError, match="primary key must be read"):
        PreparedRows(Environment, "{name} = %s", params=("name",), with_related={"watch": ("id",)}).all("local")
