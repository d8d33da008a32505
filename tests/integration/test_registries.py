"""Registries: admins manage them (secrets encrypted at rest); everyone browses them against real registries."""

from __future__ import annotations

import json
import logging
import os
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings
from django.urls import reverse

from images_app import engine
from images_app.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from images_app.errors import EngineError, RegistryError
from images_app.models import AuditEvent, Registry
from images_app.selectors import registries as registry_selectors
from images_app.selectors.registries import registry_auth, registry_auth_for_pull, registry_for_reference
from images_app.services.registries import registry_create
from tests.integration.conftest import free_port
from tests.integration.support.fake_registry import FakeRegistry

SECRET = "Tr0ub4dor&3-registry-password"


@pytest.fixture(scope="session")
def auth_registry_host() -> str:
    return os.environ["BERTH_TEST_AUTH_REGISTRY"]


@pytest.fixture(scope="session")
def auth_credentials() -> dict[str, str]:
    return {
        "username": os.environ["BERTH_TEST_AUTH_REGISTRY_USER"],
        "password": os.environ["BERTH_TEST_AUTH_REGISTRY_PASSWORD"],
    }


def _push(docker_api, images, repository: str, tags: list[str], auth_config=None) -> str:
    image_id = images.build(f"{repository}:{tags[0]}", busybox=False, layers=[64])
    for tag in tags:
        images.tag(image_id, f"{repository}:{tag}")
        for event in docker_api.push(repository, tag, stream=True, decode=True, auth_config=auth_config):
            assert "error" not in event, event
    return image_id


@pytest.fixture
def plain_registry(admin_user, registry_host):
    return registry_create(actor=admin_user, name="plain", url=registry_host)


@pytest.fixture
def pushed(docker_api, images, registry_host, unique_name):
    """A repository with two tags pushed to the plain loopback registry; returns its name."""
    name = unique_name("team/app")
    _push(docker_api, images, f"{registry_host}/{name}", ["1.0", "latest"])
    return name


@pytest.fixture
def fake_registry():
    registry = FakeRegistry().start()
    yield registry
    registry.stop()


def _form(**fields):
    data = {"name": "corp", "url": "registry.example.com", "username": "", "password": ""}
    data.update(fields)
    return data


# --- managing registries -------------------------------------------------------------


def test_admin_adds_a_registry_with_its_secret_encrypted_at_rest(admin_client):
    response = admin_client.post(reverse("registry_create"), _form(username="robot", password=SECRET))

    assert response.status_code == 302
    row = Registry.objects.get(name="corp")
    assert row.username == "robot"
    assert row.secret_encrypted and SECRET not in row.secret_encrypted
    assert decrypt_secret(row.secret_encrypted) == SECRET


def test_adding_a_registry_is_audited_without_the_secret(admin_client):
    admin_client.post(reverse("registry_create"), _form(username="robot", password=SECRET))

    event = AuditEvent.objects.get(action="registry_added")
    assert event.outcome == "success" and event.actor_name == "ada"
    assert event.parameters["name"] == "corp" and event.parameters["has_password"] is True
    stored = json.dumps(event.parameters) + event.message
    assert SECRET not in stored and Registry.objects.get().secret_encrypted not in stored


def test_the_edit_page_never_shows_the_secret(admin_client, admin_user):
    registry = registry_create(actor=admin_user, name="corp", url="registry.example.com", username="u", password=SECRET)
    html = admin_client.get(reverse("registry_edit", kwargs={"pk": registry.pk})).content.decode()
    assert SECRET not in html and registry.secret_encrypted not in html
    assert "Leave blank to keep the stored one" in html


def test_a_blank_password_on_edit_keeps_the_stored_one(admin_client, admin_user):
    registry = registry_create(actor=admin_user, name="corp", url="registry.example.com", username="u", password=SECRET)
    response = admin_client.post(
        reverse("registry_edit", kwargs={"pk": registry.pk}), _form(url="registry2.example.com", username="u")
    )
    assert response.status_code == 302
    registry.refresh_from_db()
    assert registry.url == "registry2.example.com"
    assert decrypt_secret(registry.secret_encrypted) == SECRET
    event = AuditEvent.objects.get(action="registry_changed")
    assert event.parameters["changed_fields"] == ["url"]


def test_a_new_password_on_edit_replaces_the_stored_one(admin_client, admin_user):
    registry = registry_create(actor=admin_user, name="corp", url="registry.example.com", username="u", password=SECRET)
    admin_client.post(reverse("registry_edit", kwargs={"pk": registry.pk}), _form(username="u", password="new-one"))
    registry.refresh_from_db()
    assert decrypt_secret(registry.secret_encrypted) == "new-one"
    event = AuditEvent.objects.get(action="registry_changed")
    assert event.parameters["changed_fields"] == ["password"]
    assert "new-one" not in json.dumps(event.parameters) + event.message


