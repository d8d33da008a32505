"""API tokens: made on the tokens page and shown once, stored hashed, refused when expired or revoked.

Through the real ASGI server (live_url) over HTTP, as a script would use them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from images_app.models import ApiToken, AuditEvent
from tests.integration.conftest import login_session
from tests.integration.support.api import api_client, token_for

pytestmark = pytest.mark.usefixtures("transactional_db")

TOKEN_TEXT = re.compile(r'id="new-token-value">(berth_[A-Za-z0-9_-]+)<')


def _csrf(session, url: str) -> str:
    session.get(url, timeout=10)
    return session.cookies["csrftoken"]


def _create_on_page(live_url: str, username: str, name: str, days: str = "30") -> tuple[object, str]:
    session = login_session(live_url, username)
    token = _csrf(session, live_url + "/tokens/")
    response = session.post(
        live_url + "/tokens/",
        data={"name": name, "expires_in_days": days, "csrfmiddlewaretoken": token},
        headers={"Referer": live_url + "/tokens/"},
        timeout=10,
    )
    assert response.status_code == 200, response.text[:500]
    match = TOKEN_TEXT.search(response.text)
    assert match, "the new token is not on the page"
    return session, match.group(1)


def test_a_token_made_on_the_tokens_page_is_shown_once_and_stored_only_as_a_hash(live_url, viewer):
    session, raw = _create_on_page(live_url, "vera", "ci-reader")
    row = ApiToken.objects.get(user=viewer, name="ci-reader")
    assert row.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(list(ApiToken.objects.values()))
    assert row.expires_at is not None and row.expires_at > timezone.now() + timedelta(days=29)
    again = session.get(live_url + "/tokens/", timeout=10)
    assert again.status_code == 200
    assert raw not in again.text and "ci-reader" in again.text
    assert api_client(raw).get(live_url + "/api/v1/me/", timeout=10).json()["username"] == "vera"
    created = AuditEvent.objects.filter(action="api_token_created", actor=viewer).get()
    assert created.parameters["api_token_name"] == "ci-reader"
    assert raw not in str(created.parameters) and raw[6:] not in str(created.parameters)


def test_a_token_carries_its_owners_role_and_nothing_more(live_url, viewer, operator):
    reader = api_client(token_for(viewer))
    assert reader.get(live_url + "/api/v1/me/", timeout=10).json()["role"] == "viewer"
    response = reader.post(live_url + "/api/v1/environments/local/pulls/", json={"reference": "x:1"}, timeout=10)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_no_token_a_wrong_one_a_revoked_one_and_an_expired_one_are_refused_with_401(live_url, viewer, admin_user):
    me = live_url + "/api/v1/me/"
    anonymous = api_client(None).get(me, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = api_client("berth_" + "x" * 43).get(me, timeout=10)
    assert (wrong.status_code, wrong.json()["code"]) == (401, "authentication_failed")

    revoked = token_for(viewer, name="soon-revoked")
    assert api_client(revoked).get(me, timeout=10).status_code == 200
    from images_app.services.tokens import token_revoke

    token_revoke(token=ApiToken.objects.get(name="soon-revoked"), actor=admin_user)
    assert api_client(revoked).get(me, timeout=10).status_code == 401

    expired = token_for(viewer, name="short-lived", expires_at=timezone.now() + timedelta(seconds=30))
    assert api_client(expired).get(me, timeout=10).status_code == 200
    ApiToken.objects.filter(name="short-lived").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_client(expired).get(me, timeout=10).status_code == 401


def test_a_deactivated_persons_tokens_stop_working(live_url, make_user):
    person = make_user("leaver")
    raw = token_for(person)
    assert api_client(raw).get(live_url + "/api/v1/me/", timeout=10).status_code == 200
    person.is_active = False
    person.save()
    assert api_client(raw).get(live_url + "/api/v1/me/", timeout=10).status_code == 401


def test_use_records_last_used_time_and_address_and_a_new_address_is_audited_once(live_url, viewer):
    raw = token_for(viewer, name="tracked")
    for _ in range(3):
        assert api_client(raw).get(live_url + "/api/v1/me/", timeout=10).status_code == 200
    row = ApiToken.objects.get(name="tracked")
    assert row.last_used_at is not None
    assert row.last_used_address == "127.0.0.1"
    events = AuditEvent.objects.filter(action="api_token_new_address", actor=viewer)
    assert events.count() == 1
    assert events.get().parameters["address"] == "127.0.0.1"


def test_the_owner_revokes_on_the_page_and_the_revocation_is_audited(live_url, viewer):
    session, raw = _create_on_page(live_url, "vera", "to-revoke")
    row = ApiToken.objects.get(name="to-revoke")
    csrf = _csrf(session, live_url + "/tokens/")
    response = session.post(
        f"{live_url}/tokens/{row.pk}/revoke/",
        data={"csrfmiddlewaretoken": csrf},
        headers={"Referer": live_url + "/tokens/"},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None and row.revoked_by_id == viewer.pk
    assert AuditEvent.objects.filter(action="api_token_revoked", outcome="success", actor=viewer).count() == 1
    assert api_client(raw).get(live_url + "/api/v1/me/", timeout=10).status_code == 401


def test_admins_see_and_revoke_anyones_token_others_cannot(live_url, viewer, operator, admin_user):
    token_for(viewer, name="vera-script")
    theirs = ApiToken.objects.get(name="vera-script")
    admin_page = login_session(live_url, "ada").get(live_url + "/tokens/", timeout=10)
    assert "vera-script" in admin_page.text and 'id="other-tokens"' in admin_page.text
    operator_session = login_session(live_url, "otto")
    assert "vera-script" not in operator_session.get(live_url + "/tokens/", timeout=10).text
    csrf = _csrf(operator_session, live_url + "/tokens/")
    refused = operator_session.post(
        f"{live_url}/tokens/{theirs.pk}/revoke/",
        data={"csrfmiddlewaretoken": csrf},
        headers={"Referer": live_url + "/tokens/"},
        timeout=10,
    )
    assert refused.status_code == 403
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert AuditEvent.objects.filter(action="api_token_revoked", outcome="denied", actor=operator).exists()
    admin = login_session(live_url, "ada")
    csrf = _csrf(admin, live_url + "/tokens/")
    done = admin.post(
        f"{live_url}/tokens/{theirs.pk}/revoke/",
        data={"csrfmiddlewaretoken": csrf},
        headers={"Referer": live_url + "/tokens/"},
        timeout=10,
        allow_redirects=False,
    )
    assert done.status_code == 302
    theirs.refresh_from_db()
    assert theirs.revoked_by_id == admin_user.pk


def test_the_api_refuses_a_session_cookie_without_csrf_for_changes(live_url, operator, registry_host):
    session = login_session(live_url, "otto")
    # Reads with the session work (the docs page uses them)...
    assert session.get(live_url + "/api/v1/me/", timeout=10).json()["username"] == "otto"
    # ...but a change with only the cookie is refused, and nothing is queued.
    response = session.post(
        live_url + "/api/v1/environments/local/pulls/", json={"reference": f"{registry_host}/nope:1"}, timeout=10
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    from images_app.models import PullJob

    assert not PullJob.objects.filter(reference__contains="/nope:1").exists()


def test_a_token_name_is_required_and_bad_expiries_are_form_errors(live_url, viewer):
    session = login_session(live_url, "vera")
    csrf = _csrf(session, live_url + "/tokens/")
    for data in ({"name": "", "expires_in_days": "3"}, {"name": "x", "expires_in_days": "0"}):
        response = session.post(
            live_url + "/tokens/",
            data={**data, "csrfmiddlewaretoken": csrf},
            headers={"Referer": live_url + "/tokens/"},
            timeout=10,
        )
        assert response.status_code == 400
    assert not ApiToken.objects.filter(user=viewer).exists()
