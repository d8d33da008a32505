"""The update rule: which local tag is up to date, outdated, or unknown and why (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from images_app.update_state import (
    CheckKey,
    RemoteAnswer,
    UnknownReason,
    UpdateState,
    check_key,
    decide,
    local_digests,
    reason_for_registry_error,
)

OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64
CHECKED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _answer(digest: str = NEW, reason: str = "") -> RemoteAnswer:
    return RemoteAnswer(digest=digest, reason=reason, checked_at=CHECKED)


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("nginx:1.25", CheckKey("docker.io", "library/nginx", "1.25")),
        ("docker.io/library/nginx:1.25", CheckKey("docker.io", "library/nginx", "1.25")),
        ("index.docker.io/bitnami/redis:7", CheckKey("docker.io", "bitnami/redis", "7")),
        ("localhost:5000/team/app:v1", CheckKey("localhost:5000", "team/app", "v1")),
        ("ghcr.io/o/app:latest", CheckKey("ghcr.io", "o/app", "latest")),
    ],
)
def test_every_spelling_of_a_tag_shares_one_check(tag, key):
    assert check_key(tag) == key


def test_a_digest_reference_or_garbage_needs_no_check():
    assert check_key("nginx@" + OLD) is None
    assert check_key("Not A Reference") is None


def test_the_key_prints_back_as_docker_pull_names_it():
    assert CheckKey("docker.io", "library/nginx", "1.25").reference == "nginx:1.25"
    assert CheckKey("localhost:5000", "team/app", "v1").reference == "localhost:5000/team/app:v1"


def test_local_digests_count_only_the_tags_repository_in_any_spelling():
    key = check_key("nginx:1.25")
    digests = local_digests(key, [f"docker.io/library/nginx@{OLD}", f"localhost:5000/nginx@{NEW}"])
    assert digests == {OLD}


def test_the_registry_serving_the_recorded_digest_is_up_to_date():
    verdict = decide(key=check_key("nginx:1"), tagged=True, repo_digests=[f"nginx@{OLD}"], remote=_answer(OLD))
    assert verdict.state == UpdateState.UP_TO_DATE and verdict.label == "up to date"


def test_another_digest_under_the_tag_is_an_update_with_the_new_digest():
    verdict = decide(key=check_key("nginx:1"), tagged=True, repo_digests=[f"nginx@{OLD}"], remote=_answer(NEW))
    assert verdict.state == UpdateState.UPDATE_AVAILABLE
    assert verdict.outdated and verdict.remote_digest == NEW and verdict.checked_at == CHECKED


def test_an_image_without_any_digest_was_built_locally():
    verdict = decide(key=check_key("localhost:5000/app:1"), tagged=True, repo_digests=[], remote=_answer())
    assert (verdict.state, verdict.reason) == (UpdateState.UNKNOWN, UnknownReason.BUILT_LOCALLY)
    assert verdict.label == "unknown (built locally)"


def test_a_tag_whose_repository_has_no_digest_has_none_recorded():
    # Pulled as a:1, then `docker tag`ged as b:1: nothing was ever recorded for b.
    verdict = decide(
        key=check_key("localhost:5000/b:1"), tagged=True, repo_digests=[f"localhost:5000/a@{OLD}"], remote=_answer()
    )
    assert verdict.reason == UnknownReason.NO_DIGEST


def test_an_untagged_image_with_a_digest_was_pulled_by_digest():
    verdict = decide(key=None, tagged=False, repo_digests=[f"nginx@{OLD}"], remote=None)
    assert verdict.reason == UnknownReason.PULLED_BY_DIGEST


def test_a_dangling_image_has_no_update_state():
    assert decide(key=None, tagged=False, repo_digests=[], remote=None) is None


def test_a_tag_never_checked_says_so():
    verdict = decide(key=check_key("nginx:1"), tagged=True, repo_digests=[f"nginx@{OLD}"], remote=None)
    assert verdict.reason == UnknownReason.NOT_CHECKED


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("unreachable", UnknownReason.UNREACHABLE),
        ("unauthorized", UnknownReason.CREDENTIALS_REFUSED),
        ("rate_limited", UnknownReason.RATE_LIMITED),
        ("not_found", UnknownReason.NOT_IN_REGISTRY),
        ("protocol", UnknownReason.REGISTRY_ERROR),
    ],
)
def test_a_registry_failure_makes_the_state_unknown_with_its_reason(kind, reason):
    answer = _answer(OLD, reason_for_registry_error(kind))
    verdict = decide(key=check_key("nginx:1"), tagged=True, repo_digests=[f"nginx@{OLD}"], remote=answer)
    assert (verdict.state, verdict.reason) == (UpdateState.UNKNOWN, reason)


def test_any_of_several_recorded_digests_counts_as_current():
    verdict = decide(
        key=check_key("nginx:1"), tagged=True, repo_digests=[f"nginx@{OLD}", f"nginx@{NEW}"], remote=_answer(NEW)
    )
    assert verdict.state == UpdateState.UP_TO_DATE