def test_clearing_the_password_removes_it(admin_client, admin_user):
    registry = registry_create(actor=admin_user, name="corp", url="registry.example.com", username="u", password=SECRET)
    admin_client.post(reverse("registry_edit", kwargs={"pk": registry.pk}), _form(username="u", clear_password="on"))
    registry.refresh_from_db()
    assert registry.secret_encrypted == ""


def test_admin_removes_a_registry_and_it_is_audited(admin_client, admin_user):
    registry = registry_create(actor=admin_user, name="corp", url="registry.example.com", username="u", password=SECRET)
    response = admin_client.post(reverse("registry_delete", kwargs={"pk": registry.pk}))
    assert response.status_code == 302
    assert not Registry.objects.exists()
    event = AuditEvent.objects.get(action="registry_removed")
    assert event.outcome == "success" and event.target_reference == "registry.example.com"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://registry.example.com", "Use http:// or https://"),
        ("https://robot:pw@registry.example.com", "in their own fields"),
        ("registry.example.com/v2/", "root address only"),
        ("registry.example.com:port", "not a valid registry address"),
        ("", "This field is required"),
    ],
)
def test_bad_addresses_are_form_errors(admin_client, url, message):
    response = admin_client.post(reverse("registry_create"), _form(url=url))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["url"])
    assert not Registry.objects.exists()


def test_two_registries_cannot_share_a_host(admin_client, admin_user):
    registry_create(actor=admin_user, name="first", url="http://localhost:5999")
    response = admin_client.post(reverse("registry_create"), _form(name="second", url="localhost:5999"))
    assert response.status_code == 400
    assert "already has the address localhost:5999" in response.context["form"].errors["url"][0]


def test_a_password_needs_a_username(admin_client):
    response = admin_client.post(reverse("registry_create"), _form(password=SECRET))
    assert response.status_code == 400
    assert response.context["form"].errors["username"]
    assert not Registry.objects.exists()


@pytest.mark.parametrize("who", ["viewer_client", "operator_client"])
def test_only_admins_add_registries(request, who):
    client = request.getfixturevalue(who)
    assert client.get(reverse("registry_create")).status_code == 403
    response = client.post(reverse("registry_create"), _form(username="robot", password=SECRET))
    assert response.status_code == 403
    assert not Registry.objects.exists()
    event = AuditEvent.objects.get(action="registry_added")
    assert event.outcome == "denied"
    assert SECRET not in json.dumps(event.parameters)


@pytest.mark.parametrize("who", ["viewer_client", "operator_client"])
def test_only_admins_change_or_remove_registries(request, who, admin_user):
    client = request.getfixturevalue(who)
    registry = registry_create(actor=admin_user, name="corp", url="registry.example.com")
    edit = client.post(reverse("registry_edit", kwargs={"pk": registry.pk}), _form(name="renamed"))
    delete = client.post(reverse("registry_delete", kwargs={"pk": registry.pk}))
    assert (edit.status_code, delete.status_code) == (403, 403)
    assert Registry.objects.get().name == "corp"


def test_everyone_sees_the_list_but_only_admins_see_manage_links(viewer_client, admin_client, admin_user):
    registry_create(actor=admin_user, name="corp", url="registry.example.com", username="u", password=SECRET)
    viewer_html = viewer_client.get(reverse("registry_list")).content.decode()
    admin_html = admin_client.get(reverse("registry_list")).content.decode()
    assert "corp" in viewer_html and "Add a registry" not in viewer_html and ">Edit<" not in viewer_html
    assert "Add a registry" in admin_html and ">Edit<" in admin_html
    assert SECRET not in viewer_html + admin_html


# --- secrets at rest -------------------------------------------------------------------


def test_a_secret_encrypted_under_another_key_is_refused_clearly(settings):
    token = encrypt_secret(SECRET)
    settings.SECRET_KEY = "a-different-secret-key"
    with pytest.raises(SecretUnreadable, match="cannot be decrypted"):
        decrypt_secret(token)


def test_secrets_saved_before_berth_secrets_key_was_set_still_open(settings):
    token = encrypt_secret(SECRET)
    settings.BERTH_SECRETS_KEY = "a dedicated secrets key"
    assert decrypt_secret(token) == SECRET
    newer = encrypt_secret(SECRET)
    settings.SECRET_KEY = "rotated-django-key"
    assert decrypt_secret(newer) == SECRET  # only BERTH_SECRETS_KEY is needed for new ones


