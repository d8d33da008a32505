"""How update checks talk to registries: tokens, credentials, limits, absence (a loopback stand-in registry)."""

from __future__ import annotations

import pytest

from images_app.services.registries import registry_create
from images_app.services.updates import registry_target_for_host
from images_app.update_checker import Question, ask_registries
from images_app.update_state import CheckKey, UnknownReason
from tests.integration.conftest import free_port
from tests.integration.support.fake_registry import FakeRegistry

DIGEST = "sha256:" + "d" * 64


@pytest.fixture
def fake():
    registries = []

    def make(**options) -> FakeRegistry:
        registry = FakeRegistry(**options).start()
        registries.append(registry)
        return registry

    yield make
    for registry in registries:
        registry.stop()


def _ask(host: str, *keys: tuple[str, str]) -> dict:
    questions = [Question(key=CheckKey(host, repository, tag)) for repository, tag in keys]
    return {
        key.repository + ":" + key.tag: answer
        for key, answer in ask_registries(questions, registry_target_for_host).items()
    }


def test_a_public_registry_is_asked_with_an_anonymous_bearer_token(db, fake):
    registry = fake(bearer=True, anonymous_tokens=True, manifests={"team/app:1": DIGEST})
    answer = _ask(registry.host, ("team/app", "1"))["team/app:1"]

    assert (answer.digest, answer.reason) == (DIGEST, "")
    assert answer.media_type == "application/vnd.oci.image.index.v1+json"
    assert registry.token_requests[-1]["scope"] == "repository:team/app:pull"
    accepted = registry.accept_headers[-1]
    for media_type in ("oci.image.index", "manifest.list.v2", "distribution.manifest.v2", "oci.image.manifest"):
        assert media_type in accepted


def test_a_private_registry_gets_its_stored_credentials_at_its_token_service(db, fake, admin_user):
    registry = fake(bearer=True, manifests={"team/app:1": DIGEST})
    assert _ask(registry.host, ("team/app", "1"))["team/app:1"].reason == UnknownReason.CREDENTIALS_REFUSED

    registry_create(
        actor=admin_user, name="fake", url=registry.host, username=registry.username, password=registry.password
    )
    assert _ask(registry.host, ("team/app", "1"))["team/app:1"].digest == DIGEST


def test_a_rate_limited_registry_makes_the_tag_unknown_rate_limited(db, fake):
    registry = fake(rate_limited=True, manifests={"team/app:1": DIGEST})
    answer = _ask(registry.host, ("team/app", "1"))["team/app:1"]
    assert answer.reason == UnknownReason.RATE_LIMITED and "429" in answer.message


def test_a_tag_the_registry_no_longer_has_is_unknown_not_in_registry(db, fake):
    registry = fake(manifests={})
    assert _ask(registry.host, ("team/app", "gone"))["team/app:gone"].reason == UnknownReason.NOT_IN_REGISTRY


def test_every_tag_of_an_unreachable_registry_is_unknown_unreachable(db):
    host = f"127.0.0.1:{free_port()}"
    answers = _ask(host, *[("team/app", str(i)) for i in range(20)])
    assert len(answers) == 20
    assert {a.reason for a in answers.values()} == {UnknownReason.UNREACHABLE}
    assert "connection refused" in next(iter(answers.values())).message
