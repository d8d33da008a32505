"""The users pages: admins create people, set roles, deactivate and reactivate; never delete."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from images_app.models import AuditEvent
from images_app.roles import ADMIN, OPERATOR, VIEWER, role_of
from tests.integration.conftest import PASSWORD

User = get_user_model()
NEW_PASSWORD = "a-long-enough-passphrase"


def events_of(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def can_log_in(username: str, password: str) -> bool:
    """Through the real login form (django-axes needs a request)."""
    response = Client().post("/login/", {"username": username, "password": password})
    return response.status_code == 302


def new_user_form(**overrides: str) -> dict:
    data = {
        "username": "nina",
        "email": "nina@example.org",
        "role": OPERATOR,
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


# --- who may ---------------------------------------------------------------------


def _targets(user_pk: int) -> list[tuple[str, str, dict]]:
    return [
        ("get", reverse("user_list"), {}),
        ("get", reverse("user_new"), {}),
        ("post", reverse("user_new"), new_user_form()),
        ("post", reverse("user_set_role", kwargs={"pk": user_pk}), {"role": ADMIN}),
        ("post", reverse("user_deactivate", kwargs={"pk": user_pk}), {}),
        ("post", reverse("user_reactivate", kwargs={"pk": user_pk}), {}),
    ]


@pytest.mark.parametrize("client_name", ["viewer_client", "operator_client"])
@pytest.mark.parametrize("index", range(6))
def test_viewers_and_operators_get_403_everywhere(request, client_name, index, viewer):
    client = request.getfixturevalue(client_name)
    method, url, data = _targets(viewer.pk)[index]
    assert getattr(client, method)(url, data).status_code == 403
    viewer.refresh_from_db()
    assert role_of(viewer) == VIEWER and viewer.is_active
    assert not User.objects.filter(username="nina").exists()


@pytest.mark.parametrize("index", range(6))
def test_anonymous_is_sent_to_login(client, index, viewer):
    method, url, data = _targets(viewer.pk)[index]
    response = getattr(client, method)(url, data)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_posts_without_csrf_token_are_refused(admin_user, viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(reverse("user_set_role", kwargs={"pk": viewer.pk}), {"role": ADMIN}).status_code == 403
    assert client.post(reverse("user_deactivate", kwargs={"pk": viewer.pk})).status_code == 403
    assert client.post(reverse("user_new"), new_user_form()).status_code == 403
    viewer.refresh_from_db()
    assert role_of(viewer) == VIEWER and viewer.is_active


def test_posts_with_the_csrf_token_work(admin_user, viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get(reverse("user_list"))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("user_set_role", kwargs={"pk": viewer.pk}), {"role": OPERATOR, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert role_of(viewer) == OPERATOR


def test_get_cannot_change_anything(admin_client, viewer):
    assert admin_client.get(reverse("user_deactivate", kwargs={"pk": viewer.pk})).status_code == 405
    viewer.refresh_from_db()
    assert viewer.is_active


# --- the list ----------------------------------------------------------------------


def test_admin_sees_every_user_with_role_status_and_last_login(admin_client, viewer, operator, admin_user):
    viewer.is_active = False
    viewer.save()
    response = admin_client.get(reverse("user_list"))
    assert response.status_code == 200
    rows = {row.user.username: row for row in response.context["rows"]}
    assert {name: row.role for name, row in rows.items()} == {"vera": VIEWER, "otto": OPERATOR, "ada": ADMIN}
    assert not rows["vera"].user.is_active
    body = response.content.decode()
    assert "deactivated" in body and "never" in body
    assert "Delete" not in body


# --- create --------------------------------------------------------------------------


def test_admin_creates_a_user_who_can_log_in_with_the_role(admin_client, admin_user):
    response = admin_client.post(reverse("user_new"), new_user_form())
    assert response.status_code == 302
    nina = User.objects.get(username="nina")
    assert role_of(nina) == OPERATOR and nina.email == "nina@example.org" and nina.is_active
    assert can_log_in("nina", NEW_PASSWORD)
    (event,) = events_of("user_created")
    assert event.actor == admin_user and event.outcome == "success" and event.target_reference == "nina"
    assert event.parameters == {"role": OPERATOR, "email": "nina@example.org", "via": "users page"}
    assert event.client_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password1": "short", "password2": "short"}, "password2"),
        ({"password1": "password", "password2": "password"}, "password2"),
        ({"password2": "something-else-entirely"}, "password2"),
        ({"username": "VERA"}, "username"),
        ({"username": "bad name!"}, "username"),
        ({"role": "root"}, "role"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_bad_new_user_input_is_a_form_error(admin_client, viewer, overrides, field):
    response = admin_client.post(reverse("user_new"), new_user_form(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not events_of("user_created")
    assert User.objects.count() == 2


# --- roles -------------------------------------------------------------------------------


def test_admin_changes_a_role_and_it_is_audited_once(admin_client, admin_user, viewer):
    response = admin_client.post(reverse("user_set_role", kwargs={"pk": viewer.pk}), {"role": ADMIN})
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert role_of(viewer) == ADMIN and viewer.is_staff
    (event,) = events_of("user_role_changed")
    assert event.actor == admin_user and event.target_reference == "vera"
    assert event.parameters == {"role": ADMIN, "previous_role": VIEWER}


def test_setting_the_same_role_records_nothing(admin_client, viewer):
    admin_client.post(reverse("user_set_role", kwargs={"pk": viewer.pk}), {"role": VIEWER})
    assert not events_of("user_role_changed")


def test_unknown_role_changes_nothing(admin_client, viewer):
    response = admin_client.post(reverse("user_set_role", kwargs={"pk": viewer.pk}), {"role": "root"})
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert role_of(viewer) == VIEWER
    assert not events_of("user_role_changed")


def test_unknown_user_is_404(admin_client):
    assert admin_client.post(reverse("user_set_role", kwargs={"pk": 9999}), {"role": ADMIN}).status_code == 404


def test_demoting_a_superuser_drops_superuser_too(admin_client, make_user):
    boss = make_user("boss", ADMIN, is_superuser=True, is_staff=True)
    admin_client.post(reverse("user_set_role", kwargs={"pk": boss.pk}), {"role": VIEWER})
    boss.refresh_from_db()
    assert not boss.is_superuser and not boss.is_staff and role_of(boss) == VIEWER


def test_the_last_admin_cannot_demote_themselves(admin_client, admin_user):
    response = admin_client.post(reverse("user_set_role", kwargs={"pk": admin_user.pk}), {"role": VIEWER})
    assert response.status_code == 409
    assert b"last active admin" in response.content
    admin_user.refresh_from_db()
    assert role_of(admin_user) == ADMIN
    (event,) = events_of("user_role_changed")
    assert event.outcome == "denied" and event.parameters == {"role": VIEWER, "previous_role": ADMIN}


def test_an_admin_may_step_down_when_another_admin_remains(admin_client, admin_user, second_admin):
    response = admin_client.post(reverse("user_set_role", kwargs={"pk": admin_user.pk}), {"role": OPERATOR})
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert role_of(admin_user) == OPERATOR
    assert admin_client.get(reverse("user_list")).status_code == 403  # the change applies at once


# --- deactivate / reactivate -------------------------------------------------------------------


def test_deactivated_user_cannot_log_in_and_is_kept(admin_client, admin_user, viewer):
    vera = Client()
    vera.force_login(viewer)
    response = admin_client.post(reverse("user_deactivate", kwargs={"pk": viewer.pk}))
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert not viewer.is_active
    assert not can_log_in("vera", PASSWORD)
    assert vera.get(reverse("audit_list")).status_code == 302  # the open session ends too
    (event,) = events_of("user_deactivated")
    assert event.actor == admin_user and event.target_reference == "vera" and event.parameters == {"role": VIEWER}


def test_reactivated_user_logs_in_again_with_the_same_role(admin_client, admin_user, operator):
    admin_client.post(reverse("user_deactivate", kwargs={"pk": operator.pk}))
    admin_client.post(reverse("user_reactivate", kwargs={"pk": operator.pk}))
    operator.refresh_from_db()
    assert operator.is_active and role_of(operator) == OPERATOR
    assert can_log_in("otto", PASSWORD)
    (event,) = events_of("user_reactivated")
    assert event.actor == admin_user and event.outcome == "success" and event.target_reference == "otto"


def test_deactivating_twice_records_one_event(admin_client, viewer):
    admin_client.post(reverse("user_deactivate", kwargs={"pk": viewer.pk}))
    admin_client.post(reverse("user_deactivate", kwargs={"pk": viewer.pk}))
    assert len(events_of("user_deactivated")) == 1


def test_the_last_admin_cannot_deactivate_themselves(admin_client, admin_user, make_user):
    make_user("gone", ADMIN, is_active=False)  # an inactive admin does not count
    response = admin_client.post(reverse("user_deactivate", kwargs={"pk": admin_user.pk}))
    assert response.status_code == 409
    admin_user.refresh_from_db()
    assert admin_user.is_active
    (event,) = events_of("user_deactivated")
    assert event.outcome == "denied"


def test_an_admin_may_deactivate_another_admin(admin_client, second_admin):
    assert admin_client.post(reverse("user_deactivate", kwargs={"pk": second_admin.pk})).status_code == 302
    second_admin.refresh_from_db()
    assert not second_admin.is_active


def test_there_is_no_way_to_delete_a_user(admin_client, viewer):
    from django.urls import NoReverseMatch

    for name in ("user_delete", "user_remove"):
        with pytest.raises(NoReverseMatch):
            reverse(name, kwargs={"pk": viewer.pk})
    assert admin_client.post(f"/users/{viewer.pk}/delete/").status_code == 404
    assert User.objects.filter(pk=viewer.pk).exists()


def test_nav_shows_users_only_to_admins(admin_client, viewer_client):
    assert 'href="/users/"' in admin_client.get(reverse("audit_list")).content.decode()
    assert 'href="/users/"' not in viewer_client.get(reverse("audit_list")).content.decode()


# --- the management command ------------------------------------------------------------------


def _command(*args: str) -> str:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("berth_user", *args, stdout=out)
    return out.getvalue()


def test_command_deactivates_and_reactivates_with_one_event_each(viewer):
    assert "Deactivated vera" in _command("vera", "--deactivate")
    viewer.refresh_from_db()
    assert not viewer.is_active
    _command("vera", "--reactivate")
    viewer.refresh_from_db()
    assert viewer.is_active
    (off,) = events_of("user_deactivated")
    (on,) = events_of("user_reactivated")
    assert off.actor_name == on.actor_name == "system"
    assert off.parameters == {"role": VIEWER} and on.target_reference == "vera"


def test_command_refuses_to_demote_the_last_admin(admin_user):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="last active admin"):
        _command("ada", "--role", "viewer")
    with pytest.raises(CommandError, match="last active admin"):
        _command("ada", "--deactivate")
    admin_user.refresh_from_db()
    assert admin_user.is_active and role_of(admin_user) == ADMIN
    assert [e.outcome for e in AuditEvent.objects.order_by("id")] == ["denied", "denied"]


def test_command_needs_a_role_to_create_a_user(db, monkeypatch):
    from django.core.management.base import CommandError

    monkeypatch.setenv("BERTH_USER_PASSWORD", NEW_PASSWORD)
    with pytest.raises(CommandError, match="give --role"):
        _command("nobody")
    assert not User.objects.filter(username="nobody").exists()