# --- browsing the real loopback registries --------------------------------------------------


def test_browsing_lists_the_repositories_pushed_to_the_registry(viewer_client, plain_registry, pushed):
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": plain_registry.pk}))
    assert response.status_code == 200
    assert pushed in response.context["catalog"].repositories
    assert reverse("registry_tags", kwargs={"pk": plain_registry.pk, "repository": pushed}) in response.content.decode()


def test_catalog_pages_follow_the_registrys_link_header(
    viewer_client, plain_registry, docker_api, images, registry_host, unique_name, monkeypatch
):
    names = {unique_name("paged/app") for _ in range(3)}
    for name in names:
        _push(docker_api, images, f"{registry_host}/{name}", ["v1"])
    monkeypatch.setattr(registry_selectors, "CATALOG_PAGE_SIZE", 2)

    seen: list[str] = []
    url = reverse("registry_browse", kwargs={"pk": plain_registry.pk})
    for _ in range(100):  # bounded: the registry holds far fewer than 200 repositories
        catalog = viewer_client.get(url).context["catalog"]
        assert len(catalog.repositories) <= 2
        seen.extend(catalog.repositories)
        if not catalog.next_last:
            break
        url = reverse("registry_browse", kwargs={"pk": plain_registry.pk}) + f"?last={catalog.next_last}"
    assert names <= set(seen)
    assert len(seen) == len(set(seen))


@override_settings(ROOT_URLCONF="tests.integration.support.pull_urls")
def test_a_repository_page_lists_its_tags_with_a_pull_link_each(operator_client, plain_registry, pushed, registry_host):
    response = operator_client.get(reverse("registry_tags", kwargs={"pk": plain_registry.pk, "repository": pushed}))

    assert response.status_code == 200
    assert sorted(row.tag for row in response.context["rows"]) == ["1.0", "latest"]
    html = response.content.decode()
    hrefs = [unescape(part.split('"', 1)[0]) for part in html.split('href="')[1:] if "reference=" in part]
    queries = sorted(
        (parse_qs(urlsplit(h).query)["reference"][0], parse_qs(urlsplit(h).query)["registry"][0]) for h in hrefs
    )
    assert queries == [
        (f"{registry_host}/{pushed}:1.0", str(plain_registry.pk)),
        (f"{registry_host}/{pushed}:latest", str(plain_registry.pk)),
    ]
    assert all(urlsplit(h).path == reverse("pull_create", kwargs={"env": "local"}) for h in hrefs)


def test_a_missing_repository_is_a_clear_404(viewer_client, plain_registry):
    response = viewer_client.get(reverse("registry_tags", kwargs={"pk": plain_registry.pk, "repository": "no/such"}))
    assert response.status_code == 404
    assert "has no repository named no/such" in response.content.decode()


def test_a_repository_name_outside_the_grammar_is_refused_before_any_request(viewer_client, plain_registry):
    response = viewer_client.get(
        reverse("registry_tags", kwargs={"pk": plain_registry.pk, "repository": "../../v2/_catalog"})
    )
    assert response.status_code == 400


def test_opening_a_repository_by_name_goes_to_its_tags(viewer_client, plain_registry, pushed):
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": plain_registry.pk}), {"repository": pushed})
    assert response.status_code == 302
    assert response["Location"] == reverse("registry_tags", kwargs={"pk": plain_registry.pk, "repository": pushed})


def test_the_right_credentials_open_the_htpasswd_registry(
    viewer_client, admin_user, docker_api, images, auth_registry_host, auth_credentials, unique_name
):
    name = unique_name("private/app")
    _push(docker_api, images, f"{auth_registry_host}/{name}", ["2.0"], auth_config=auth_credentials)
    registry = registry_create(actor=admin_user, name="private", url=auth_registry_host, **auth_credentials)

    catalog = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    tags = viewer_client.get(reverse("registry_tags", kwargs={"pk": registry.pk, "repository": name}))

    assert catalog.status_code == 200 and name in catalog.context["catalog"].repositories
    assert tags.status_code == 200 and [row.tag for row in tags.context["rows"]] == ["2.0"]


def test_a_wrong_password_says_the_registry_refused_the_credentials(
    viewer_client, admin_user, auth_registry_host, auth_credentials
):
    registry = registry_create(
        actor=admin_user, name="private", url=auth_registry_host, username=auth_credentials["username"], password="nope"
    )
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    assert response.status_code == 502
    html = unescape(response.content.decode())
    assert f"The registry {auth_registry_host} refused the credentials of user {auth_credentials['username']}" in html
    assert "HTTP 401" in html


