"""The walking skeleton: login everywhere, the images page against the real engine, errors."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from images_app import engine
from images_app.engine.client import forget_clients
from images_app.models import AuditEvent
from images_app.references import split_repo_tag
from images_app.roles import role_of


@pytest.mark.parametrize("path", ["/", "/images/", "/env/local/", "/env/local/images/", "/admin/"])
def test_every_page_requires_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_login_page_is_public(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Log in to Berth" in response.content


def test_images_shortcut_redirects_to_default_environment(viewer_client):
    response = viewer_client.get("/images/")
    assert response.status_code == 302
    assert response["Location"] == "/env/local/images/"


def test_unknown_environment_is_404(viewer_client):
    assert viewer_client.get("/env/nowhere/images/").status_code == 404


def _cli_rows(docker_api):
    """(repository, tag, short id, size) as `docker image ls` lists them."""
    rows = set()
    for image in docker_api.images():
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        for repo_tag in tags or ["<none>:<none>"]:
            repository, tag = split_repo_tag(repo_tag) if repo_tag != "<none>:<none>" else ("<none>", "<none>")
            rows.add((repository, tag, image["Id"][7:19], image["Size"]))
    return rows


def test_images_page_lists_what_the_engine_has(viewer_client, environment, images, unique_name, docker_api):
    repo = unique_name("listed")
    first = images.build(f"{repo}:one", layers=[2048])
    images.tag(first, f"{repo}:also")
    images.build(f"{repo}:two", busybox=False)
    dangling = images.build(None, busybox=False)

    response = viewer_client.get(reverse("image_list", kwargs={"env": "local"}))

    assert response.status_code == 200
    page_rows = {(r.repository, r.tag, r.image.short_id, r.image.size) for r in response.context["rows"]}
    assert page_rows == _cli_rows(docker_api)
    html = response.content.decode()
    assert f"{repo}</td>" in html
    assert first[7:19] in html and dangling[7:19] in html


def test_images_page_costs_two_engine_calls_whatever_the_count(viewer_client, environment, images, unique_name):
    viewer_client.get("/env/local/images/")  # warm: client negotiation happens once per process
    before = engine.api_request_count()
    viewer_client.get("/env/local/images/")
    few = engine.api_request_count() - before
    repo = unique_name("many")
    base = images.build(f"{repo}:0", busybox=False)
    for index in range(1, 15):
        images.tag(base, f"{repo}:{index}")
    before = engine.api_request_count()
    viewer_client.get("/env/local/images/")
    many = engine.api_request_count() - before
    assert few == many == 2


@override_settings(BERTH_ENVIRONMENTS="local=unix:///tmp/berth-no-such-engine.sock")
def test_engine_down_gives_a_clear_503(viewer_client, db):
    from images_app.environments import sync_environments

    sync_environments()
    forget_clients()
    try:
        response = viewer_client.get("/env/local/images/")
    finally:
        forget_clients()
    assert response.status_code == 503
    body = response.content.decode()
    assert "unix:///tmp/berth-no-such-engine.sock" in body
    assert "Traceback" not in body
    assert "What to check" in body


def test_berth_user_creates_a_user_with_a_role_from_stdin(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-passphrase\n"))
    call_command("berth_user", "olga", "--role", "operator", "--password-stdin", stdout=io.StringIO())
    user = get_user_model().objects.get(username="olga")
    assert role_of(user) == "operator"
    assert user.check_password("a-long-enough-passphrase")
    event = AuditEvent.objects.get(action="user_created")
    assert event.target_reference == "olga" and event.parameters["role"] == "operator"


def test_berth_user_changes_a_role_and_rejects_weak_passwords(db, monkeypatch):
    monkeypatch.setenv("BERTH_USER_PASSWORD", "a-long-enough-passphrase")
    call_command("berth_user", "pia", "--role", "viewer", stdout=io.StringIO())
    call_command("berth_user", "pia", "--role", "admin", stdout=io.StringIO())
    assert role_of(get_user_model().objects.get(username="pia")) == "admin"
    monkeypatch.setenv("BERTH_USER_PASSWORD", "123")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Password rejected"):
        call_command("berth_user", "quinn", "--role", "viewer", stdout=io.StringIO())


def test_login_and_failed_login_are_audited(client, viewer):
    client.post("/login/", {"username": "vera", "password": "wrong"})
    client.post("/login/", {"username": "vera", "password": "correct-horse-battery-staple"})
    failed = AuditEvent.objects.get(action="login", outcome="failure")
    assert failed.parameters == {"username": "vera"}
    assert failed.client_address == "127.0.0.1"
    ok = AuditEvent.objects.get(action="login", outcome="success")
    assert ok.actor == viewer


def test_setup_page_creates_the_first_admin_then_disappears(client, db):
    response = client.post(
        "/setup/",
        {"username": "first", "password1": "a-long-enough-passphrase", "password2": "a-long-enough-passphrase"},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="first")
    assert role_of(user) == "admin"
    assert client.get("/setup/").status_code == 404


def test_sandbox_banner_shows_on_every_page(viewer_client, environment):
    with override_settings(BERTH_SANDBOX=True):
        body = viewer_client.get("/env/local/images/").content.decode()
    assert "Sandbox engine - not your host&#x27;s Docker" in body or "Sandbox engine - not your host's Docker" in body


def test_security_headers_are_sent(viewer_client, environment):
    response = viewer_client.get("/env/local/images/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
