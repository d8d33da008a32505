"""The registry client against recorded exchanges (catalog pages, tag pages, Basic and Bearer auth, errors)."""

from __future__ import annotations

import base64

import pytest

from images_app.errors import RegistryError
from images_app.registry_client import RegistryTarget, list_repositories, list_tags, parse_registry_url
from tests.unit.replay import Exchange, replaying

BASIC = "Basic " + base64.b64encode(b"alice:s3cret").decode()
DISTRIBUTION_ERROR = {"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]}


def target(base_url: str, *, username: str = "", password: str = "") -> RegistryTarget:
    return RegistryTarget(
        base_url=base_url, host=base_url.removeprefix("http://"), username=username, password=password
    )


def test_a_catalog_page_with_a_next_link_gives_where_to_continue():
    recorded = [
        Exchange(
            "/v2/_catalog?n=2",
            200,
            {"repositories": ["app", "base"]},
            {"Link": '</v2/_catalog?last=base&n=2>; rel="next"'},
        )
    ]
    with replaying(recorded) as replay:
        page = list_repositories(target(replay.base_url), page_size=2)

    assert (page.repositories, page.next_last) == (["app", "base"], "base") and not replay.errors


def test_the_last_catalog_page_has_no_next():
    with replaying([Exchange("/v2/_catalog?n=2&last=base", 200, {"repositories": ["tools"]})]) as replay:
        page = list_repositories(target(replay.base_url), page_size=2, last="base")

    assert (page.repositories, page.next_last) == (["tools"], None) and not replay.errors


def test_tags_follow_link_pages_and_a_null_list_is_no_tags():
    recorded = [
        Exchange(
            "/v2/team/app/tags/list?n=1000",
            200,
            {"name": "team/app", "tags": ["1", "2"]},
            {"Link": '</v2/team/app/tags/list?last=2&n=1000>; rel="next"'},
        ),
        Exchange("/v2/team/app/tags/list?n=1000&last=2", 200, {"name": "team/app", "tags": None}),
    ]
    with replaying(recorded) as replay:
        tags = list_tags(target(replay.base_url), "team/app")

    assert tags == ["1", "2"] and not replay.errors


def test_basic_challenge_is_answered_with_the_stored_credentials():
    recorded = [
        Exchange("/v2/_catalog?n=100", 401, DISTRIBUTION_ERROR, {"WWW-Authenticate": 'Basic realm="Registry"'}),
        Exchange("/v2/_catalog?n=100", 200, {"repositories": ["private"]}, authorization=BASIC),
    ]
    with replaying(recorded) as replay:
        page = list_repositories(target(replay.base_url, username="alice", password="s3cret"))

    assert page.repositories == ["private"] and not replay.errors


def test_bearer_challenge_fetches_a_token_from_the_realm_then_retries():
    challenge = 'Bearer realm="{base}/token",service="registry.example",scope="repository:team/app:pull"'
    recorded = [
        Exchange("/v2/team/app/tags/list?n=1000", 401, DISTRIBUTION_ERROR, {"WWW-Authenticate": challenge}),
        Exchange("/token?service=registry.example&scope=repository%3Ateam%2Fapp%3Apull", 200, {"token": "T0K3N"}),
        Exchange("/v2/team/app/tags/list?n=1000", 200, {"tags": ["v1"]}, authorization="Bearer T0K3N"),
    ]
    with replaying(recorded) as replay:
        tags = list_tags(target(replay.base_url), "team/app")

    assert tags == ["v1"] and not replay.errors


def test_a_basic_challenge_without_credentials_says_credentials_are_needed():
    recorded = [Exchange("/v2/_catalog?n=100", 401, DISTRIBUTION_ERROR, {"WWW-Authenticate": 'Basic realm="R"'})]
    with replaying(recorded) as replay, pytest.raises(RegistryError) as raised:
        list_repositories(target(replay.base_url))

    assert raised.value.kind == RegistryError.UNAUTHORIZED and "requires credentials" in raised.value.message


def test_a_catalog_refused_to_valid_credentials_is_a_disabled_catalog():
    recorded = [
        Exchange("/v2/_catalog?n=100", 401, DISTRIBUTION_ERROR, {"WWW-Authenticate": 'Basic realm="R"'}),
        Exchange("/v2/_catalog?n=100", 403, DISTRIBUTION_ERROR, authorization=BASIC),
        Exchange("/v2/", 200, {}, authorization=BASIC),
    ]
    with replaying(recorded) as replay, pytest.raises(RegistryError) as raised:
        list_repositories(target(replay.base_url, username="alice", password="s3cret"))

    assert raised.value.kind == RegistryError.CATALOG_DISABLED and not replay.errors


def test_an_unknown_repository_is_named():
    recorded = [Exchange("/v2/nope/tags/list?n=1000", 404, {"errors": [{"code": "NAME_UNKNOWN"}]})]
    with replaying(recorded) as replay, pytest.raises(RegistryError) as raised:
        list_tags(target(replay.base_url), "nope")

    assert raised.value.kind == RegistryError.NOT_FOUND and "no repository named nope" in raised.value.message


def test_an_answer_that_is_not_json_is_a_protocol_error():
    with replaying([Exchange("/v2/_catalog?n=100", 200, b"<html>welcome</html>")]) as replay:
        with pytest.raises(RegistryError) as raised:
            list_repositories(target(replay.base_url))

    assert raised.value.kind == RegistryError.PROTOCOL and "not JSON" in raised.value.message


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("localhost:5000", ("http://localhost:5000", "localhost:5000")),
        ("registry.example.com", ("https://registry.example.com", "registry.example.com")),
        ("https://registry.example.com:443/", ("https://registry.example.com", "registry.example.com")),
        ("http://[::1]:5000", ("http://[::1]:5000", "[::1]:5000")),
    ],
)
def test_registry_addresses_are_normalised(typed, expected):
    assert parse_registry_url(typed) == expected


@pytest.mark.parametrize("typed", ["", "ftp://r.example", "https://u:p@r.example", "r.example/v2/", "r.example:99999"])
def test_bad_registry_addresses_say_why(typed):
    with pytest.raises(ValueError):
        parse_registry_url(typed)