def test_no_credentials_says_the_registry_needs_them(viewer_client, admin_user, auth_registry_host):
    registry = registry_create(actor=admin_user, name="private", url=auth_registry_host)
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    assert response.status_code == 502
    assert f"The registry {auth_registry_host} requires credentials (HTTP 401)" in unescape(response.content.decode())


def test_the_password_never_reaches_the_logs(viewer_client, admin_user, auth_registry_host, auth_credentials, caplog):
    registry = registry_create(actor=admin_user, name="private", url=auth_registry_host, **auth_credentials)
    with caplog.at_level(logging.DEBUG):
        viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
        registry_create(actor=admin_user, name="other", url="registry.example.com", username="u", password=SECRET)
    assert caplog.records  # something was logged (urllib3 at least), so the check below means something
    assert auth_credentials["password"] not in caplog.text and SECRET not in caplog.text


def test_an_unreachable_registry_gets_a_clear_message(viewer_client, admin_user):
    registry = registry_create(actor=admin_user, name="gone", url=f"localhost:{free_port()}")
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    assert response.status_code == 503
    assert "connection refused" in response.content.decode()
    assert viewer_client.get(reverse("registry_list")).status_code == 200


def test_https_to_a_plain_http_registry_says_so(viewer_client, admin_user, registry_host):
    registry = registry_create(actor=admin_user, name="tls", url=f"https://{registry_host}")
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    assert response.status_code == 502
    assert "does not speak HTTPS on that port" in response.content.decode()


# --- behaviours only a stand-in registry can show ------------------------------------------------


def test_a_disabled_catalog_says_so_and_offers_opening_by_name(viewer_client, admin_user, fake_registry):
    fake_registry.catalog_enabled = False
    registry = registry_create(actor=admin_user, name="nocat", url=f"http://{fake_registry.host}")
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    assert response.status_code == 502
    html = response.content.decode()
    assert "does not list its repositories" in html
    assert 'name="repository"' in html


def test_the_bearer_token_flow_is_followed_with_the_stored_credentials(viewer_client, admin_user, fake_registry):
    fake_registry.bearer = True
    fake_registry.repositories = {"team/api": ["1", "2"]}
    registry = registry_create(
        actor=admin_user,
        name="tokens",
        url=f"http://{fake_registry.host}",
        username=fake_registry.username,
        password=fake_registry.password,
    )
    catalog = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    tags = viewer_client.get(reverse("registry_tags", kwargs={"pk": registry.pk, "repository": "team/api"}))

    assert catalog.context["catalog"].repositories == ["team/api"]
    assert [row.tag for row in tags.context["rows"]] == ["1", "2"]
    scopes = [request.get("scope") for request in fake_registry.token_requests]
    assert "registry:catalog:*" in scopes and "repository:team/api:pull" in scopes


def test_a_refused_token_request_is_a_credentials_error(viewer_client, admin_user, fake_registry):
    fake_registry.bearer = True
    registry = registry_create(
        actor=admin_user, name="tokens", url=f"http://{fake_registry.host}", username="robot", password="wrong"
    )
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    assert response.status_code == 502
    assert "refused the credentials of user robot" in response.content.decode()


def test_names_and_tags_from_a_registry_are_shown_as_text(viewer_client, admin_user, fake_registry):
    fake_registry.repositories = {
        "<script>alert(1)</script>": [],
        "team/app": ['<img src=x onerror="alert(1)">', "ok"],
    }
    registry = registry_create(actor=admin_user, name="hostile", url=f"http://{fake_registry.host}")
    catalog = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk})).content.decode()
    tags = viewer_client.get(reverse("registry_tags", kwargs={"pk": registry.pk, "repository": "team/app"}))
    tags_html = tags.content.decode()

    assert "<script>alert(1)" not in catalog and "&lt;script&gt;alert(1)&lt;/script&gt;" in catalog
    assert "<img src=x" not in tags_html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in tags_html
    assert [row.reference for row in tags.context["rows"]] == [None, f"{fake_registry.host}/team/app:ok"]


# --- credentials for the engine's pull --------------------------------------------------------


def test_registry_auth_lets_the_real_engine_pull_from_the_htpasswd_registry(
    admin_user, environment, docker_api, images, auth_registry_host, auth_credentials, unique_name
):
    name = f"{auth_registry_host}/{unique_name('private/pull')}"
    image_id = _push(docker_api, images, name, ["1"], auth_config=auth_credentials)
    docker_api.remove_image(f"{name}:1", force=True)
    registry = registry_create(actor=admin_user, name="private", url=auth_registry_host, **auth_credentials)

    # Without credentials the engine refuses at once (ENGINE_NOTES: "no basic auth credentials").
    with pytest.raises(EngineError, match="no basic auth credentials"):
        list(engine.pull_events(environment, name, "1"))
    events = list(engine.pull_events(environment, name, "1", auth=registry_auth(registry)))

    assert any("Digest:" in event.get("status", "") for event in events)
    assert docker_api.inspect_image(f"{name}:1")["Id"] == image_id


def test_registry_auth_is_none_for_anonymous_registries(admin_user, registry_host):
    registry = registry_create(actor=admin_user, name="plain", url=registry_host)
    assert registry_auth(registry) is None
    assert registry_auth(None) is None


def test_registry_auth_names_the_host_the_engine_pulls_from(admin_user):
    registry = registry_create(
        actor=admin_user, name="corp", url="https://Registry.Example.com:443/", username="u", password=SECRET
    )
    assert registry_auth(registry) == {"username": "u", "password": SECRET, "serveraddress": "registry.example.com"}


def test_a_reference_finds_its_registry_by_host(admin_user, registry_host):
    registry = registry_create(actor=admin_user, name="plain", url=f"http://{registry_host}/")
    assert registry_for_reference(f"{registry_host}/team/app:1") == registry
    assert registry_for_reference("team/app:1") is None  # Docker Hub, not registered here
    assert registry_for_reference("localhost:1/team/app") is None
    assert registry_for_reference("not a reference") is None


def test_a_secret_that_no_longer_decrypts_says_so_on_the_page(viewer_client, admin_user, auth_registry_host):
    registry = registry_create(actor=admin_user, name="private", url=auth_registry_host, username="u")
    with override_settings(SECRET_KEY="the-key-of-another-installation"):
        foreign = encrypt_secret(SECRET)
    Registry.objects.filter(pk=registry.pk).update(secret_encrypted=foreign)
    response = viewer_client.get(reverse("registry_browse", kwargs={"pk": registry.pk}))
    assert response.status_code == 502
    assert "cannot be decrypted" in response.content.decode()


def test_credentials_never_go_with_a_reference_on_another_host(admin_user, registry_host):
    registry = registry_create(actor=admin_user, name="private", url=registry_host, username="u", password=SECRET)
    assert registry_auth_for_pull(f"{registry_host}/team/app:1", registry)["password"] == SECRET
    with pytest.raises(RegistryError, match="credentials are only sent to") as caught:
        registry_auth_for_pull("elsewhere.example.com/team/app:1", registry)
    assert caught.value.http_status == 400
    with pytest.raises(RegistryError):
        registry_auth_for_pull("team/app:1", registry)  # Docker Hub


def test_without_a_registry_the_references_host_picks_the_credentials(admin_user, registry_host):
    registry_create(actor=admin_user, name="private", url=registry_host, username="u", password=SECRET)
    assert registry_auth_for_pull(f"{registry_host}/team/app")["password"] == SECRET
    assert registry_auth_for_pull("team/app") is None


def test_docker_hub_credentials_go_with_docker_hub_references(admin_user):
    hub = registry_create(
        actor=admin_user, name="hub", url="https://registry-1.docker.io", username="me", password=SECRET
    )
    assert registry_for_reference("ubuntu:22.04") == hub
    assert registry_for_reference("docker.io/library/ubuntu") == hub
    assert registry_auth_for_pull("bitnami/redis") == {
        "username": "me",
        "password": SECRET,
        "serveraddress": "https://index.docker.io/v1/",
    }


def test_a_registry_stores_its_host_normalised_by_the_one_rule(admin_user):
    registry = registry_create(actor=admin_user, name="corp", url="https://Registry.Example.com:443/")
    assert Registry.objects.get(pk=registry.pk).host == "registry.example.com"
    loopback = registry_create(actor=admin_user, name="loop", url="http://127.0.0.1:80")
    assert loopback.host == "127.0.0.1"
    assert registry_for_reference("127.0.0.1/team/app:1") == loopback
    assert registry_for_reference("registry.example.com:443/team/app") == registry


def test_the_database_refuses_two_registries_with_one_host(admin_user):
    from django.db import IntegrityError, transaction

    Registry.objects.create(name="first", url="registry.example.com", created_by=admin_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Registry.objects.create(name="second", url="https://registry.example.com:443", created_by=admin_user)


def test_finding_a_references_registry_is_one_query(admin_user, django_assert_num_queries):
    for index in range(5):
        registry_create(actor=admin_user, name=f"r{index}", url=f"registry{index}.example.com")
    with django_assert_num_queries(1):
        assert registry_for_reference("registry4.example.com/app").name == "r4"
